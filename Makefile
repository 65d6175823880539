# mevops.infra — every tier from scratch on a fresh Debian 12 machine.
#   make devnet               the devnet: production's 4 hosts as systemd containers over SSH, site.yml, cold_start.yml, health report
#   make devnet-down          remove the devnet's containers and network
#   make test                 lint + unit + molecule (all scenarios)
#   make molecule SCENARIO=x  one molecule scenario
#   make bench                benchmarks (print figures, never fail on a number)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?=
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export MEVOPS_CACHE_DIR ?= /var/cache/mevops
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup lint unit molecule test bench docker-up docker-down base-image devnet devnet-down clean

help:
	@grep -E '^#   ' Makefile | sed 's/^#   //'

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

# ansible-test sanity's tool virtualenvs (pylint, voluptuous, ...) are made by its first run
# (scripts/sanity.sh, in the lint tier beside ansible-lint), not here: setup is single-threaded.
setup: $(BIN)/.installed
	scripts/link-collection.sh

lint: setup
	scripts/lint.sh

unit: setup
	scripts/unit.sh

docker-up:
	scripts/ensure-docker.sh start

docker-down:
	scripts/ensure-docker.sh stop

base-image: docker-up
	tests/images/build-base.sh

molecule: setup base-image
	scripts/molecule.sh $(SCENARIO)

devnet: setup base-image
	scripts/devnet.sh up

devnet-down: setup
	scripts/devnet.sh down

test: setup
	scripts/test.sh

bench: setup base-image
	scripts/bench.sh

clean:
	rm -rf $(VENV) .collections .cache .pytest_cache .ruff_cache
