#!/usr/bin/env bash
# Run every benchmark in bench/ and print its figures. Benchmarks never fail on a number;
# they fail only when they cannot measure. `scripts/bench.sh NAME` runs bench/NAME*.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
if [ -x scripts/ensure-anvil.sh ]; then MEVOPS_ANVIL=$(scripts/ensure-anvil.sh); export MEVOPS_ANVIL; fi
mkdir -p bench/results
for b in bench/"${1:-}"*.py; do
  echo "--- $b"
  python "$b" | tee -a "bench/results/$(date +%Y%m%d).txt"
done
