#!/usr/bin/env bash
# From a fresh Debian/Ubuntu machine with Node 20 to a working checkout, then runs a pnpm script:
#   ./bootstrap.sh demo      the pipeline end to end on embedded defaults
#   ./bootstrap.sh test      typecheck, lint and every test (what CI runs)
# Installs only what is missing: Debian packages (with sudo when not root), pnpm, node_modules.
set -euo pipefail
cd "$(dirname "$0")"

# Each step says how long it took (CI prints them; a slow mirror or registry shows up here).
step_started=$SECONDS
step_done() {
  echo "bootstrap: $1 took $((SECONDS - step_started)) s" >&2
  step_started=$SECONDS
}

# What the demo and the tests run for real: ffmpeg/espeak-ng/lame for audio, redis-server, OpenStack
# Swift (the production S3 API), sshd for SFTP tests, rclone for the storage benchmark, python3-venv for
# the sidecar's venv (when python3 is Debian's), chromium for the dashboard's browser test, prometheus
# for promtool (the alert rules' check and unit tests).
apt_packages=(ffmpeg espeak-ng lame redis-server openssh-server rclone python3-venv chromium prometheus
  swift swift-proxy swift-account swift-container swift-object)
if command -v dpkg-query >/dev/null; then
  missing=()
  for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
else
  echo "bootstrap: not a Debian-like system; install ffmpeg, espeak-ng, redis-server, OpenStack Swift yourself" >&2
fi
step_done "Debian packages"

pnpm_version=10.34.9
if ! command -v pnpm >/dev/null; then
  echo "bootstrap: installing pnpm $pnpm_version" >&2
  if ! npm install -g "pnpm@$pnpm_version" >&2 2>/dev/null; then
    # No write access to npm's global prefix: install for this user instead.
    npm install -g --prefix "$HOME/.local" "pnpm@$pnpm_version" >&2
    export PATH="$HOME/.local/bin:$PATH"
  fi
fi
step_done "pnpm"

pnpm install --frozen-lockfile >&2
step_done "pnpm install (with the Prisma client generated)"

# The sidecar's Python venv (apps/gpu/sidecar/.venv): pytest and the real backends' CPU stack (torch
# 2.13 CPU, WhisperX, CoPE-A's transformers + peft) for the tests on tiny models. Minutes the first
# time; when the requirement files have not changed, nothing to do.
python3 apps/gpu/sidecar/make_venv.py
step_done "sidecar venv"

if [ $# -gt 0 ]; then
  pnpm "$@" && status=0 || status=$?
  step_done "pnpm $*"
  exit $status
fi
