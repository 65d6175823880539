"""Verify the devnet end to end after site.yml + cold_start.yml: each unit on the host the
inventory puts it on (and nowhere else), the engine ready across the container network,
trading disabled, an opportunity on each chain detected and recorded in PostgreSQL on the
database host, and Prometheus on the monitoring host scraping the engine and every host's
exporters. The hosts are reached over SSH as the inventory says (tests/integration/devnet_hosts.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret

TOP = Path(__file__).resolve().parents[3]
INVENTORY = TOP / "inventories" / "devnet"
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"))
NODE, DB, ENGINE, MON = "mevops-devnet-node", "mevops-devnet-db", "mevops-devnet-engine", "mevops-devnet-mon"

HTTP = """
import sys, urllib.error, urllib.request
method, url, token = sys.argv[1:4]
request = urllib.request.Request(url, method=method, headers={"Authorization": "Bearer " + token})
try:
    answer = urllib.request.urlopen(request, timeout=30)
except urllib.error.HTTPError as exc:
    answer = exc
print(answer.status if hasattr(answer, "status") else answer.code)
print(answer.read().decode())
"""


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


devnet_hosts = load("devnet_hosts", TOP / "tests" / "integration" / "devnet_hosts.py")
contracts = load("devnet_contracts", TOP / "playbooks" / "files" / "devnet_contracts.py")
# The units site.yml starts on each host (the node host's from the chain catalogue).
UNITS = devnet_hosts.units(INVENTORY)
ELSEWHERE = {name for units in UNITS.values() for name in units} - {"prometheus-node-exporter"}
# Prometheus' targets as the inventory derives them: {job: target} of the monitoring host's own.
TARGETS = {(t["job"], t["host"]): t["target"] for t in devnet_hosts.derived(MON, "topology_scrape_targets", INVENTORY)}


def vault() -> dict:
    password = (INVENTORY / "vault-password.txt").read_bytes().strip()
    lib = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password))])
    return yaml.safe_load(lib.decrypt((INVENTORY / "group_vars" / "all" / "vault.yml").read_bytes()))


TOKEN = vault()["vault_mev_engine_api_token"]


def http(host, url, method="GET"):
    out = host.run("python3 -c %s %s %s %s", HTTP, method, url, TOKEN)
    assert out.rc == 0, out.stderr
    code, _newline, text = out.stdout.partition("\n")
    try:
        return int(code), json.loads(text)
    except ValueError:
        return int(code), text


def sql(host, query):
    return host.check_output(f'runuser -u postgres -- psql -d mev_infrastructure -tAc "{query}"')


@pytest.fixture(scope="module")
def logins():
    return devnet_hosts.logins(INVENTORY)


@pytest.fixture(scope="module")
def hosts(logins):
    return {name: logins[name].testinfra() for name in UNITS}


@pytest.fixture(scope="module")
def chains():
    """The engine's chains {name: http_url}, as the chain catalogue derives them."""
    engine = devnet_hosts.derived(ENGINE, "topology_engine_chains", INVENTORY)
    return {chain["name"]: chain["http_url"] for chain in engine}


@pytest.mark.parametrize("name", list(UNITS))
def test_units_run_on_their_hosts_only(hosts, name):
    host = hosts[name]
    for unit in UNITS[name]:
        assert host.service(unit).is_running, f"{unit} is not running on {name}"
        assert host.service(unit).is_enabled, f"{unit} is not enabled on {name}"
    for unit in ELSEWHERE - set(UNITS[name]):
        assert not host.service(unit).is_running, f"{unit} runs on {name}"


def test_engine_ready_across_the_network_and_trading_disabled(hosts, chains):
    # From the monitoring host (the firewall admits it): the engine's API where Prometheus scrapes it.
    api = f"http://{TARGETS[('mev-engine', ENGINE)]}"
    code, body = http(hosts[MON], f"{api}/health/ready")
    assert code == 200, body
    code, status = http(hosts[MON], f"{api}/api/v1/status")
    assert code == 200, status
    assert status["trading"]["state"] == "disabled"
    assert set(status["chains"]) == set(chains)
    assert all(chain["head_age_seconds"] < 30 for chain in status["chains"].values()), status["chains"]


def test_engine_reaches_postgresql_on_the_database_host(hosts):
    peers = hosts[DB].check_output(
        "runuser -u postgres -- psql -tAc \"SELECT count(*) FROM pg_stat_activity WHERE usename = 'mev_user' "
        'AND client_addr IS NOT NULL"'
    )
    assert int(peers) > 0, "no connection of mev_user from another host"


def test_an_opportunity_on_each_chain_is_detected_and_recorded(hosts, logins, chains):
    """Imbalance the pools on every chain from the controller, through the engine host as the
    devnet's fixtures deploy them; with trading disabled the engine records each opportunity
    (status detected) in PostgreSQL and sends nothing."""
    hot = "0x" + json.loads(hosts[ENGINE].file("/etc/mev/keystore/hot.json").content_string)["address"]
    dev = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's account 0

    def recorded(chain):
        return int(sql(hosts[DB], f"SELECT count(*) FROM mev.opportunities WHERE chain = '{chain}'"))

    before = {chain: recorded(chain) for chain in chains}
    engine = logins[ENGINE]
    with contracts.tunnel([*engine.ssh_options(), engine.address], chains.values()) as local:
        for chain, url in chains.items():
            addresses = EPHEMERAL / f"devnet-contracts-{chain}.yml"
            addresses.write_text(yaml.safe_dump({"devnet_contracts": contracts.expected(dev, hot)}))
            subprocess.run([sys.executable, str(TOP / "molecule" / "mev_engine" / "devnet.py"), "imbalance",
                            local[url], str(addresses)], check=True, timeout=600)  # fmt: skip
    for chain in chains:
        devnet_hosts.wait_for(lambda c=chain: recorded(c) > before[c], 60, f"an opportunity recorded on {chain}")
    sent = sql(hosts[DB], "SELECT count(*) FROM mev.transactions")
    assert sent == "0", "trading is disabled, yet a transaction was sent"


def test_prometheus_scrapes_the_engine_and_every_host(hosts):
    def targets():
        code, body = http(hosts[MON], f"http://{TARGETS[('prometheus', MON)]}/api/v1/targets")
        assert code == 200, body
        return {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in body["data"]["activeTargets"]}

    wanted = {("mev-engine", ENGINE), ("postgres-exporter", DB)} | {("node-exporter", h) for h in UNITS}
    seen = devnet_hosts.wait_for(
        lambda: (t := targets()) and all(t.get(w) == "up" for w in wanted) and t, 60, "targets up"
    )
    assert all(seen[w] == "up" for w in wanted), seen
