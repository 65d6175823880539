#!/usr/bin/env bash
# The devnet (inventories/devnet): three systemd containers from the one recipe, provisioned
# by playbooks/site.yml, cold-started by playbooks/cold_start.yml, then the health report.
#   scripts/devnet.sh up     create (molecule scenario `stack`'s create), site.yml, cold_start.yml, report
#   scripts/devnet.sh down   remove the containers and their network
#   scripts/devnet.sh report the health report only
# `make devnet` / `make devnet-down` call it after `make setup` and the base image.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ansible-env.sh
. scripts/lib/ansible-env.sh

inventory=inventories/devnet
# Facts cached (ansible.cfg: jsonfile) for containers that no longer exist would mislead the
# next run (a recreated container has a new address): forget them with the containers.
forget_facts() { rm -f .cache/facts/mevops-devnet-*; }
playbook() {
  ansible-playbook -i "$inventory" --vault-password-file "$inventory/vault-password.txt" "$@"
}

report() {
  if [ -f playbooks/health_check.yml ]; then
    playbook playbooks/health_check.yml
  else
    # Until playbooks/health_check.yml exists: the engine's status through its API.
    ansible engines -i "$inventory" --vault-password-file "$inventory/vault-password.txt" -o \
      -m mevops.infra.mev_engine_control -a 'action=status api_token={{ mev_engine_api_token }}'
  fi
}

case "${1:-}" in
  up)
    t0=$(date +%s)
    molecule create -s stack
    forget_facts
    playbook playbooks/site.yml
    [ ! -f playbooks/cold_start.yml ] || playbook playbooks/cold_start.yml
    report
    echo "devnet up in $(( $(date +%s) - t0 ))s: ansible-playbook -i $inventory --vault-password-file $inventory/vault-password.txt playbooks/<procedure>.yml"
    ;;
  down)
    molecule destroy -s stack
    forget_facts
    ;;
  report)
    report
    ;;
  *)
    echo "usage: $0 up|down|report" >&2
    exit 2
    ;;
esac
