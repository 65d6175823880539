#!/usr/bin/env bash
# Molecule tier: `molecule test` for one scenario (argument) or every scenario under
# molecule/, in order, except `stack` (the devnet: the integration tier, scripts/integration.sh,
# brings it up and tests against it; `scripts/molecule.sh stack` still runs it alone).
# `--destroy-all` removes every container and network the scenarios created (used by the
# test command's exit trap).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

if [ "${1:-}" = "--destroy-all" ]; then
  ids=$(docker ps -aq --filter label=mevops.molecule=1 2>/dev/null || true)
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  nets=$(docker network ls -q --filter label=mevops.molecule=1 2>/dev/null || true)
  [ -z "$nets" ] || docker network rm $nets >/dev/null
  exit 0
fi

if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -rn1 basename | grep -vx stack | sort)
fi
[ ${#scenarios[@]} -gt 0 ] || { echo "no molecule scenarios found" >&2; exit 1; }

for s in "${scenarios[@]}"; do
  t0=$(date +%s)
  echo "--- molecule test -s $s"
  molecule test -s "$s"
  echo "--- scenario $s passed in $(( $(date +%s) - t0 ))s"
done
