#!/usr/bin/env bash
# Lint tier: yamllint, ruff, argument specs vs defaults, cross-role contracts (scripts/check-contracts.py: no
# role's private variables used from outside it, every tasks_from entry point specified, no role_path/..),
# then two lanes side by side (the tier's long steps are single-threaded; the machine has two cores):
#   lane 1: ansible-lint (production profile), antsibull-docs' collection-docs lint with --plugin-docs,
#           then the collection build (scripts/check-build.sh: install with the runtime requirements
#           only, FQCN resolution, validate_inventory from it)
#   lane 2: ansible-test sanity (scripts/sanity.sh), which on a fresh checkout first makes its tools'
#           virtualenvs (about a minute: the lanes are balanced for a fresh checkout, as in CI)
# Each lane's output is printed whole once both are done; each step prints its wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

step() {  # step LABEL COMMAND...: run and print the label, the output and the wall time
  local label=$1 started=$SECONDS rc=0
  shift
  echo "--- $label"
  "$@" || rc=$?
  echo "--- $label: $((SECONDS - started)) s$([ "$rc" -eq 0 ] || echo ", FAILED (exit $rc)")"
  return "$rc"
}

step yamllint yamllint --strict .
step ruff bash -c 'ruff check . && ruff format --check .'
step argspecs python scripts/check-argspecs.py
step contracts python scripts/check-contracts.py

mkdir -p .cache
# collection-docs --plugin-docs: every plugin's and role's docs through ansible-doc, the docsite schema,
# markup and references, and rstcheck on the RST a docsite would render (not just the extra docs).
{ step ansible-lint ansible-lint --profile production &&
  step collection-docs bash -c 'cd .collections/ansible_collections/mevops/infra && antsibull-docs lint-collection-docs --plugin-docs .' &&
  step build scripts/check-build.sh
} >.cache/lint-lane1.log 2>&1 &
lane1=$!
{ step sanity scripts/sanity.sh; } >.cache/lint-lane2.log 2>&1 &
lane2=$!
rc1=0 rc2=0
wait "$lane1" || rc1=$?
wait "$lane2" || rc2=$?
cat .cache/lint-lane1.log .cache/lint-lane2.log
if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then echo "lint tier failed" >&2; exit 1; fi
