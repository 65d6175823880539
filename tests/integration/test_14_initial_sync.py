"""Initial-sync mode on the devnet: a chain whose first sync is not recorded and whose head is
stale (its anvil stops mining: the shape of a new node with no peers yet) makes cold_start.yml
refuse, naming the chain and its progress, before it touches anything else; node_sync.yml
reports every chain and records the first sync once the chain is synced again."""

from __future__ import annotations

import time

from conftest import NODE_HOST

CHAIN = "polygon"
MARKER = ".mevops-first-sync"  # roles/evm_node/vars/main.yml _evm_node_first_sync_marker


def test_cold_start_refuses_a_chain_never_synced_then_node_sync_records_it(devnet_ready):
    devnet = devnet_ready
    data_root = devnet.hostvars(NODE_HOST, "evm_node_data_root")["evm_node_data_root"] or "/data"
    marker = f"{data_root}/{CHAIN}/{MARKER}"
    devnet.exec(NODE_HOST, "test", "-f", marker)  # site.yml / cold_start.yml recorded it
    units_before = devnet.inactive_units()

    devnet.rpc(CHAIN, "evm_setIntervalMining", [0])
    try:
        devnet.exec(NODE_HOST, "rm", "-f", marker)
        time.sleep(3)  # the head must be older than the 2 s allowed below
        run = devnet.playbook("cold_start.yml", extra_vars={"evm_node_sync_max_head_age": 2})
        output = run.stdout + run.stderr
        assert run.returncode != 0, output[-4000:]
        assert f"{CHAIN} has not finished its first sync (not syncing but its head is" in output, output[-4000:]
        assert "mevops.infra.node_sync" in output, output[-4000:]
        # Refused before the engine was touched: nothing stopped, trading untouched.
        assert devnet.inactive_units() == units_before
        assert devnet.trading_state() == "disabled"
        assert devnet.exec(NODE_HOST, "test", "-f", marker, check=False).returncode != 0
    finally:
        devnet.rpc(CHAIN, "evm_setIntervalMining", [1])

    run = devnet.playbook("node_sync.yml")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    for chain in devnet.chains():
        assert f"{chain['name']}: synced at block" in output, output[-4000:]
    assert "first sync not done yet" not in output
    devnet.exec(NODE_HOST, "test", "-f", marker)
