"""playbooks/validate_inventory.yml against small inventories written to tmp_path and broken
copies of the shipped production inventory (each problem named, in an operator's words, in
the one failure), and against the three shipped inventories."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.unit.playbook import TOP, run_playbook

PLAYBOOK = "playbooks/validate_inventory.yml"
CHECKSUMMED = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
EXAMPLE_PASSWORD = "example-vault-password\n"
VAULT = {
    "vault_postgresql_app_password": "pg-secret",
    "vault_redis_password": "redis-secret",
    "vault_mev_engine_api_token": "t" * 40,
    "vault_mev_engine_keystore_password": "ks-secret",
    "vault_backup_repo_cipher_pass": "p" * 24,
    "vault_backup_archive_identity": "AGE-SECRET-KEY-1EXAMPLE",
}
ALL_GROUPS = ["evm_nodes", "databases", "engines", "monitoring"]


def write_inventory(root: Path, hosts: dict[str, list[str]], group_vars: dict, host_vars: dict | None = None) -> Path:
    """hosts: {name: [groups]}; group_vars: {group: vars}; a vault-less inventory (plain vault_* values)."""
    children: dict = {}
    for name, groups in hosts.items():
        for group in groups:
            children.setdefault(group, {"hosts": {}})["hosts"][name] = None
    (root / "group_vars").mkdir(parents=True)
    (root / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": children}}))
    for group, values in group_vars.items():
        (root / "group_vars" / f"{group}.yml").write_text(yaml.safe_dump(values))
    if host_vars:
        (root / "host_vars").mkdir()
        for name, values in host_vars.items():
            (root / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump(values))
    return root


def validate(*args: str) -> tuple[int, list[str] | str]:
    """(exit code, the final task's message: the problems after its heading, or the success line)."""
    os.environ["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.json"
    try:
        run = run_playbook([*args, PLAYBOOK])
    finally:
        del os.environ["ANSIBLE_STDOUT_CALLBACK"]
    report = json.loads(run.stdout[run.stdout.index("{") :])
    (task,) = [t for t in report["plays"][0]["tasks"] if t["task"]["name"].startswith("Fail with every problem")]
    (result,) = [r for r in task["hosts"].values() if "msg" in r]
    message = result["msg"]
    if isinstance(message, list):
        assert re.fullmatch(rf"The inventory has {len(message) - 1} problem\(s\):", message[0]), message
        return run.returncode, message[1:]
    return run.returncode, message


def box_vars() -> dict:
    """One host in every group, at 10.9.0.1, its services where the management network reaches them."""
    address = "{{ ansible_host }}"
    return {
        "all": {
            **VAULT,
            "ansible_host": "10.9.0.1",
            "firewall_management_networks": ["10.9.100.0/24"],
            "mevops_chains": [{"name": "ethereum", "client": "anvil"}],
            "mev_engine_cold_wallet": CHECKSUMMED,
            "mev_engine_api_host": address,
            "monitoring_prometheus_listen_address": f"{address}:9090",
            "monitoring_alertmanager_listen_address": f"{address}:9093",
            "monitoring_alertmanager_critical_webhook_urls": ["https://pager.example/critical"],
            "monitoring_alertmanager_warning_webhook_urls": ["https://chat.example/warning"],
            "emergency_webhooks": [{"name": "chat", "url": "https://chat.example/emergency"}],
        }
    }


def test_a_sound_single_host_inventory_passes(tmp_path):
    inventory = write_inventory(tmp_path, {"box": ALL_GROUPS}, box_vars())
    rc, message = validate("-i", str(inventory))
    assert rc == 0, message
    assert re.match(r"The inventory is sound: 1 host\(s\), \d+ flow\(s\)", message), message


def test_alerts_and_emergency_notices_that_go_nowhere_are_named(tmp_path):
    """No channel for a severity, an enabled channel holding the example's placeholder, no
    emergency webhook: each is a problem, and no secret's value is printed."""
    variables = box_vars()
    box = variables["all"]
    del box["monitoring_alertmanager_warning_webhook_urls"]
    box["emergency_webhooks"] = []
    box["monitoring_alertmanager_pagerduty_enabled"] = True
    box["monitoring_alertmanager_pagerduty_routing_key"] = "CHANGE-ME-routing-key"
    rc, found = validate("-i", str(write_inventory(tmp_path, {"box": ALL_GROUPS}, variables)))
    assert rc != 0
    assert sorted(found) == [
        "emergency_webhooks is empty: the emergency playbook's notices go nowhere",
        "monitoring box: Alertmanager's warning receiver has no channel: warning alerts go nowhere"
        " (set monitoring_alertmanager_warning_webhook_urls, or enable email, slack)",
        "monitoring box: monitoring_alertmanager_pagerduty_routing_key still holds the example placeholder",
    ]


def test_catalogue_and_engine_problems_are_named(tmp_path):
    """The catalogue's own problems: an unknown client named as such, a duplicate chain id, a
    chain declared twice; an engine chain listed twice and a URL without a scheme (written by
    hand, which is itself reported beside a catalogue); a burn address as cold wallet."""
    group_vars = box_vars()
    group_vars["all"]["mevops_chains"] = [
        {"name": "ethereum", "client": "anvil"},
        {"name": "base", "client": "anvil", "chain_id": 1},
        {"name": "polygon", "client": "erigonn"},
        {"name": "base", "client": "anvil"},
    ]
    group_vars["all"]["mev_engine_cold_wallet"] = "0x000000000000000000000000000000000000dEaD"
    group_vars["engines"] = {
        "mev_engine_chains": [
            {"name": "ethereum", "chain_id": 1, "http_url": "10.9.0.1:8545"},
            {"name": "ethereum", "chain_id": 1, "http_url": "http://10.9.0.1:8545"},
        ]
    }
    inventory = write_inventory(tmp_path, {"box": ALL_GROUPS}, group_vars)
    rc, found = validate("-i", str(inventory))
    assert rc != 0
    expected = [
        "mevops_chains polygon: client 'erigonn' is unknown; supported: anvil, avalanchego, bor, erigon, geth, "
        "nitro, op-geth, reth",
        "mevops_chains base: the chain is declared twice",
        "mevops_chains base: chain_id 1 is also ethereum's (duplicate chain id)",
        "engine box: mev_engine_chains is set by hand, but it is derived from the chain catalogue",
        "engine box: mev_engine_chains ethereum.http_url '10.9.0.1:8545' must be a URL with a scheme",
        "engine box: mev_engine_chains ethereum is listed twice",
        "engine box: mev_engine_cold_wallet 0x000000000000000000000000000000000000dEaD is the zero or a burn address",
    ]
    for wanted in expected:
        assert any(problem.startswith(wanted) for problem in found), f"{wanted!r} not in {found}"
    assert len(found) == len(expected), found


def test_a_hand_written_inventory_without_catalogue(tmp_path):
    """Without mevops_chains, nodes and engines list their chains by hand: mismatches, loopback
    binds, a port collision and the vault are named, and nothing else."""
    group_vars = {
        "all": {
            **{key: value for key, value in VAULT.items() if key != "vault_redis_password"},
            "site_host_security": False,
            "monitoring_node_exporter_listen_address": "0.0.0.0:9100",
            "monitoring_postgres_exporter_listen_address": "0.0.0.0:9187",
            "monitoring_redis_exporter_enabled": False,
            "monitoring_alertmanager_email_enabled": True,
            "emergency_webhooks": [{"name": "chat", "url": "https://chat.example/emergency"}],
        },
        "evm_nodes": {
            "evm_node_chains": [{"name": "ethereum", "client": "anvil", "chain_id": 31337, "http_port": 8545}],
            # Loopback only (the default) while the engine is on the other host.
        },
        "engines": {
            "mev_engine_chains": [
                {"name": "ethereum", "chain_id": 1, "http_url": "http://node:8545"},
                {"name": "polygon", "chain_id": 137, "http_url": "http://node:8547"},
            ],
            "mev_engine_cold_wallet": CHECKSUMMED.lower(),
            "mev_engine_api_host": "0.0.0.0",
            "mev_engine_postgres_dsn": "postgresql://mev_user@node:5432/mev_infrastructure",
            "monitoring_prometheus_listen_address": "0.0.0.0:9090",
            "monitoring_alertmanager_listen_address": "0.0.0.0:9093",
            # Collides with the engine API's default port.
            "redis_port": 8090,
            "vault_mev_engine_api_token": "CHANGE-ME-token",
        },
    }
    inventory = write_inventory(
        tmp_path, {"node": ["evm_nodes", "databases"], "engine": ["engines", "monitoring"]}, group_vars
    )
    rc, found = validate("-i", str(inventory))
    assert rc != 0
    expected = [
        "engine engine: mev_engine_chains ethereum: chain_id 1 but node serve chain_id 31337",
        "engine engine → node/database node, ethereum http 8545: node binds it to loopback only "
        "(evm_node_http_addr=127.0.0.1)",
        "engine engine → node/database node, PostgreSQL 5432: node binds it to loopback only "
        "(postgresql_listen_addresses=localhost)",
        "engine engine: mev_engine_chains polygon is served by no node host",
        "engine engine: mev_engine_cold_wallet 0x70997970c51812dc3a010c7d01b50e0d17dc79c8 is not EIP-55 checksummed "
        f"(expected {CHECKSUMMED})",
        "engine: port 8090/tcp is used twice: Redis and engine API and /metrics",
        "engine: vault variable vault_mev_engine_api_token still holds the example placeholder",
        "engine: vault variable vault_redis_password is missing",
    ]
    for wanted in expected:
        assert any(problem.startswith(wanted) for problem in found), f"{wanted!r} not in {found}"
    assert len(found) == len(expected), found


def test_an_empty_group_and_an_empty_cold_wallet(tmp_path):
    group_vars = box_vars()
    group_vars["all"]["mev_engine_cold_wallet"] = ""
    inventory = write_inventory(tmp_path, {"box": ["evm_nodes", "databases", "engines"]}, group_vars)
    rc, found = validate("-i", str(inventory))
    assert rc != 0
    assert "group monitoring has no host" in found
    assert any(p.startswith("engine box: mev_engine_cold_wallet is empty") for p in found), found


def _broken_production(tmp_path: Path) -> Path:
    """A copy of inventories/production with five classic mistakes planted (see the test)."""
    root = tmp_path / "production"
    shutil.copytree(TOP / "inventories" / "production", root)
    gv = root / "group_vars"

    def extend(name: str, values: dict) -> None:
        path = gv / name
        data = yaml.safe_load(path.read_text()) or {}
        data.update(values)
        path.write_text(yaml.safe_dump(data))

    # 1. The node's firewall written by hand, as the runbooks' UFW lines: 8545/8645 only.
    extend(
        "evm_nodes.yml",
        {
            "firewall_inventory_flows": False,
            "firewall_restricted_services": [
                {"name": "evm-rpc from the engines", "port": 8545, "sources": ["10.0.3.0/24"]},
                {"name": "evm-ws from the engines", "port": 8645, "sources": ["10.0.3.0/24"]},
                {"name": "node exporter", "port": 9100, "sources": ["10.0.4.0/24"]},
            ],
        },
    )
    # 2. A monitoring port missing: the database host admits PostgreSQL and node_exporter only.
    extend(
        "databases.yml",
        {
            "firewall_inventory_flows": False,
            "firewall_restricted_services": [
                {"name": "postgresql from the engines", "port": 5432, "sources": ["10.0.3.0/24"]},
                {"name": "node exporter", "port": 9100, "sources": ["10.0.4.0/24"]},
            ],
        },
    )
    # 3. The engine API on loopback while Prometheus on the monitoring host scrapes it.
    extend("engines.yml", {"mev_engine_api_host": "127.0.0.1"})
    # 4. An L1 URL on loopback across hosts: base moves to a second node host and keeps
    #    pointing at its own loopback for ethereum; 5. optimism takes base's chain id.
    hosts = yaml.safe_load((root / "hosts.yml").read_text())
    hosts["all"]["children"]["evm_nodes"]["hosts"]["mev-node-02"] = {"ansible_host": "10.0.1.12"}
    (root / "hosts.yml").write_text(yaml.safe_dump(hosts))
    chains = yaml.safe_load((gv / "all" / "chains.yml").read_text())["mevops_chains"]
    for chain in chains:
        chain["served_by"] = "mev-node-01"
        if chain["name"] == "base":
            chain.update(served_by="mev-node-02", l1_rpc_url="http://127.0.0.1:8545")
        if chain["name"] == "optimism":
            chain["chain_id"] = 8453
    (gv / "all" / "chains.yml").write_text(yaml.safe_dump({"mevops_chains": chains}))
    return root


def test_broken_copies_of_production_name_each_flow(tmp_path):
    password = tmp_path / "example-password"
    password.write_text(EXAMPLE_PASSWORD)
    rc, found = validate("-i", str(_broken_production(tmp_path)), "--vault-password-file", str(password))
    assert rc != 0
    found = [p for p in found if "still holds the example placeholder" not in p and "cold_wallet is empty" not in p]
    expected = [
        # 1. every chain but ethereum dropped by the node's hand-written rules
        *[
            f"engine mev-engine-01 → node mev-node-01, {name} http {port}: dropped by the node host's firewall"
            for name, port in (("polygon", 8547), ("arbitrum", 8548), ("optimism", 8549), ("avalanche", 8550))
        ],
        *[
            f"engine mev-engine-01 → node mev-node-01, {name} ws {port}: dropped by the node host's firewall"
            for name, port in (("polygon", 8647), ("arbitrum", 8648), ("optimism", 8649))
        ],
        # base moved to a second node host with the same hand-written rules
        "engine mev-engine-01 → node mev-node-02, base http 8546: dropped by the node host's firewall",
        "engine mev-engine-01 → node mev-node-02, base ws 8646: dropped by the node host's firewall",
        # and its L1 beacon from the other node host is dropped there
        "node mev-node-02 → node mev-node-01, ethereum beacon API 5052 (base's l1_beacon_url): dropped by the node "
        "host's firewall",
        # 2. the database host's exporter
        "monitoring mev-mon-01 → database mev-db-01, postgres_exporter 9187: dropped by the database host's firewall",
        # 3. the API on loopback, scraped and called from elsewhere
        "monitoring mev-mon-01 → engine mev-engine-01, engine API and /metrics 8090: mev-engine-01 binds it to "
        "loopback only (mev_engine_api_host=127.0.0.1)",
        "management networks (the controller, operators) → engine mev-engine-01, engine API and /metrics 8090: "
        "mev-engine-01 binds it to loopback only (mev_engine_api_host=127.0.0.1)",
        # 4. the L1 URL on loopback across hosts
        "mevops_chains base: l1_rpc_url http://127.0.0.1:8545 is on loopback, but the L1 is not served on mev-node-02",
        # 5. the duplicate chain id
        "mevops_chains optimism: chain_id 8453 is also base's (duplicate chain id)",
    ]
    for wanted in expected:
        assert any(problem.startswith(wanted) for problem in found), f"{wanted!r} not in {found}"
    assert len(found) == len(expected), found


def test_the_devnet_inventory_passes():
    devnet = TOP / "inventories" / "devnet"
    rc, message = validate("-i", str(devnet), "--vault-password-file", str(devnet / "vault-password.txt"))
    assert rc == 0, message
    assert message.startswith("The inventory is sound: 4 host(s)")


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_shipped_examples_fail_only_on_their_placeholders(environment, tmp_path):
    """The committed production and staging vaults hold placeholders (encrypted with the
    documented example password) and the cold wallet is left empty: those, and only those,
    are reported until an operator fills them in."""
    password = tmp_path / "example-password"
    password.write_text(EXAMPLE_PASSWORD)
    rc, found = validate("-i", str(TOP / "inventories" / environment), "--vault-password-file", str(password))
    assert rc != 0
    assert found
    for problem in found:
        assert "still holds the example placeholder" in problem or "mev_engine_cold_wallet is empty" in problem, problem
    assert sum("mev_engine_cold_wallet is empty" in p for p in found) == 1
    assert sum("vault_mev_engine_api_token" in p for p in found) == 1
