#!/usr/bin/env bash
# `pnpm test:deploy`: the Ansible playbooks applied to real test hosts, then the pipeline as deployed.
#
#  1. ansible-lint (production profile) and --syntax-check of every playbook.
#  2. Two releases built by infra/release/build-release.sh (V1, V2).
#  3. Three Debian bookworm roots made with debootstrap (cached under .deploy-test/cache), reached through
#     Ansible's community.general.chroot connection: orch1 (orchestrator), transfer1, gpu1 (gpu_workers,
#     its data_device a loop device). site.yml applied twice: the second run must change nothing.
#  4. The units rendered there pass `systemd-analyze verify`. systemd does not run in a chroot, so each
#     app is started by its unit's ExecStart with its EnvironmentFile, User and WorkingDirectory; Redis
#     and PostgreSQL are the orchestrator's own, started by the role from its configuration. S3 is the
#     local Swift (infra/local-services, through `pnpm services run`).
#     A small model set is published to S3 (versions 1 and 2) with the release's `models` CLI; site.yml syncs
#     the pinned version 1 onto gpu1, sync-models.yml switches it to 2 and back.
#  5. A demo archive dropped in the transfer host's inbox goes through to a complete batch; health-check.yml
#     passes; deploy V2 (upgrade) and V1 again (rollback), each followed by a restart and another archive.
#
# Needs root, debootstrap, ansible, losetup and the Debian mirror of /etc/apt/sources.list*. The chroots
# share this machine's network: every service they run listens on loopback on free ports, and the
# firewall role's rules are validated (nft --check) but never loaded (firewall_apply=false).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../../.." && pwd)"
ansible_dir="$repo/infra/ansible"
work="$repo/.deploy-test"
cache="$work/cache"
hosts_dir="$work/hosts"
logs="$work/logs"
inventory="$work/inventory"
releases="$work/releases"
v1="${DEPLOY_TEST_V1:-deploytest-1}"
v2="${DEPLOY_TEST_V2:-deploytest-2}"
started=$SECONDS
export ANSIBLE_VAULT_PASSWORD_FILE="$ansible_dir/test/vault-password.txt"
export ANSIBLE_CONFIG="$ansible_dir/ansible.cfg"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=0

step() { echo "deploy-test [$((SECONDS - started)) s] $*" >&2; }
fail() { echo "deploy-test: FAILED: $*" >&2; exit 1; }
declare -A step_seconds=()
timed() { # timed NAME COMMAND...: runs it and keeps its duration for the summary
  local name="$1" t0=$SECONDS
  shift
  "$@"
  step_seconds[$name]=$((SECONDS - t0))
}

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mount, losetup)"
for tool in debootstrap ansible-playbook ansible-lint ansible-vault losetup systemd-analyze psql chroot; do
  command -v "$tool" > /dev/null || fail "$tool is not installed (apt-get install ansible ansible-lint debootstrap systemd postgresql-client)"
done
[ -n "${S3_ENDPOINT:-}" ] || fail "S3_ENDPOINT is not set: run through pnpm test:deploy (pnpm services run -- …)"

# ---------------------------------------------------------------- test hosts: set up and torn down
host_names=(orch1 transfer1 gpu1)
loop_device=''
app_pids=()

processes_in_root() { # the processes whose root directory is this chroot (only ever ones this test started)
  local root="$1" pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$(readlink "/proc/$pid/root" 2> /dev/null)" = "$root" ] && echo "$pid"
  done
  return 0
}

mounts_under() { awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r; }

release_root() {
  local root="$1" pid mount
  for pid in $(processes_in_root "$root"); do kill -TERM "$pid" 2> /dev/null || true; done
  for _ in $(seq 1 100); do [ -z "$(processes_in_root "$root")" ] && break; sleep 0.2; done
  for pid in $(processes_in_root "$root"); do kill -KILL "$pid" 2> /dev/null || true; done
  for mount in $(mounts_under "$root"); do umount "$mount" 2> /dev/null || umount -l "$mount"; done
}

