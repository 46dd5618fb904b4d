#!/usr/bin/env bash
# Runs a command under another Node.js major version, taken from the npm registry (the
# node-linux-<arch> package carries the binary and its headers), with the native addons
# (better-sqlite3, secp256k1) rebuilt for it from source against those headers.
#   bash scripts/with-node.sh 22 npm test
# It rebuilds node_modules in place: afterwards `npm rebuild` (with your usual node) restores it.
set -euo pipefail
major=${1:?usage: with-node.sh MAJOR COMMAND...}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
arch=$(node -p process.arch)
dir="${KEYMESH_NODE_CACHE:-${TMPDIR:-/tmp}/keymesh-node}/$major-linux-$arch"
if [ ! -x "$dir/bin/node" ]; then
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "node-linux-$arch@$major" >/dev/null && tar xzf node-linux-*.tgz)
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$work/package" "$dir"
  rm -rf "$work"
fi
export PATH="$dir/bin:$PATH"
export npm_config_nodedir="$dir"
echo "with-node: $(node --version) from $dir"
(cd "$root" && npm rebuild better-sqlite3 secp256k1 >/dev/null)
exec "$@"
