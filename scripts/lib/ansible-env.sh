# shellcheck shell=bash
# Sourced by scripts that run ansible/molecule against this checkout (devnet.sh,
# integration.sh): the virtualenv first on PATH, this checkout's ansible.cfg and collections,
# the shared package cache.
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.collections"
export MEVOPS_CACHE_DIR=${MEVOPS_CACHE_DIR:-/var/cache/mevops}