cleanup() {
  local status=$?
  set +e
  for pid in "${app_pids[@]}"; do kill -TERM "$pid" 2> /dev/null; done
  for name in "${host_names[@]}"; do [ -d "$hosts_dir/$name" ] && release_root "$hosts_dir/$name"; done
  [ -n "$loop_device" ] && losetup -d "$loop_device"
  if [ "$status" = 0 ] && [ -z "${DEPLOY_TEST_KEEP:-}" ]; then remove_hosts; fi
  [ "$status" = 0 ] || echo "deploy-test: logs in $logs, hosts in $hosts_dir" >&2
  exit "$status"
}
trap cleanup EXIT

remove_hosts() {
  local name
  for name in "${host_names[@]}"; do
    [ -d "$hosts_dir/$name" ] || continue
    # Never delete through a mount that is still there (a bound /dev!).
    [ -z "$(mounts_under "$hosts_dir/$name")" ] || fail "$hosts_dir/$name still has mounts: not removed"
    rm -rf --one-file-system "${hosts_dir:?}/$name"
  done
  rm -f "$work/data-volume.img"
}

debian_mirror() {
  local uri
  uri="$(grep -hE '^\s*(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2> /dev/null \
    | grep -v security | head -1 | sed -E 's/^\s*URIs:\s*//; s/^\s*deb\s+(\[[^]]*\]\s+)?//' | awk '{ print $1 }')"
  echo "${uri:-http://deb.debian.org/debian}"
}

