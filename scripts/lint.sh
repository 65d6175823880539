#!/usr/bin/env bash
# Lint tier: yamllint, ansible-lint (production profile), ruff, argument specs vs defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "--- yamllint";      yamllint --strict .
echo "--- ruff";          ruff check .
                          ruff format --check .
echo "--- argspecs";      python scripts/check-argspecs.py
echo "--- ansible-lint";  ansible-lint --profile production
echo "--- build";         scripts/check-build.sh
