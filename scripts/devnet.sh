#!/usr/bin/env bash
# The devnet (inventories/devnet): production's four hosts as systemd containers from the one
# recipe, at the inventory's static addresses and reached over SSH as the inventory says,
# provisioned by playbooks/site.yml, cold-started by playbooks/cold_start.yml, then the health report.
#   scripts/devnet.sh up     create (molecule scenario `stack`'s create: containers, network, the mevops
#                            login with the devnet key, known hosts), site.yml, cold_start.yml, report
#   scripts/devnet.sh down   remove the containers and their network
#   scripts/devnet.sh report [all]  the health report only (all: resources and alerts too)
#   scripts/devnet.sh ssh HOST [COMMAND...]   log in to a devnet host as Ansible does (its key, known hosts, user)
# `make devnet` / `make devnet-down` call it after `make setup` and the base image.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ansible-env.sh
. scripts/lib/ansible-env.sh

inventory=inventories/devnet
# Facts cached (ansible.cfg: jsonfile) for containers that no longer exist would mislead the
# next run (a recreated container is a new host): forget them with the containers.
forget_facts() { rm -f .cache/facts/mevops-devnet-*; }
playbook() {
  ansible-playbook -i "$inventory" --vault-password-file "$inventory/vault-password.txt" "$@"
}

# The health report of the devnet's main job: every check but host resources and firing
# alerts, which on containers measure the machine they share (its CPU and load), not the hosts.
# `scripts/devnet.sh report all` runs every check.
report() {
  if [ "${1:-}" = all ]; then
    playbook playbooks/health_check.yml
  else
    echo "health report (resources and alerts left out: on the devnet they measure the shared machine)"
    playbook playbooks/health_check.yml \
      -e '{"health_check_scope": ["nodes", "engine", "wallets", "journal", "postgresql", "redis", "integrity"]}'
  fi
}

case "${1:-}" in
  up)
    t0=$(date +%s)
    molecule create -s stack
    forget_facts
    t1=$(date +%s)
    playbook playbooks/site.yml
    t2=$(date +%s)
    playbook playbooks/cold_start.yml
    t3=$(date +%s)
    report
    echo "devnet up in $(( $(date +%s) - t0 ))s (create $(( t1 - t0 ))s, site.yml $(( t2 - t1 ))s, cold_start.yml $(( t3 - t2 ))s)"
    echo "  ansible-playbook -i $inventory --vault-password-file $inventory/vault-password.txt playbooks/<procedure>.yml"
    echo "  $0 ssh mevops-devnet-engine   (any host: logs in as Ansible does)"
    ;;
  down)
    molecule destroy -s stack
    forget_facts
    ;;
  report)
    report "${2:-}"
    ;;
  ssh)
    shift
    [ $# -ge 1 ] || { echo "usage: $0 ssh HOST [COMMAND...]" >&2; exit 2; }
    exec python3 tests/integration/devnet_hosts.py "$@"
    ;;
  *)
    echo "usage: $0 up|down|report|ssh HOST [COMMAND...]" >&2
    exit 2
    ;;
esac
