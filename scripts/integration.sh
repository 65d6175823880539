#!/usr/bin/env bash
# Integration tier (scripts/test.sh runs it after the molecule tier): bring the devnet up with
# the molecule scenario `stack` (syntax, create, converge = site.yml + cold_start.yml,
# idempotence, verify: `scripts/molecule.sh stack` without its final destroy), run `pytest tests/integration` against it, then destroy it, always.
#   scripts/integration.sh [pytest args]     e.g. scripts/integration.sh -k test_1
# MEVOPS_KEEP_DEVNET=1 keeps the devnet at the end (for poking at it; `make devnet-down` removes it).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ansible-env.sh
. scripts/lib/ansible-env.sh

cleanup() {
  local rc=$?
  if [ "${MEVOPS_KEEP_DEVNET:-0}" != 1 ]; then
    molecule destroy -s stack >/dev/null 2>&1 || true
  fi
  exit $rc
}
trap cleanup EXIT

t0=$(date +%s)
molecule destroy -s stack >/dev/null
# The controller's fact cache (ansible.cfg) must not carry the previous devnet's addresses.
rm -f .cache/facts/mevops-devnet-*
for step in syntax create converge idempotence verify; do
  echo "--- molecule $step -s stack (t+$(( $(date +%s) - t0 ))s)"
  molecule "$step" -s stack
done
t1=$(date +%s)
echo "--- devnet up in $(( t1 - t0 ))s; pytest tests/integration"
pytest -p no:cacheprovider --durations=12 tests/integration "$@"
echo "--- integration tier passed in $(( $(date +%s) - t0 ))s (stack $(( t1 - t0 ))s, tests $(( $(date +%s) - t1 ))s)"
