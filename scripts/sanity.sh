#!/usr/bin/env bash
# ansible-test sanity: every test it runs by default for Python 3.11, each in its own virtualenv
# (--venv: no container registry is reachable), on a copy of this checkout laid out as
# .../ansible_collections/mevops/infra (ansible-test resolves the .collections symlink back to the
# checkout and then refuses it). The copy holds what git tracks plus new files it does not ignore.
#
#   scripts/sanity.sh                   all tests
#   scripts/sanity.sh --test pylint     one test (any `ansible-test sanity` option passes through)
#   scripts/sanity.sh --prime-venvs     only create the tools' virtualenvs (the first full run makes them too)
#
# The virtualenvs (pylint, voluptuous, yamllint, ... pinned by ansible-test, installed from PyPI)
# are kept in .cache/ansible-test, keyed by their requirements, so only the first run installs them.
# ansible-test bootstraps pip in each with a get-pip script from a host we cannot reach; the stand-in
# in scripts/lib/ansible-test-get-pip.py does the same from the interpreter's bundled pip wheel.
# The shellcheck test (a default one, skipped with a warning when the tool is missing) needs
# Debian's shellcheck package: installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export PATH="$top/.venv/bin:$PATH"

home="$top/.cache/ansible-test"
pip_version=$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
from ansible_test._internal.host_configs import NativePythonConfig as P
print(g(P(version="3.11"))["pip"])')
mkdir -p "$home/.ansible/test/cache"
cp scripts/lib/ansible-test-get-pip.py "$home/.ansible/test/cache/get_pip_${pip_version//./_}.py"

if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "sanity: shellcheck is missing; install it (apt-get install shellcheck)" >&2; exit 1
  fi
  # shellcheck source=lib/apt.sh
  . scripts/lib/apt.sh
  apt_get install -y -qq --no-install-recommends shellcheck >/dev/null \
    || { apt_get update -qq && apt_get install -y -qq --no-install-recommends shellcheck >/dev/null; }
fi

# Outside any git work tree (inside one, ansible-test would list files with git from its top), one
# per checkout, kept between runs for ansible-test's delegation virtualenv in tests/output; the
# content is laid anew each run. A lock keeps two runs of one checkout apart.
stage="${TMPDIR:-/tmp}/mevops-sanity-$(sha256sum <<<"$top" | cut -c1-12)"
copy="$stage/ansible_collections/mevops/infra"
mkdir -p "$copy"
exec 9>"$stage/.lock"
flock 9
find "$copy" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
find "$copy/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} + 2>/dev/null || true
rm -rf "$copy/tests/output/bot" "$copy/tests/output/junit"
git ls-files -z --cached --others --exclude-standard \
  | (while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) \
  | tar -c --null -T - -f - | tar -x -C "$copy"

cd "$copy"
HOME="$home" PIP_CACHE_DIR="${MEVOPS_CACHE_DIR:-/var/cache/mevops}/pip" \
  ansible-test sanity --venv --python 3.11 --color no "$@"
