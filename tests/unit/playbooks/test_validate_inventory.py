"""playbooks/validate_inventory.yml against small inventories written to tmp_path (each
problem named in the one failure), and against the three shipped inventories."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from tests.unit.playbook import TOP, run_playbook

PLAYBOOK = "playbooks/validate_inventory.yml"
CHECKSUMMED = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
VAULT = {
    "vault_postgresql_app_password": "pg-secret",
    "vault_redis_password": "redis-secret",
    "vault_mev_engine_api_token": "t" * 40,
    "vault_mev_engine_keystore_password": "ks-secret",
    "vault_backup_repo_cipher_pass": "p" * 24,
    "vault_backup_archive_identity": "AGE-SECRET-KEY-1EXAMPLE",
}


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


def good_vars() -> dict:
    return {
        "all": {
            **VAULT,
            "evm_node_chains": [{"name": "ethereum", "client": "anvil", "chain_id": 31337, "http_port": 8545}],
            "mev_engine_chains": [
                {
                    "name": "ethereum",
                    "chain_id": 31337,
                    "http_url": "http://127.0.0.1:8545",
                    "ws_url": "ws://127.0.0.1:8545",
                }
            ],
            "mev_engine_cold_wallet": CHECKSUMMED,
        }
    }


ALL_GROUPS = ["evm_nodes", "databases", "engines", "monitoring"]


def test_a_sound_single_host_inventory_passes(tmp_path):
    inventory = write_inventory(tmp_path, {"box": ALL_GROUPS}, good_vars())
    rc, message = validate("-i", str(inventory))
    assert rc == 0, message
    assert message.startswith("The inventory is sound: 1 host(s)")


def test_every_problem_is_listed_in_one_failure(tmp_path):
    """Two hosts, each problem planted once: all are named, and nothing else."""
    group_vars = {
        "all": {key: value for key, value in VAULT.items() if key != "vault_redis_password"},
        "evm_nodes": {
            "evm_node_chains": [{"name": "ethereum", "client": "anvil", "chain_id": 31337, "http_port": 8545}],
            # Loopback only (the default) while the engine is on the other host.
        },
        "engines": {
            "mev_engine_chains": [
                {"name": "ethereum", "chain_id": 1, "http_url": "http://node:8547"},
                {"name": "polygon", "chain_id": 137, "http_url": "http://node:8547"},
            ],
            "mev_engine_cold_wallet": CHECKSUMMED.lower(),
            "mev_engine_postgres_dsn": "postgresql://mev_user@node:5432/mev_infrastructure",
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
        "engine: mev_engine_chains ethereum: chain_id 1 but the nodes serve chain_id node: 31337",
        "engine: mev_engine_chains ethereum.http_url http://node:8547 uses port 8547, but node serves it on "
        "http_port 8545",
        "engine: mev_engine_chains ethereum.http_url reaches node, whose node listens on 127.0.0.1 only",
        "engine: mev_engine_chains polygon is served by no evm_nodes host",
        "engine: mev_engine_cold_wallet 0x70997970c51812dc3a010c7d01b50e0d17dc79c8 is not EIP-55 checksummed "
        f"(expected {CHECKSUMMED})",
        "engine: mev_engine_postgres_dsn points at node, whose postgresql_listen_addresses is 'localhost'",
        "engine: port 8090 is used twice: redis_port and mev_engine_api_port",
        "engine: vault variable vault_mev_engine_api_token still holds the example placeholder",
        "engine: vault variable vault_redis_password is missing",
    ]
    for wanted in expected:
        assert any(problem.startswith(wanted) for problem in found), f"{wanted!r} not in {found}"
    assert len(found) == len(expected), found


def test_a_port_collision_between_a_chain_and_an_exporter(tmp_path):
    group_vars = good_vars()
    group_vars["all"]["evm_node_chains"][0]["http_port"] = 9100
    group_vars["all"]["mev_engine_chains"][0]["http_url"] = "http://127.0.0.1:9100"
    group_vars["all"]["mev_engine_chains"][0]["ws_url"] = "ws://127.0.0.1:9100"
    inventory = write_inventory(tmp_path, {"box": ALL_GROUPS}, group_vars)
    rc, found = validate("-i", str(inventory))
    assert rc != 0
    assert found == [
        "box: port 9100 is used twice: evm_node_chains ethereum.http_port and monitoring_node_exporter_listen_address"
    ]


def test_an_empty_group_and_an_empty_cold_wallet(tmp_path):
    group_vars = good_vars()
    group_vars["all"]["mev_engine_cold_wallet"] = ""
    inventory = write_inventory(tmp_path, {"box": ["evm_nodes", "databases", "engines"]}, group_vars)
    rc, found = validate("-i", str(inventory))
    assert rc != 0
    assert "group monitoring has no host" in found
    assert any(p.startswith("box: mev_engine_cold_wallet is empty") for p in found), found


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
    password.write_text("example-vault-password\n")
    rc, found = validate("-i", str(TOP / "inventories" / environment), "--vault-password-file", str(password))
    assert rc != 0
    assert found
    for problem in found:
        assert "still holds the example placeholder" in problem or "mev_engine_cold_wallet is empty" in problem, problem
    assert sum("mev_engine_cold_wallet is empty" in p for p in found) == 1
    assert sum("vault_mev_engine_api_token" in p for p in found) == 1
