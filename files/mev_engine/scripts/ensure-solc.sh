#!/usr/bin/env bash
# Install the pinned solc-js compiler (npm package `solc`) and print the absolute path of its
# `solcjs` entry point on stdout; everything else goes to stderr.
#   MEV_SOLCJS=$(files/mev_engine/scripts/ensure-solc.sh)
# Installed once into $MEVOPS_CACHE_DIR/npm-solc/<version> and reused (nothing is fetched when
# it is already there). The engine's test fixtures compile contracts/*.sol with it.
set -euo pipefail

version=0.8.28
cache_dir=${MEVOPS_CACHE_DIR:-/var/cache/mevops}
prefix=$cache_dir/npm-solc/$version
entry=$prefix/node_modules/solc/solc.js

runs() { [ -f "$entry" ] && node "$entry" --version >/dev/null 2>&1; }

if ! runs; then
  mkdir -p "$(dirname "$prefix")"
  exec 9>"$prefix.lock"
  command -v flock >/dev/null && flock 9
fi
if ! runs; then
  command -v npm >/dev/null || {
    echo "ensure-solc: npm is missing; install Debian's npm package first" >&2
    exit 1
  }
  mkdir -p "$prefix"
  echo "ensure-solc: installing solc@$version into $prefix" >&2
  npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "solc@$version" >&2
  runs || {
    echo "ensure-solc: $entry does not run after installing solc@$version" >&2
    exit 1
  }
fi
echo "ensure-solc: solcjs $(node "$entry" --version)" >&2
echo "$entry"
