#!/usr/bin/env bash
# Unit tier: pytest on modules, filters, module_utils (and the engine once it exists).
# Anvil is installed from npm first: the JSON-RPC tests run against a real one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

if [ -x scripts/ensure-anvil.sh ]; then
  MEVOPS_ANVIL=$(scripts/ensure-anvil.sh)
  export MEVOPS_ANVIL
fi

# promtool, for the monitoring role's rule and dashboard tests, comes with Debian's
# prometheus package. Its postinst starts the service where it can (systemd, or the init
# script without it): stop and disable what the install started; the tests need only promtool.
if ! command -v promtool >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi

rc=0
pytest tests/unit "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "unit tier collected no tests: that is a defect, not a pass" >&2
  exit 1
fi
exit "$rc"
