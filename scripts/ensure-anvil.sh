#!/usr/bin/env bash
# Install anvil (the local EVM devnet node) from the npm registry and print the absolute
# path of its binary on stdout; everything else goes to stderr.
#   MEVOPS_ANVIL=$(scripts/ensure-anvil.sh)
# Pinned to one version; installed once into $MEVOPS_CACHE_DIR/anvil/<version> and reused
# (idempotent: nothing is fetched when the binary is already there and runs).
set -euo pipefail
# shellcheck source=lib/npm-pinned.sh
. "$(dirname "$0")/lib/npm-pinned.sh"

# Newest stable release on npm (`npm view @foundry-rs/anvil-linux-amd64 versions --json`).
version=1.7.1
package=@foundry-rs/anvil-linux-amd64

cache_dir=${MEVOPS_CACHE_DIR:-/var/cache/mevops}
prefix=$cache_dir/anvil/$version
# npm places the package under node_modules and links its `bin` entry into .bin.
binary=$prefix/node_modules/$package/bin/anvil

runs() { [ -x "$binary" ] && "$binary" --version >/dev/null 2>&1; }

if ! runs; then
  npm_pinned_install ensure-anvil "$prefix" "$package" "$version" runs
  if [ ! -x "$binary" ]; then
    # Fall back to whatever npm linked, should the package layout change.
    linked=$prefix/node_modules/.bin/anvil
    [ -e "$linked" ] && binary=$(readlink -f "$linked")
  fi
  if ! runs; then
    echo "ensure-anvil: $binary does not run after installing $package@$version" >&2
    exit 1
  fi
fi

echo "ensure-anvil: $("$binary" --version | head -n1)" >&2
echo "$binary"
