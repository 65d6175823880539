#!/usr/bin/env bash
# The README's test command (`make test`): every tier, from nothing installed.
# Stops what it started (dockerd, containers, anvil) whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ansible-env.sh
. scripts/lib/ansible-env.sh

cleanup() {
  local rc=$? job
  # A tier running in the background (base image, integration) stops with the run.
  for job in $(jobs -p); do pkill -TERM -P "$job" 2>/dev/null || true; kill "$job" 2>/dev/null || true; done
  scripts/molecule.sh --destroy-all >/dev/null 2>&1 || true
  scripts/ensure-docker.sh stop || true
  exit $rc
}
trap cleanup EXIT

start=$(date +%s)
tier() { printf '\n=== %s (t+%ss) ===\n' "$1" "$(( $(date +%s) - start ))"; }

mkdir -p .cache
# The Docker engine (installed on a fresh machine, then started) comes up beside the lint tier,
# which does not use it; its output follows the lint tier's.
scripts/ensure-docker.sh start >.cache/docker-start.log 2>&1 &
docker_pid=$!
tier "lint (the Docker engine starts beside it)"
lint_rc=0
scripts/lint.sh || lint_rc=$?
docker_rc=0
wait "$docker_pid" || docker_rc=$?
tier docker
cat .cache/docker-start.log
[ "$lint_rc" -eq 0 ] || { echo "lint tier failed" >&2; exit "$lint_rc"; }
[ "$docker_rc" -eq 0 ] || { echo "starting the Docker engine failed (log above)" >&2; exit "$docker_rc"; }
# The base image (debootstrap into its own root: no use of the host's apt) and the engine's
# wheelhouse, which the molecule scenarios and the devnet install from, are built beside the
# unit tier, which uses neither.
{ tests/images/build-base.sh && ansible-playbook -i localhost, scripts/lib/wheelhouse.yml; } >.cache/base-image.log 2>&1 &
base_pid=$!
tier "unit (the base image builds beside it)"
unit_rc=0
scripts/unit.sh || unit_rc=$?
base_rc=0
wait "$base_pid" || base_rc=$?
tier "base image and wheelhouse"
cat .cache/base-image.log
[ "$unit_rc" -eq 0 ] || { echo "unit tier failed" >&2; exit "$unit_rc"; }
[ "$base_rc" -eq 0 ] || { echo "base image or wheelhouse build failed (log above)" >&2; exit "$base_rc"; }
# The molecule scenarios and the integration tier (the devnet) use different containers: they
# run side by side (MEVOPS_TEST_SERIAL=1 runs them one after the other).
molecule_rc=0 integration_rc=0
if [ "${MEVOPS_TEST_SERIAL:-0}" = 1 ]; then
  tier molecule; scripts/molecule.sh || molecule_rc=$?
  tier integration; scripts/integration.sh 2>&1 | tee .cache/integration.log || integration_rc=$?
else
  tier "molecule + integration (side by side; the integration log follows the molecule tier)"
  scripts/integration.sh >.cache/integration.log 2>&1 &
  integration_pid=$!
  scripts/molecule.sh || molecule_rc=$?
  wait "$integration_pid" || integration_rc=$?
  tier "integration log"
  cat .cache/integration.log
fi
# What failed comes last: the end of this output is what CI shows.
if [ "$molecule_rc" -ne 0 ]; then
  while read -r s; do
    scripts/lib/failure-summary.sh "molecule scenario $s" ".cache/molecule-logs/$s.log"
  done <.cache/molecule-failed
fi
[ "$integration_rc" -eq 0 ] || scripts/lib/failure-summary.sh "integration tier" .cache/integration.log
[ "$molecule_rc" -eq 0 ] || echo "molecule tier failed: $(paste -sd' ' .cache/molecule-failed 2>/dev/null || true)" >&2
[ "$integration_rc" -eq 0 ] || echo "integration tier failed" >&2
[ "$molecule_rc" -eq 0 ] && [ "$integration_rc" -eq 0 ] || exit 1
tier "done"
echo "all tiers passed in $(( $(date +%s) - start ))s"
