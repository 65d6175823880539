#!/usr/bin/env bash
# Make this checkout importable as the collection mevops.infra without installing it:
# .collections/ansible_collections/mevops/infra -> the checkout. ansible.cfg and the
# unit tests' conftest put .collections on the collections path.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/.collections/ansible_collections/mevops"
ln -sfn "$top" "$top/.collections/ansible_collections/mevops/infra"
