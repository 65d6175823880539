#!/usr/bin/env bash
# The README's test command (`make test`): every tier, from nothing installed.
# Stops what it started (dockerd, containers, anvil) whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ansible-env.sh
. scripts/lib/ansible-env.sh

cleanup() {
  local rc=$? job
  # A tier running in the background (the integration tier) stops with the run.
  for job in $(jobs -p); do pkill -TERM -P "$job" 2>/dev/null || true; kill "$job" 2>/dev/null || true; done
  scripts/molecule.sh --destroy-all >/dev/null 2>&1 || true
  scripts/ensure-docker.sh stop || true
  exit $rc
}
trap cleanup EXIT

start=$(date +%s)
tier() { printf '\n=== %s (t+%ss) ===\n' "$1" "$(( $(date +%s) - start ))"; }
mkdir -p .cache

# The machine has two cores and the tiers wait more than they compute (containers booting, apt in
# them, SSH round trips): they overlap. The Docker engine is installed/started first (it may use
# apt, as the lint and unit tiers may: never two apt runs at once); the base image and the engine's
# wheelhouse (both lanes install from it) are built beside the lint tier; the integration tier (the
# devnet) starts as soon as they are there and runs beside the unit tier and then the molecule
# scenarios (MEVOPS_MOLECULE_JOBS at a time, default 2). MEVOPS_TEST_SERIAL=1 runs every tier
# one after the other.
tier docker;   scripts/ensure-docker.sh start
prepare() { tests/images/build-base.sh && ansible-playbook -i localhost, scripts/lib/wheelhouse.yml >/dev/null; }
if [ "${MEVOPS_TEST_SERIAL:-0}" = 1 ]; then
  tier lint; scripts/lint.sh
  tier unit; scripts/unit.sh
  tier "base image, wheelhouse"; prepare
  tier molecule; scripts/molecule.sh
  tier integration; scripts/integration.sh
  tier "done"
  echo "all tiers passed in $(( $(date +%s) - start ))s"
  exit 0
fi

tier "lint (base image and wheelhouse built beside it: .cache/prepare.log)"
prepare >.cache/prepare.log 2>&1 &
prepare_pid=$!
scripts/lint.sh
prepare_rc=0
wait "$prepare_pid" || prepare_rc=$?
cat .cache/prepare.log
[ "$prepare_rc" -eq 0 ] || { echo "base image or wheelhouse failed" >&2; exit "$prepare_rc"; }

tier "unit (the integration tier runs beside it and the molecule tier: .cache/integration.log)"
scripts/integration.sh >.cache/integration.log 2>&1 &
integration_pid=$!
scripts/unit.sh
tier "molecule (${MEVOPS_MOLECULE_JOBS:-2} scenarios at a time)"
molecule_rc=0
scripts/molecule.sh --jobs "${MEVOPS_MOLECULE_JOBS:-2}" || molecule_rc=$?
tier "molecule tier $([ "$molecule_rc" -eq 0 ] && echo passed || echo FAILED); waiting for the integration tier"
integration_rc=0
wait "$integration_pid" || integration_rc=$?
tier "integration log"
cat .cache/integration.log
[ "$molecule_rc" -eq 0 ] || { echo "molecule tier failed" >&2; exit "$molecule_rc"; }
[ "$integration_rc" -eq 0 ] || { echo "integration tier failed" >&2; exit "$integration_rc"; }
tier "done"
echo "all tiers passed in $(( $(date +%s) - start ))s"
