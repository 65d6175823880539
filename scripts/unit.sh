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

rc=0
pytest tests/unit "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "unit tier collected no tests: that is a defect, not a pass" >&2
  exit 1
fi
exit "$rc"
