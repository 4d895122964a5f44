#!/usr/bin/env bash
# Builds the pipeline's Docker images from a release tarball, the artefact Ansible deploys:
#
#   infra/docker/build-images.sh --version X [--out DIR] [--no-build] [--no-docker] [--gpu]
#
# 1. infra/release/build-release.sh --version X --out DIR (pnpm build, production node_modules, the
#    Node runtime, bin/audio-pipeline) → DIR/audio-pipeline-X.tar.gz;
# 2. a build context holding only that tarball (DIR/docker-context-X);
# 3. docker build: audio-pipeline:X (Dockerfile: the Node apps) and, with --gpu, audio-pipeline-gpu:X
#    (Dockerfile.gpu: CUDA 12.8 + the sidecar's GPU venv from the pinned requirements).
# --no-docker stops after step 2 (machines without a Docker engine: CI here); --no-build passes on to
# build-release.sh (dist/ already built). DIR defaults to infra/docker/.build.
set -euo pipefail

version='' out='' release_args=() docker=1 gpu=0
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="${2:-}"; shift 2 ;;
    --out) out="${2:-}"; shift 2 ;;
    --no-build) release_args+=(--no-build); shift ;;
    --no-docker) docker=0; shift ;;
    --gpu) gpu=1; shift ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build-images: unknown argument '$1' (usage: --version X [--out DIR] [--no-build] [--no-docker] [--gpu])" >&2; exit 2 ;;
  esac
done
[ -n "$version" ] || { echo "build-images: --version is required (e.g. --version 1.4.0)" >&2; exit 2; }

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${out:-$here/.build}"
release_script="$repo/infra/release/build-release.sh"
[ -x "$release_script" ] || { echo "build-images: $release_script is missing: the images are built from a release" >&2; exit 1; }

"$release_script" --version "$version" --out "$out" "${release_args[@]}"
tarball="$out/audio-pipeline-$version.tar.gz"
[ -f "$tarball" ] || { echo "build-images: $release_script did not write $tarball" >&2; exit 1; }

# The context is the tarball alone: nothing from the source tree reaches an image.
context="$out/docker-context-$version"
rm -rf "$context"
mkdir -p "$context"
ln "$tarball" "$context/" 2>/dev/null || cp "$tarball" "$context/"
echo "build-images: context $context (audio-pipeline-$version.tar.gz)" >&2

if [ "$docker" = 0 ]; then
  echo "build-images: --no-docker: stopping before docker build" >&2
  exit 0
fi
command -v docker > /dev/null || { echo "build-images: docker is not on PATH (use --no-docker to stop before it)" >&2; exit 1; }
docker build -f "$here/Dockerfile" --build-arg "VERSION=$version" -t "audio-pipeline:$version" "$context"
if [ "$gpu" = 1 ]; then
  docker build -f "$here/Dockerfile.gpu" --build-arg "VERSION=$version" -t "audio-pipeline-gpu:$version" "$context"
fi
echo "build-images: audio-pipeline:$version$([ "$gpu" = 1 ] && echo " and audio-pipeline-gpu:$version")" >&2