base_image() { # a bookworm minbase root with python3 and fresh package lists, made once and cached
  local image="$cache/bookworm-base.tar" tmp="$cache/base-build"
  [ -f "$image" ] && return 0
  step "debootstrap a bookworm base from $(debian_mirror) (once; cached in $image)"
  [ -z "$(mounts_under "$tmp")" ] || fail "$tmp has mounts"
  rm -rf --one-file-system "$tmp"
  debootstrap --variant=minbase --include=python3 bookworm "$tmp" "$(debian_mirror)" > "$cache/debootstrap.log" 2>&1 \
    || fail "debootstrap failed: $cache/debootstrap.log"
  # This machine's sources (its mirror, updates and security), instead of debootstrap's one line.
  rm -f "$tmp/etc/apt/sources.list"
  cp /etc/apt/sources.list "$tmp/etc/apt/sources.list" 2> /dev/null || true
  mkdir -p "$tmp/etc/apt/sources.list.d" && cp /etc/apt/sources.list.d/* "$tmp/etc/apt/sources.list.d/" 2> /dev/null || true
  cp /etc/resolv.conf "$tmp/etc/resolv.conf"
  chroot "$tmp" apt-get update -qq > /dev/null || fail "apt-get update in the base root failed"
  chroot "$tmp" apt-get clean
  tar -C "$tmp" -cf "$image.partial" . && mv "$image.partial" "$image"
  rm -rf --one-file-system "$tmp"
}

make_host() { # a fresh root from the cached base, with /proc, /dev, /sys and the shared apt cache mounted
  local root="$hosts_dir/$1"
  mkdir -p "$root"
  tar -C "$root" -xf "$cache/bookworm-base.tar"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # apt must not start daemons when it installs them (they would listen on this machine's default
  # ports); the roles start them with their configuration.
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
  mount -t tmpfs -o size=256m tmpfs "$root/dev/shm"
  mount -t sysfs -o ro sysfs "$root/sys"
  mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------- the apps, as their units run them
unit_value() { sed -n "s/^$2=//p" "$1" | tail -1; }

start_app() { # start_app HOST APP: the unit's ExecStart with its EnvironmentFile, User and WorkingDirectory
  local root="$hosts_dir/$1" app="$2"
  local unit="$root/etc/systemd/system/audio-$app.service"
  [ -f "$unit" ] || fail "$unit was not installed"
  local exec env_file user group workdir
  exec="$(unit_value "$unit" ExecStart)"
  env_file="$(unit_value "$unit" EnvironmentFile)"
  user="$(unit_value "$unit" User)"
  group="$(unit_value "$unit" Group)"
  workdir="$(unit_value "$unit" WorkingDirectory)"
  [ "$(stat -c '%a %U' "$root$env_file")" = "600 root" ] || fail "$env_file on $1 is not root-only (0600 root)"
  local -a env_lines
  mapfile -t env_lines < <(grep -vE '^\s*(#|$)' "$root$env_file")
  # Type=notify (the gpu unit): a datagram socket in the host's /run stands in for systemd's, and the
  # start is over when READY=1 comes from the process started here (NotifyAccess=main: the PID the
  # kernel puts on the datagram is that process's), within TimeoutStartSec, as systemd would wait.
  local notify_log='' type
  type="$(unit_value "$unit" Type)"
  if [ "$type" = notify ]; then
    [ "$(unit_value "$unit" NotifyAccess)" = main ] || fail "audio-$app on $1: Type=notify without NotifyAccess=main"
    notify_log="$logs/$1-$app.notify.log"
    rm -f "$root/run/audio-$app.notify"
    : > "$notify_log"
    python3 "$repo/apps/gpu/test/systemd/notify_receiver.py" "$root/run/audio-$app.notify" > "$notify_log" 2>&1 &
    eval "notify_pid_$app=$!"
    app_pids+=("$!")
    until grep -qx listening "$notify_log"; do
      kill -0 "$!" 2> /dev/null || fail "the notify receiver of audio-$app exited: $(cat "$notify_log")"
      sleep 0.1
    done
    env_lines+=("NOTIFY_SOCKET=/run/audio-$app.notify")
  fi
  # shellcheck disable=SC2086 # ExecStart is split into words as systemd does (no quoting in ours)
  chroot --userspec="$user:$group" "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$workdir" \
    "${env_lines[@]}" /bin/sh -c "cd '$workdir' && exec $exec" >> "$logs/$1-$app.log" 2>&1 &
  local pid=$!
  app_pids+=("$pid")
  eval "pid_$app=$pid"
  if [ -n "$notify_log" ]; then
    local timeout deadline
    timeout="$(unit_value "$unit" TimeoutStartSec)"
    deadline=$((SECONDS + timeout))
    until grep -q "^{\"pid\": $pid, \"message\": \"READY=1" "$notify_log"; do
      kill -0 "$pid" 2> /dev/null || fail "audio-$app on $1 exited before READY=1 (log: $logs/$1-$app.log)"
      [ $SECONDS -lt $deadline ] || fail "audio-$app on $1 sent no READY=1 from its main PID $pid within TimeoutStartSec=$timeout s (received: $(cat "$notify_log"))"
      sleep 0.5
    done
    step "audio-$app on $1: READY=1 from its main PID after $((SECONDS - deadline + timeout)) s ($(grep -o 'STATUS=[^"]*' "$notify_log" | tail -1))"
  fi
}

stop_app() { # SIGTERM (KillSignal) and a wait bounded by the unit's TimeoutStopSec: the app must exit by itself
  local host="$1" app="$2" pid_var="pid_$2" pid status
  pid="${!pid_var}"
  local timeout
  timeout="$(unit_value "$hosts_dir/$host/etc/systemd/system/audio-$app.service" TimeoutStopSec)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2> /dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  kill -0 "$pid" 2> /dev/null && fail "audio-$app on $host did not stop within TimeoutStopSec=$timeout s"
  wait "$pid" && status=0 || status=$?
  [ "$status" = 0 ] || [ "$status" = 143 ] || fail "audio-$app on $host exited $status on SIGTERM (log: $logs/$host-$app.log)"
  local notify_var="notify_pid_$app"
  if [ -n "${!notify_var:-}" ]; then
    # Sent when the signal came; the receiver may print it a moment after the app has exited.
    deadline=$((SECONDS + 60))
    until grep -q "^{\"pid\": $pid, \"message\": \"STOPPING=1" "$logs/$host-$app.notify.log"; do
      [ $SECONDS -lt $deadline ] || fail "audio-$app on $host sent no STOPPING=1 on SIGTERM (received: $(cat "$logs/$host-$app.notify.log"))"
      sleep 0.2
    done
    kill "${!notify_var}"
    wait "${!notify_var}" 2> /dev/null || true
    eval "$notify_var="
  fi
}

start_all() {
  start_app orch1 dashboard
  start_app transfer1 transfer
  start_app gpu1 unpack
  start_app gpu1 gpu
}
stop_all() {
  stop_app transfer1 transfer
  stop_app gpu1 unpack
  stop_app gpu1 gpu
  stop_app orch1 dashboard
}

psql_pipeline() {
  PGPASSWORD="$postgres_password" psql -h 127.0.0.1 -p "$postgres_port" -U audio -d audio_pipeline -At -c "$1"
}

process_archive() { # drops a demo archive in the transfer host's inbox and waits for its batch to complete
  local label="$1" before archive inbox="$hosts_dir/transfer1/var/lib/audio-pipeline/transfer/inbox"
  before="$(psql_pipeline "select count(*) from batches where status = 'complete'")"
  archive="$work/archive-$label.tar"
  (cd "$repo" && pnpm -s fixtures:archive "$archive" > /dev/null)
  cp "$archive" "$inbox/.incoming.tmp"
  chown 0:0 "$inbox/.incoming.tmp"
  mv "$inbox/.incoming.tmp" "$inbox/demo-$label.tar"
  # A deadline that only catches a hang; the machine may be loaded.
  local deadline=$((SECONDS + 900)) done_count
  while :; do
    done_count="$(psql_pipeline "select count(*) from batches where status = 'complete'" 2> /dev/null || echo "$before")"
    [ "$done_count" -gt "$before" ] && break
    [ -n "$(psql_pipeline "select batch_id from batches where status = 'failed'" 2> /dev/null)" ] \
      && fail "a batch failed (logs: $logs)"
    for pid in $pid_dashboard $pid_transfer $pid_unpack $pid_gpu; do
      kill -0 "$pid" 2> /dev/null || fail "an app exited while processing $label (logs: $logs)"
    done
    [ $SECONDS -lt $deadline ] || fail "the $label archive's batch did not complete within 15 minutes (logs: $logs)"
    sleep 1
  done
  local batch files rows opus
  batch="$(psql_pipeline "select batch_id from batches where status = 'complete' order by completed_at desc limit 1")"
  files="$(psql_pipeline "select count(*) from audio_files where batch_id = '$batch'")"
  rows="$(psql_pipeline "select count(*) from classifications c join audio_files a on a.id = c.audio_file_id where a.batch_id = '$batch'")"
  opus="$(psql_pipeline "select count(*) from audio_files where batch_id = '$batch' and s3_opus_path is not null")"
  [ "$files" -ge 8 ] && [ "$rows" -ge 8 ] && [ "$opus" -ge 8 ] \
    || fail "batch $batch ($label): $files files, $rows classifications, $opus Opus copies; expected 8 of each"
  step "$label: batch $batch complete on gpu1: $files files, $rows classifications, $opus Opus copies in S3"
}

current_version() { chroot "$hosts_dir/$1" /opt/audio-pipeline/current/bin/audio-pipeline version; }

# ---------------------------------------------------------------- playbooks
playbook() { # playbook LOGNAME PLAYBOOK [ARGS]: runs it against the test hosts, output in logs/LOGNAME.log
  local log="$logs/$1.log"
  shift
  # The chroot connection passes this process's environment to the hosts' commands: the services'
  # variables that `pnpm services run` set must not reach them.
  (cd "$ansible_dir" && env -u DATABASE_URL -u REDIS_URL -u REDIS_HOST -u S3_ENDPOINT -u S3_ACCESS_KEY -u S3_SECRET_KEY \
    -u S3_BUCKET -u QUEUE_PREFIX ansible-playbook -i "$inventory" "$@") > "$log" 2>&1 || {
    tail -40 "$log" >&2
    fail "ansible-playbook $* failed (log: $log)"
  }
}

assert_no_changes() { # the PLAY RECAP of a log: changed=0 on every host
  local log="$logs/$1.log"
  grep -E '^\S+\s+: ok=' "$log" >&2
  if grep -E '^\S+\s+: ok=' "$log" | grep -vq 'changed=0 '; then
    grep -E '^(TASK|changed:)' "$log" | grep -B1 '^changed' >&2 || true
    fail "$1: the second run changed something (log: $log)"
  fi
}

# ================================================================= 1. lint and syntax
mkdir -p "$cache/apt-archives/partial" "$hosts_dir" "$logs" "$releases"
rm -f "$logs"/*.log
lint() {
  step "ansible-lint (production profile)"
  (cd "$ansible_dir" && ansible-lint --nocolor -q) > "$logs/ansible-lint.log" 2>&1 || {
    cat "$logs/ansible-lint.log" >&2
    fail "ansible-lint"
  }
  local book
  for book in "$ansible_dir"/*.yml; do
    for env in production staging; do
      (cd "$ansible_dir" && ansible-playbook -i "inventories/$env" --syntax-check "$(basename "$book")") > /dev/null \
        || fail "syntax check of $(basename "$book") with the $env inventory"
    done
  done
  step "syntax check: $(ls "$ansible_dir"/*.yml | wc -l) playbooks × production, staging"
}
timed lint lint

# ================================================================= 2. releases
build_releases() {
  if [ -n "${DEPLOY_TEST_REUSE_RELEASES:-}" ] && [ -f "$releases/audio-pipeline-$v1.tar.gz" ] && [ -f "$releases/audio-pipeline-$v2.tar.gz" ]; then
    step "releases reused (DEPLOY_TEST_REUSE_RELEASES)"
    return
  fi
  step "building releases $v1 and $v2"
  "$repo/infra/release/build-release.sh" --version "$v1" --out "$releases" > "$logs/release-$v1.log" 2>&1 \
    || { tail -20 "$logs/release-$v1.log" >&2; fail "build-release $v1"; }
  "$repo/infra/release/build-release.sh" --version "$v2" --out "$releases" --no-build > "$logs/release-$v2.log" 2>&1 \
    || { tail -20 "$logs/release-$v2.log" >&2; fail "build-release $v2"; }
}
timed releases build_releases

# Two versions of a small model set published to S3 with the release's own CLI, as an operator does
# once per version; the hosts sync the pinned one (pipeline_models), sync-models.yml switches them.
model_name=deploytest-model
publish_models() {
  local source="$work/model-source" version
  rm -rf "$source"
  mkdir -p "$source/tokenizer"
  head -c 3145728 /dev/urandom > "$source/model.bin"
  echo '{"vocab": ["a", "b"]}' > "$source/tokenizer/tokenizer.json"
  model_sha="$(sha256sum "$source/model.bin" | cut -d' ' -f1)"
  for version in 1 2; do
    echo "version $version" > "$source/VERSION.txt"
    "$releases/audio-pipeline-$v1/bin/audio-pipeline" models publish "$source" --name "$model_name" --version "$version" \
      > "$logs/models-publish-$version.log" 2>&1 || { cat "$logs/models-publish-$version.log" >&2; fail "models publish $version"; }
  done
  step "published $model_name versions 1 and 2 to S3"
}
timed publish publish_models

# ================================================================= 3. hosts and site.yml twice
make_hosts() {
  base_image
  local name
  for name in "${host_names[@]}"; do
    release_root "$hosts_dir/$name"
    [ -z "$(mounts_under "$hosts_dir/$name")" ] || fail "$hosts_dir/$name still has mounts"
    rm -rf --one-file-system "${hosts_dir:?}/$name"
    make_host "$name"
  done
  rm -f "$work/data-volume.img"
  truncate -s 4G "$work/data-volume.img" # sparse: the file system takes a few MB
  loop_device="$(losetup --find --show "$work/data-volume.img")"
  step "hosts ${host_names[*]} in $hosts_dir; gpu1's data_device is $loop_device"
}
timed hosts make_hosts

redis_port="$(free_port)"
postgres_port="$(free_port)"
dashboard_port="$(free_port)"
upload_api_port="$(free_port)"
postgres_password="deploy-test-postgres-$RANDOM$RANDOM"

rm -rf "$inventory"
mkdir -p "$inventory/group_vars/all"
cat > "$inventory/hosts.yml" << EOF
# Written by infra/ansible/test/deploy-test.sh: chroots on this machine.
all:
  vars:
    ansible_connection: community.general.chroot
    ansible_python_interpreter: /usr/bin/python3
    ansible_become_method: ansible.builtin.su
  children:
    orchestrator:
      hosts:
        orch1: { ansible_host: $hosts_dir/orch1 }
    transfer:
      hosts:
        transfer1: { ansible_host: $hosts_dir/transfer1 }
    gpu_workers:
      hosts:
        gpu1: { ansible_host: $hosts_dir/gpu1 }
EOF
cp "$ansible_dir/inventories/staging/group_vars/all/main.yml" "$inventory/group_vars/all/main.yml"
cat > "$inventory/group_vars/all/test.yml" << EOF
# The test's settings over staging's (main.yml): loopback addresses and free ports, the local S3, the
# loop device, and what a chroot cannot do (start units, load a firewall) turned off.
pipeline_release_dir: $releases
orchestrator_address: 127.0.0.1
redis_port: $redis_port
postgres_port: $postgres_port
dashboard_port: $dashboard_port
upload_api_port: $upload_api_port
internal_cidrs: [127.0.0.0/8]
dashboard_cidrs: [127.0.0.0/8]
s3_endpoint: $S3_ENDPOINT
s3_bucket: ${S3_BUCKET:-audio-pipeline}
s3_region: ${S3_REGION:-us-east-1}
queue_prefix: "{deploytest}"
data_device: $loop_device
pipeline_manage_services: false
firewall_apply: false
sidecar_venv_build: false
models_sync_enabled: true
pipeline_models:
  - name: $model_name
    version: "1"
# The fixture backend (a named test double) on Debian's python3: no models, no venv in the test.
sidecar_backend: fixture
gpu_worker_sidecar_python: /usr/bin/python3
transfer_inbox_dir: /var/lib/audio-pipeline/transfer/inbox
transfer_env:
  INBOX_MIN_AGE: 1s
  INBOX_POLL_INTERVAL: 1s
pipeline_env_extra:
  LOG_LEVEL: info
  HEALTH_MIN_FREE_SCRATCH: 1GiB
EOF
cat > "$work/vault-plain.yml" << EOF
vault_s3_access_key: $S3_ACCESS_KEY
vault_s3_secret_key: $S3_SECRET_KEY
vault_postgres_password: $postgres_password
vault_redis_password: deploy-test-redis-$RANDOM$RANDOM
vault_session_secret: deploy-test-session-secret-of-at-least-32-characters
vault_upload_api_token: deploy-test-upload-token
vault_dashboard_admin_user: admin
vault_dashboard_admin_password: deploy-test-admin-password
EOF
ansible-vault encrypt --output "$inventory/group_vars/all/vault.yml" "$work/vault-plain.yml" > /dev/null
rm -f "$work/vault-plain.yml"

site_twice() {
  step "site.yml -e pipeline_version=$v1 (first run)"
  playbook site-1 site.yml -e "pipeline_version=$v1"
  grep -E '^\S+\s+: ok=' "$logs/site-1.log" >&2
  step "site.yml again: nothing may change"
  playbook site-2 site.yml -e "pipeline_version=$v1"
  assert_no_changes site-2
}
timed site site_twice

findmnt -n -o SOURCE "$hosts_dir/gpu1/data" | grep -qx "$loop_device" || fail "gpu1's /data is not $loop_device"
[ "$(blkid -o value -s TYPE "$loop_device")" = ext4 ] || fail "$loop_device has no ext4 file system"
[ "$(current_version gpu1)" = "$v1" ] || fail "gpu1 runs $(current_version gpu1), expected $v1"

model_in_use() { # the version MODELS_ROOT/{name} points at on gpu1, after checking its content
  local link="$hosts_dir/gpu1/data/models/$model_name"
  [ "$(sha256sum "$link/model.bin" | cut -d' ' -f1)" = "$model_sha" ] || fail "gpu1's $model_name/model.bin is not the published one"
  cut -d' ' -f2 "$link/VERSION.txt"
}
[ "$(model_in_use)" = 1 ] || fail "gpu1 does not use $model_name version 1 after site.yml"
sync_models() {
  playbook models-2 sync-models.yml -e '{"pipeline_models": [{"name": "'"$model_name"'", "version": "2"}]}'
  [ "$(model_in_use)" = 2 ] || fail "sync-models.yml did not switch gpu1 to $model_name version 2"
  playbook models-1 sync-models.yml
  [ "$(model_in_use)" = 1 ] || fail "sync-models.yml did not switch gpu1 back to $model_name version 1"
  playbook models-1-again sync-models.yml
  assert_no_changes models-1-again
  step "sync-models.yml: $model_name 1 -> 2 -> 1 on gpu1; a repeated sync changes nothing"
}
timed models sync_models

verify_units() {
  local name unit
  for name in "${host_names[@]}"; do
    for unit in "$hosts_dir/$name"/etc/systemd/system/audio-*.service; do
      systemd-analyze verify --root="$hosts_dir/$name" "/etc/systemd/system/$(basename "$unit")" > "$logs/verify-$name-$(basename "$unit").log" 2>&1 \
        || { cat "$logs/verify-$name-$(basename "$unit").log" >&2; fail "systemd-analyze verify $(basename "$unit") on $name"; }
      [ -s "$logs/verify-$name-$(basename "$unit").log" ] \
        && { cat "$logs/verify-$name-$(basename "$unit").log" >&2; fail "systemd-analyze verify $(basename "$unit") on $name printed warnings"; }
    done
  done
  step "systemd-analyze verify: the units of ${host_names[*]} are clean"
}
timed verify verify_units

# ================================================================= 5. end to end, upgrade, rollback
end_to_end() {
  start_all
  process_archive first
  playbook health health-check.yml -e "pipeline_version=$v1"
  step "health-check.yml passed on every host"

  step "deploy-pipeline.yml -e pipeline_version=$v2 (upgrade)"
  playbook deploy-v2 deploy-pipeline.yml -e "pipeline_version=$v2"
  [ "$(current_version gpu1)" = "$v2" ] && [ "$(current_version orch1)" = "$v2" ] || fail "current is not $v2 after deploying it"
  stop_all
  start_all
  process_archive upgraded

  step "deploy-pipeline.yml -e pipeline_version=$v1 (rollback)"
  playbook rollback deploy-pipeline.yml -e "pipeline_version=$v1"
  [ "$(current_version gpu1)" = "$v1" ] && [ "$(current_version transfer1)" = "$v1" ] || fail "current is not $v1 after the rollback"
  playbook rollback-again deploy-pipeline.yml -e "pipeline_version=$v1"
  assert_no_changes rollback-again
  stop_all
  start_all
  process_archive rolled-back
  stop_all
}
timed e2e end_to_end

total=$((SECONDS - started))
summary="lint ${step_seconds[lint]}s, releases ${step_seconds[releases]}s, publish ${step_seconds[publish]}s, model sync ${step_seconds[models]}s, hosts ${step_seconds[hosts]}s, site.yml x2 ${step_seconds[site]}s, verify ${step_seconds[verify]}s, end to end + upgrade + rollback ${step_seconds[e2e]}s"
step "passed in $total s ($summary)"
printf '{"deployTestSeconds":%d,"lint":%d,"releases":%d,"hosts":%d,"siteTwice":%d,"modelSync":%d,"verify":%d,"endToEnd":%d}\n' \
  "$total" "${step_seconds[lint]}" "${step_seconds[releases]}" "${step_seconds[hosts]}" "${step_seconds[site]}" \
  "${step_seconds[models]}" "${step_seconds[verify]}" "${step_seconds[e2e]}"
