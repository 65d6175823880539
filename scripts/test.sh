#!/usr/bin/env bash
# The README's test command (`make test`): every tier, from nothing installed.
# Stops what it started (dockerd, containers, anvil) whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

cleanup() {
  local rc=$?
  scripts/molecule.sh --destroy-all >/dev/null 2>&1 || true
  scripts/ensure-docker.sh stop || true
  exit $rc
}
trap cleanup EXIT

start=$(date +%s)
tier() { printf '\n=== %s (t+%ss) ===\n' "$1" "$(( $(date +%s) - start ))"; }

tier lint;     scripts/lint.sh
tier unit;     scripts/unit.sh
tier docker;   scripts/ensure-docker.sh start; tests/images/build-base.sh
tier molecule; scripts/molecule.sh
tier integration; scripts/integration.sh
tier done
echo "all tiers passed in $(( $(date +%s) - start ))s"
