#!/usr/bin/env bash
# Build the collection tarball and use it as a user would, never this checkout:
#  1. install it into a scratch collections path, with a Python that has only the runtime
#     requirements (ansible from requirements.txt, requirements-ee.txt): .cache/runtime-venv,
#     rebuilt when those pins change;
#  2. its modules and callbacks resolve by FQCN (ansible-doc), its roles and playbooks pass a
#     syntax check by FQCN (one playbook that names them all);
#  3. `mevops.infra.validate_inventory` runs from it against a copy of inventories/devnet with
#     that inventory's vault password, and finds the inventory sound.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export PATH="$top/.venv/bin:$PATH"

# 1. A virtualenv with the runtime requirements only.
runtime=.cache/runtime-venv
pins=$(grep -E '^ansible==' requirements.txt; grep -vE '^\s*(#|$)' requirements-ee.txt)
stamp=$(sha256sum <<<"$pins" | cut -c1-16)
if [ ! -x "$runtime/bin/ansible-playbook" ] || [ "$(cat "$runtime/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "check-build: installing the runtime requirements into $runtime" >&2
  mkdir -p .cache
  python -m venv --clear "$runtime"
  mapfile -t requirements < <(sed -E 's/[[:space:]]*#.*//' <<<"$pins")
  PIP_CACHE_DIR=${MEVOPS_CACHE_DIR:-/var/cache/mevops}/pip \
    "$runtime/bin/pip" install --quiet "${requirements[@]}" >"$runtime.pip.log" 2>&1 \
    || { cat "$runtime.pip.log" >&2; echo "check-build: installing the runtime requirements failed" >&2; exit 1; }
  echo "$stamp" >"$runtime/.stamp"
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
ansible-galaxy collection build --force --output-path "$scratch/dist" >/dev/null
tarball=$(ls "$scratch"/dist/mevops-infra-*.tar.gz)
# The installed tarball must not carry test or CI material (build_ignore).
if tar -tzf "$tarball" | grep -qE '^(molecule|tests|bench|\.ci|\.venv|\.collections|changelogs/fragments|dist|context)/'; then
  echo "build_ignore leaks test material into $tarball" >&2; exit 1
fi

# From here on: the runtime virtualenv, the scratch collections path, no ansible.cfg of the checkout.
export PATH="$top/$runtime/bin:/usr/bin:/bin"
export ANSIBLE_COLLECTIONS_PATH="$scratch/collections" ANSIBLE_NOCOLOR=1
printf "[defaults]\n" >"$scratch/ansible.cfg"
export ANSIBLE_CONFIG="$scratch/ansible.cfg"
unset ANSIBLE_ROLES_PATH ANSIBLE_INVENTORY
ansible-galaxy collection install --force --offline --no-deps -p "$scratch/collections" "$tarball" >/dev/null 2>&1
cd "$scratch"

# 2. FQCN resolution: one ansible-doc per plugin type, one syntax check for every role and playbook.
listed() { tar -tzf "$tarball" | sed -nE "s#$1#\\1#p"; }
for type in module callback; do
  mapfile -t names < <(listed "^plugins/${type/module/modules}/([a-z_0-9]+)\\.py$")
  shown=$(ansible-doc -t "$type" "${names[@]/#/mevops.infra.}" 2>&1 || true)
  for name in "${names[@]}"; do
    grep -q "^> ${type^^} mevops.infra.$name" <<<"$shown" \
      || { echo "ansible-doc cannot show $type mevops.infra.$name from the installed tarball" >&2; exit 1; }
  done
done
{
  echo "---"
  for role in $(listed '^roles/([a-z_0-9]+)/tasks/main\.yml$'); do
    printf -- '- name: Resolve role %s\n  hosts: localhost\n  gather_facts: false\n  roles: [mevops.infra.%s]\n' "$role" "$role"
  done
  for play in $(listed '^playbooks/([a-z_0-9]+)\.yml$'); do
    printf -- '- name: Resolve playbook %s\n  ansible.builtin.import_playbook: mevops.infra.%s\n' "$play" "$play"
  done
} >resolve.yml
out=$(ansible-playbook -i localhost, --syntax-check resolve.yml 2>&1) \
  || { echo "$out" >&2; echo "roles or playbooks do not resolve from the installed collection" >&2; exit 1; }

# 3. A procedure from the installed collection, by FQCN, against a copy of the devnet inventory.
cp -r "$top/inventories/devnet" inventory
out=$(ansible-playbook -i inventory --vault-password-file inventory/vault-password.txt mevops.infra.validate_inventory 2>&1) \
  || { echo "$out" >&2; echo "mevops.infra.validate_inventory failed from the installed collection" >&2; exit 1; }
grep -q "The inventory is sound" <<<"$out" \
  || { echo "$out" >&2; echo "mevops.infra.validate_inventory did not find the devnet inventory sound" >&2; exit 1; }
echo "collection build: $(basename "$tarball") installs with the runtime requirements only; modules, callbacks, roles" \
  "and playbooks resolve by FQCN; mevops.infra.validate_inventory passes on the devnet inventory"
