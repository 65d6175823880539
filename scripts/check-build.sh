#!/usr/bin/env bash
# Build the collection tarball, install it into a scratch collections path (not this
# checkout), and check that its roles, modules, callbacks and playbooks resolve by FQCN from there.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
ansible-galaxy collection build --force --output-path "$scratch/dist" >/dev/null
tarball=$(ls "$scratch"/dist/mevops-infra-*.tar.gz)
# The installed tarball must not carry test or CI material (build_ignore).
if tar -tzf "$tarball" | grep -qE '^(molecule|tests|bench|\.ci|\.venv|\.collections)/'; then
  echo "build_ignore leaks test material into $tarball" >&2; exit 1
fi
ansible-galaxy collection install --force --offline --no-deps -p "$scratch/collections" "$tarball" >/dev/null 2>&1

export ANSIBLE_COLLECTIONS_PATH="$scratch/collections" ANSIBLE_NOCOLOR=1
printf "[defaults]\n" > "$scratch/ansible.cfg"
export ANSIBLE_CONFIG="$scratch/ansible.cfg"
cd "$scratch"
for module in $(tar -tzf "$tarball" | sed -nE 's#^plugins/modules/([a-z_0-9]+)\.py$#\1#p'); do
  ansible-doc -t module "mevops.infra.$module" 2>&1 | grep -q "^> MODULE mevops.infra.$module" \
    || { echo "ansible-doc cannot show mevops.infra.$module from the installed tarball" >&2; exit 1; }
done
for callback in $(tar -tzf "$tarball" | sed -nE 's#^plugins/callback/([a-z_0-9]+)\.py$#\1#p'); do
  ansible-doc -t callback "mevops.infra.$callback" 2>&1 | grep -q "^> CALLBACK mevops.infra.$callback" \
    || { echo "ansible-doc cannot show callback mevops.infra.$callback from the installed tarball" >&2; exit 1; }
done
for role in $(tar -tzf "$tarball" | sed -nE 's#^roles/([a-z_0-9]+)/tasks/main\.yml$#\1#p'); do
  printf -- '---\n- name: Resolve %s\n  hosts: localhost\n  gather_facts: false\n  roles: [mevops.infra.%s]\n' "$role" "$role" > "play_$role.yml"
  ansible-playbook -i localhost, --syntax-check "play_$role.yml" >/dev/null
done
for play in $(tar -tzf "$tarball" | sed -nE 's#^playbooks/([a-z_0-9]+)\.yml$#\1#p'); do
  ansible-playbook -i localhost, --syntax-check "mevops.infra.$play" >/dev/null
done
echo "collection build: $(basename "$tarball") installs; modules, callbacks, roles and playbooks resolve by FQCN"
