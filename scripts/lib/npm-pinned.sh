# shellcheck shell=bash
# Sourced by scripts that install one pinned npm package into the shared cache
# ($MEVOPS_CACHE_DIR, default /var/cache/mevops) once and reuse it: ensure-anvil.sh and
# files/mev_engine/scripts/ensure-solc.sh.
#
#   npm_pinned_install LABEL PREFIX PACKAGE VERSION RUNS
#
# Does nothing when the command RUNS already succeeds; otherwise takes a lock
# (parallel test runs: the others wait and find it installed) and installs
# PACKAGE@VERSION into PREFIX. Messages go to stderr, prefixed with LABEL.
npm_pinned_install() {
  local label=$1 prefix=$2 package=$3 version=$4 runs=$5
  "$runs" && return 0
  mkdir -p "$(dirname "$prefix")"
  exec 9>"$prefix.lock"
  command -v flock >/dev/null && flock 9
  "$runs" && return 0
  command -v npm >/dev/null || {
    echo "$label: npm is missing; install Debian's npm package first" >&2
    return 1
  }
  mkdir -p "$prefix"
  echo "$label: installing $package@$version into $prefix" >&2
  npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "$package@$version" >&2
}
