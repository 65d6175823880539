#!/usr/bin/env bash
# Unit tier: pytest on modules, filters, module_utils (tests/unit) and on the engine package
# (files/mev_engine/tests, in its own venv under .cache with the package installed editable).
# Anvil is installed from npm first: the JSON-RPC tests run against a real one. The engine's
# tests also start throwaway PostgreSQL and Redis servers: Debian's packages are installed
# here when missing (root), and solc-js comes from npm (files/mev_engine/scripts/ensure-solc.sh).
#
#   scripts/unit.sh -q                                  both suites
#   scripts/unit.sh tests/unit/plugins -q               the collection's suite only
#   scripts/unit.sh files/mev_engine/tests/test_api.py  the engine's suite only
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/apt.sh
. scripts/lib/apt.sh
export PATH="$PWD/.venv/bin:$PATH"

if [ -x scripts/ensure-anvil.sh ]; then
  MEVOPS_ANVIL=$(scripts/ensure-anvil.sh)
  export MEVOPS_ANVIL
fi

# Route path arguments: paths under files/mev_engine select the engine suite, other paths the
# collection's; options go to both; no path at all runs both.
collection=0 engine=0
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    files/mev_engine*) [ -e "${arg%%::*}" ] && engine=1 ;;
    *) [ -e "${arg%%::*}" ] && collection=1 ;;
  esac
done
if [ "$collection" -eq 0 ] && [ "$engine" -eq 0 ]; then collection=1 engine=1; fi

run_pytest() {  # $1 = label; the rest: the pytest command line
  local label=$1 rc=0
  shift
  "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "unit tier ($label) collected no tests: that is a defect, not a pass" >&2
    return 1
  fi
  return "$rc"
}

ensure_engine_env() {
  local missing=()
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "unit tier: the engine's tests need ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
      return 1
    fi
    echo "unit tier: installing ${missing[*]} for the engine's tests" >&2
    # Only the binaries are needed: the tests start their own throwaway servers.
    # Fresh machines may have no package lists yet: refresh them once when the install fails.
    apt_get install -y --no-install-recommends "${missing[@]}" >&2 || {
      apt_get update >&2 && apt_get install -y --no-install-recommends "${missing[@]}" >&2
    }
  fi
  local venv=.cache/mev-engine-venv stamp
  stamp=$(sha256sum < files/mev_engine/pyproject.toml | cut -c1-16)
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "unit tier: installing files/mev_engine into $venv" >&2
    mkdir -p .cache
    .venv/bin/python -m venv --clear "$venv"
    PIP_CACHE_DIR=${MEVOPS_CACHE_DIR:-/var/cache/mevops}/pip \
      "$venv/bin/pip" install --quiet --editable 'files/mev_engine[test]' >"$venv.pip.log" 2>&1 \
      || { cat "$venv.pip.log" >&2; echo "unit tier: installing files/mev_engine failed" >&2; return 1; }
    echo "$stamp" > "$venv/.stamp"
  fi
}
# promtool, for the monitoring role's rule and dashboard tests, comes with Debian's
# prometheus package. Its postinst starts the service where it can (systemd, or the init
# script without it): stop and disable what the install started; the tests need only promtool.
if ! command -v promtool >/dev/null 2>&1; then
  apt_get install -y -qq --no-install-recommends prometheus >/dev/null \
    || { apt_get update -qq && apt_get install -y -qq --no-install-recommends prometheus >/dev/null; }
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi

run_engine() {
  ensure_engine_env || return 1
  local engine_args=() erc=0
  for arg in "$@"; do
    case "$arg" in files/mev_engine/*) engine_args+=("${arg#files/mev_engine/}") ;; -*) engine_args+=("$arg") ;; esac
  done
  # The package is typed: mypy --strict (configured in its pyproject) is part of its tests.
  (cd files/mev_engine && ../../.cache/mev-engine-venv/bin/mypy src) || erc=1
  (cd files/mev_engine && run_pytest "engine" ../../.cache/mev-engine-venv/bin/python -m pytest "${engine_args[@]}") || erc=1
  return "$erc"
}

rc=0
engine_pid=
if [ "$engine" -eq 1 ] && [ "$collection" -eq 1 ]; then
  # Both suites: the engine's (its own virtualenv, servers and mypy) runs beside the collection's,
  # its output kept until the collection's is done.
  mkdir -p .cache
  run_engine "$@" >.cache/unit-engine.log 2>&1 &
  engine_pid=$!
elif [ "$engine" -eq 1 ]; then
  run_engine "$@" || rc=1
fi
if [ "$collection" -eq 1 ]; then
  collection_args=()
  for arg in "$@"; do case "$arg" in files/mev_engine*) ;; *) collection_args+=("$arg") ;; esac; done
  # Two workers (pytest-xdist; MEVOPS_UNIT_WORKERS): the machine has two cores, and the engine's
  # suite beside this one ends long before it.
  run_pytest "collection" pytest -n "${MEVOPS_UNIT_WORKERS:-2}" tests/unit "${collection_args[@]}" || rc=1
fi
if [ -n "$engine_pid" ]; then
  engine_rc=0
  wait "$engine_pid" || engine_rc=$?
  echo "--- the engine's suite (ran beside the collection's; .cache/unit-engine.log):"
  cat .cache/unit-engine.log
  [ "$engine_rc" -eq 0 ] || { echo "unit tier: the engine's suite failed" >&2; rc=1; }
fi
exit "$rc"
