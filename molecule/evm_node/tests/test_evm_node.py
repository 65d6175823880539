"""Verify evm_node with two anvil chains: units active and sandboxed, right chain ids,
blocks mined, and the sync gate opening on them and naming a chain that is down."""

from __future__ import annotations

import json
import time

import pytest

testinfra_hosts = ["ansible://mevops-evm-node"]

CHAINS = {"ethereum": (8545, 1), "base": (8546, 8453)}
ANVIL_SHA256 = "10c1c727d6c1de973aeb160e59875b9a9a23464d6e74149ee8abb30b3500311b"

# JSON-RPC from inside the container, with the Python it already has (no curl there).
RPC = (
    "import json, sys, urllib.request;"
    "req = urllib.request.Request(sys.argv[1], json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': sys.argv[2],"
    " 'params': []}).encode(), {'Content-Type': 'application/json'});"
    "print(json.load(urllib.request.urlopen(req, timeout=5))['result'])"
)


def rpc(host, port: int, method: str) -> str:
    return host.check_output(f'python3 -c "{RPC}" http://127.0.0.1:{port} {method}')


def endpoints() -> list[dict]:
    return [{"name": name, "url": f"http://127.0.0.1:{port}", "chain_id": cid} for name, (port, cid) in CHAINS.items()]


def sync_wait(host, timeout: float) -> dict:
    """The gate's result, failed or not (testinfra's ansible runner does not always keep `failed`)."""
    args = json.dumps({"endpoints": endpoints(), "max_head_age": 10, "timeout": timeout, "poll_interval": 1})
    try:
        return host.ansible("mevops.infra.evm_sync_wait", args, check=False)
    except host.ansible.AnsibleException as exc:
        return exc.result


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_unit_is_active_enabled_and_runs_as_the_service_user(host, chain):
    unit = f"{chain}-anvil"
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled
    props = dict(
        line.split("=", 1)
        for line in host.check_output(
            f"systemctl show {unit} -p User -p Restart -p LimitNOFILE -p ProtectSystem -p NoNewPrivileges"
            " -p PrivateTmp -p ProtectHome -p ReadWritePaths -p MainPID"
        ).splitlines()
    )
    assert props["User"] == "evm-node"
    assert props["Restart"] == "on-failure"
    assert props["LimitNOFILE"] == "16384"
    assert props["ProtectSystem"] == "strict"
    assert props["NoNewPrivileges"] == "yes"
    assert props["PrivateTmp"] == "yes"
    assert props["ProtectHome"] == "yes"
    assert props["ReadWritePaths"] == f"/data/{chain}"
    # The process really runs as evm-node, not just the unit file saying so.
    owner = host.check_output(f"ps -o user= -p {props['MainPID']}")
    assert owner == "evm-node"


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_unit_command_line_has_the_chain_settings(host, chain):
    port, chain_id = CHAINS[chain]
    text = host.file(f"/etc/systemd/system/{chain}-anvil.service").content_string
    assert f"--port={port}" in text
    assert f"--chain-id={chain_id}" in text
    assert "--host=127.0.0.1" in text
    assert "--block-time=1" in text
    assert host.check_output(f"systemd-analyze verify /etc/systemd/system/{chain}-anvil.service 2>&1 || true") == ""


def test_anvil_binary_is_the_pinned_one(host):
    binary = host.file("/opt/evm-node/bin/anvil")
    assert binary.mode == 0o755
    assert binary.user == "root"
    assert host.check_output("sha256sum /opt/evm-node/bin/anvil").split()[0] == ANVIL_SHA256


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_data_dir_belongs_to_the_service_user(host, chain):
    data = host.file(f"/data/{chain}")
    assert data.is_directory
    assert data.user == "evm-node"
    assert data.mode == 0o750


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_rpc_listens_on_loopback_only(host, chain):
    port, _chain_id = CHAINS[chain]
    assert host.socket(f"tcp://127.0.0.1:{port}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_node_answers_with_its_chain_id(host, chain):
    port, chain_id = CHAINS[chain]
    assert int(rpc(host, port, "eth_chainId"), 16) == chain_id


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_node_mines_blocks(host, chain):
    port, _chain_id = CHAINS[chain]
    first = int(rpc(host, port, "eth_blockNumber"), 16)
    time.sleep(2.5)
    assert int(rpc(host, port, "eth_blockNumber"), 16) > first


def test_sync_gate_opens_on_both_chains(host):
    result = sync_wait(host, timeout=30)
    assert result["ready"] is True, result.get("msg")
    assert set(result["endpoints"]) == set(CHAINS)
    assert all(endpoint["problems"] == [] for endpoint in result["endpoints"].values())


def test_sync_gate_names_the_chain_whose_node_is_stopped(host):
    host.check_output("systemctl stop base-anvil")
    try:
        result = sync_wait(host, timeout=3)
        assert result["ready"] is False
        assert result["endpoints"]["ethereum"]["ready"] is True
        message = result["msg"]
        assert "1 of 2 chains not ready" in message
        assert "base (http://127.0.0.1:8546): unreachable: connection refused" in message
        assert "ethereum" not in message
    finally:
        host.check_output("systemctl start base-anvil")
    # Back up: the gate opens again, so the next verify or converge starts from a clean state.
    assert sync_wait(host, timeout=30)["ready"] is True
