#!/usr/bin/env bash
# Install the pinned solc-js compiler (npm package `solc`) and print the absolute path of its
# `solc.js` entry point on stdout; everything else goes to stderr.
#   MEV_SOLCJS=$(files/mev_engine/scripts/ensure-solc.sh)
# Installed once into $MEVOPS_CACHE_DIR/npm-solc/<version> and reused (nothing is fetched when
# it is already there). The engine's test fixtures compile contracts/*.sol with it.
set -euo pipefail
# shellcheck source=../../../scripts/lib/npm-pinned.sh
. "$(dirname "$0")/../../../scripts/lib/npm-pinned.sh"

version=0.8.28
prefix=${MEVOPS_CACHE_DIR:-/var/cache/mevops}/npm-solc/$version
entry=$prefix/node_modules/solc/solc.js

runs() { [ -f "$entry" ] && node "$entry" --version >/dev/null 2>&1; }

npm_pinned_install ensure-solc "$prefix" solc "$version" runs
runs || {
  echo "ensure-solc: $entry does not run after installing solc@$version" >&2
  exit 1
}
echo "ensure-solc: solcjs $(node "$entry" --version)" >&2
echo "$entry"
