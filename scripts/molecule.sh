#!/usr/bin/env bash
# Molecule tier: `molecule test` for the given scenarios, or every scenario under molecule/
# except `stack` (the devnet, run by the integration tier: scripts/integration.sh).
#   scripts/molecule.sh [--jobs N] [scenario ...]
# --jobs N (or MEVOPS_MOLECULE_JOBS) runs N scenarios at once, each logging to
# .cache/molecule-logs/<scenario>.log (printed when it fails); the longest scenarios of the
# previous run start first. Every scenario's output is kept in that log (one job: printed too),
# and the failed scenarios are listed in .cache/molecule-failed, so that the test command can end
# with what failed (`scripts/lib/failure-summary.sh`). `--destroy-all` removes every container
# and network the scenarios created (used by the test command's exit trap).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

if [ "${1:-}" = "--destroy-all" ]; then
  mapfile -t ids < <(docker ps -aq --filter label=mevops.molecule=1 2>/dev/null || true)
  [ "${#ids[@]}" -eq 0 ] || docker rm -f "${ids[@]}" >/dev/null
  mapfile -t nets < <(docker network ls -q --filter label=mevops.molecule=1 2>/dev/null || true)
  [ "${#nets[@]}" -eq 0 ] || docker network rm "${nets[@]}" >/dev/null
  exit 0
fi

jobs=${MEVOPS_MOLECULE_JOBS:-1}
if [ "${1:-}" = "--jobs" ]; then
  jobs=$2
  shift 2
fi
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "--jobs needs a positive number, got '$jobs'" >&2; exit 2; }

logs=.cache/molecule-logs
durations=.cache/molecule-durations
failed_list=.cache/molecule-failed
mkdir -p "$logs"
touch "$durations"
: >"$failed_list"

if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  # Every scenario but stack, longest (by the last recorded run) first.
  mapfile -t scenarios < <(
    find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -rn1 basename |
      grep -vx stack |
      while read -r s; do
        printf '%s %s\n' "$(awk -v s="$s" '$1 == s {d = $2} END {print d + 0}' "$durations")" "$s"
      done | sort -k1,1nr -k2 | cut -d' ' -f2
  )
fi
[ ${#scenarios[@]} -gt 0 ] || { echo "no molecule scenarios found" >&2; exit 1; }

run_one() {
  local s=$1 t0 rc=0
  t0=$(date +%s)
  if [ "$jobs" -eq 1 ]; then
    echo "--- molecule test -s $s (also in $logs/$s.log)"
    molecule test -s "$s" 2>&1 | tee "$logs/$s.log" || rc=$?
  else
    echo "--- molecule test -s $s (log: $logs/$s.log)"
    molecule test -s "$s" >"$logs/$s.log" 2>&1 || rc=$?
  fi
  local took=$(( $(date +%s) - t0 ))
  if [ $rc -eq 0 ]; then
    echo "$s $took" >>"$durations"
    echo "--- scenario $s passed in ${took}s"
  else
    if [ "$jobs" -gt 1 ]; then
      echo "--- scenario $s FAILED after ${took}s; the end of its log:"
      tail -n 150 "$logs/$s.log"
    fi
    echo "--- scenario $s FAILED (exit $rc) after ${took}s"
    echo "$s" >>"$failed_list"
  fi
  return $rc
}

failed=()
if [ "$jobs" -eq 1 ]; then
  # Every scenario runs even after a failure: one CI run names every broken scenario.
  for s in "${scenarios[@]}"; do
    run_one "$s" || failed+=("$s")
  done
else
  declare -A pids=()
  for s in "${scenarios[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
      wait -n || true
    done
    run_one "$s" &
    pids[$s]=$!
  done
  for s in "${!pids[@]}"; do
    wait "${pids[$s]}" || failed+=("$s")
  done
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "molecule tier failed: ${failed[*]}" >&2
  exit 1
fi
