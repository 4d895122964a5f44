#!/usr/bin/env bash
# Builds a versioned, self-contained release of the pipeline for hosts with no compiler and no internet
# beyond the OS mirror:
#
#   infra/release/build-release.sh --version X --out DIR [--no-build] [--no-node]
#
# writes DIR/audio-pipeline-X/ and DIR/audio-pipeline-X.tar.gz holding the compiled apps and packages
# (dist/), production node_modules only (installed offline from the pnpm store, Prisma's wasm client
# and schema engine included), the Prisma schema and migrations, the sidecar's Python source with its
# requirement/constraint files (the venv is made on the host by make_venv.py), the Node runtime this
# machine runs (Debian's mirror has no Node 20; --no-node leaves it out and uses the host's `node`),
# and bin/audio-pipeline, the one entry point the systemd units and Ansible call.
set -euo pipefail

version='' out='' build=1 bundle_node=1
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="${2:-}"; shift 2 ;;
    --out) out="${2:-}"; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-node) bundle_node=0; shift ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build-release: unknown argument '$1' (usage: --version X --out DIR [--no-build] [--no-node])" >&2; exit 2 ;;
  esac
done
[ -n "$version" ] || { echo "build-release: --version is required (e.g. --version 1.4.0)" >&2; exit 2; }
[ -n "$out" ] || { echo "build-release: --out is required (the folder that receives the release)" >&2; exit 2; }
# The version names a directory on every host and a link target: keep it to a safe set of characters.
if ! [[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]]; then
  echo "build-release: --version '$version' must be letters, digits, '.', '_', '+' or '-'" >&2
  exit 2
fi

repo="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
name="audio-pipeline-$version"
stage="$out/.$name.partial"
final="$out/$name"
started=$SECONDS

cd "$repo"
if [ "$build" = 1 ]; then
  echo "build-release: pnpm build" >&2
  pnpm build --output-logs=errors-only
fi

# Workspace projects that run on the hosts; tests, tools and the local services stay behind.
projects=()
for dir in packages/* apps/*; do
  [ -f "$dir/package.json" ] && projects+=("$dir")
done
for dir in "${projects[@]}"; do
  [ -d "$dir/dist" ] || { echo "build-release: $dir/dist is missing: run pnpm build (or drop --no-build)" >&2; exit 1; }
done

rm -rf "$stage"
mkdir -p "$stage/bin"
cp package.json pnpm-lock.yaml .npmrc "$stage/"
cp -r patches prisma "$stage/"
# Only the shipped projects are in this workspace, so `pnpm install --prod` links exactly these.
{
  echo "packages:"
  for dir in "${projects[@]}"; do echo "  - $dir"; done
  sed -n '/^onlyBuiltDependencies:/,$p' pnpm-workspace.yaml
} > "$stage/pnpm-workspace.yaml"
for dir in "${projects[@]}"; do
  mkdir -p "$stage/$dir"
  cp "$dir/package.json" "$stage/$dir/"
  cp -r "$dir/dist" "$stage/$dir/"
  find "$stage/$dir/dist" \( -name '*.map' -o -name '*.d.ts' -o -name '*.test.js' \) -delete
done
cp -r apps/gpu/policies "$stage/apps/gpu/"
mkdir -p "$stage/apps/gpu/sidecar"
tar -C apps/gpu/sidecar --exclude='.venv*' --exclude='__pycache__' --exclude='.pytest_cache' --exclude=tests \
  -cf - . | tar -C "$stage/apps/gpu/sidecar" -xf -
cp infra/release/prisma.config.mjs "$stage/packages/db/prisma.config.mjs"
cp infra/release/audio-pipeline "$stage/bin/audio-pipeline"
cp infra/release/sd-notify-exec "$stage/bin/sd-notify-exec"
chmod 755 "$stage/bin/audio-pipeline" "$stage/bin/sd-notify-exec"

echo "build-release: production dependencies (offline, from the pnpm store)" >&2
# --ignore-scripts: the root postinstall (turbo generate) is a development step; the Prisma client was
# generated and compiled into packages/db/dist by the build. Packages' own install scripts are blocked
# or ignored by pnpm-workspace.yaml as in development.
(cd "$stage" && CI=1 pnpm install --prod --frozen-lockfile --offline --ignore-scripts --config.confirmModulesPurge=false \
  --reporter=append-only > "$stage/.install.log" 2>&1) || {
  cat "$stage/.install.log" >&2
  echo "build-release: pnpm install --prod failed (log above)" >&2
  exit 1
}
rm -f "$stage/.install.log"

if [ "$bundle_node" = 1 ]; then
  mkdir -p "$stage/runtime"
  cp "$(command -v node)" "$stage/runtime/node"
fi
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git status --porcelain 2>/dev/null | grep -q . && echo '+dirty' || true)"
printf '%s\n' "$version" > "$stage/VERSION"
node -e '
  const [version, commit, node] = process.argv.slice(1);
  console.log(JSON.stringify({ version, commit, builtAt: new Date().toISOString(), node }, null, 2));
' "$version" "$commit$dirty" "$(node --version)" > "$stage/release.json"

rm -rf "$final" "$out/$name.tar.gz"
mv "$stage" "$final"
tar -C "$out" -czf "$out/.$name.tar.gz.partial" "$name"
mv "$out/.$name.tar.gz.partial" "$out/$name.tar.gz"
size="$(du -sh "$out/$name.tar.gz" | cut -f1)"
echo "build-release: $final and $out/$name.tar.gz ($size) in $((SECONDS - started)) s" >&2
