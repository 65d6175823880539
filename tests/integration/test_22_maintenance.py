"""Planned maintenance against the devnet: trading comes back as it was (enabled before →
enabled after; disabled before → disabled after), and a transaction in flight when the
window opens is mined, not lost, before the units stop."""

from __future__ import annotations

import json
import threading
import time

import pytest
from devnet_hosts import KEYSTORE

ENGINE = "mevops-devnet-engine"
NODE = "mevops-devnet-node"
MON = "mevops-devnet-mon"


def optional(devnet, host: str, name: str, default):
    """An inventory variable, or the role default it falls back to when the inventory has none
    (the fixture reads such a variable as null)."""
    value = devnet.hostvars(host, name)[name]
    return default if value is None else value


def trading_state(devnet) -> str:
    status, body = devnet.api("GET", "/api/v1/status")
    assert status == 200, body
    return body["trading"]["state"]


def test_maintenance_leaves_enabled_trading_enabled(devnet, devnet_ready):
    status, body = devnet.api("POST", "/api/v1/trading/enable", json={"reason": "test_22 before maintenance"})
    assert status == 200, body
    try:
        done = devnet.playbook("maintenance.yml", extra_vars={"maintenance_tasks": ["logs"]})
        assert done.returncode == 0, done.stdout[-4000:]
        assert trading_state(devnet) == "enabled"
        for unit in ("mev-monitoring", "mev-detection", "mev-calculation", "mev-execution"):
            assert devnet.exec(ENGINE, "systemctl", "is-active", f"{unit}.service").stdout.strip() == "active"
        # The window's silence is gone again (Alertmanager on the monitoring host).
        silences = devnet.exec(
            MON,
            "python3",
            "-c",
            "import sys, urllib.request;print(urllib.request.urlopen(sys.argv[1]).read().decode())",
            f"http://{devnet.target('alertmanager', MON)}/api/v2/silences",
        )
        active = [s for s in json.loads(silences.stdout) if s["status"]["state"] == "active"]
        assert not [s for s in active if s["comment"] == "mevops planned maintenance"]
    finally:
        devnet.api("POST", "/api/v1/trading/disable", json={"reason": "test_22 done"})


@pytest.fixture
def hot_wallet_refunded(devnet):
    """The hot wallet's address on the first chain, its balance given back after the test
    (the withdrawal sweeps it to the cold wallet)."""
    chain = devnet.chains()[0]["name"]
    keystore = optional(devnet, ENGINE, "mev_engine_keystore_path", KEYSTORE)
    hot = "0x" + json.loads(devnet.exec(ENGINE, "cat", keystore).stdout)["address"].removeprefix("0x")
    balance = devnet.rpc(chain, "eth_getBalance", [hot, "latest"])
    devnet.rpc(chain, "anvil_setBalance", [hot, hex(10 * 10**18)])  # something to withdraw, whatever came before
    yield chain, hot
    devnet.rpc(chain, "anvil_setBalance", [hot, balance])


def test_maintenance_waits_for_the_transaction_in_flight(devnet, devnet_ready, hot_wallet_refunded):
    assert trading_state(devnet) == "disabled"
    chain, _hot = hot_wallet_refunded
    block_time = int(optional(devnet, NODE, "evm_node_block_time", 1))
    # Hold the chain's blocks so the withdrawal stays in flight while the window opens.
    devnet.rpc(chain, "evm_setIntervalMining", [0])
    try:
        # The engine first empties the executor it owns there and waits for those withdrawals (at most
        # 30 s, here they cannot be mined): the answer comes after that wait.
        status, body = devnet.api("POST", "/api/v1/wallet/withdraw", json={"chain": chain}, timeout=60)
        assert status == 200, body
        tx_hash = body["tx_hash"]
        assert devnet.rpc(chain, "eth_getTransactionReceipt", [tx_hash]) is None
        started = time.time()
        result = {}
        run = threading.Thread(
            target=lambda: result.update(done=devnet.playbook("maintenance.yml", extra_vars={"maintenance_tasks": []}))
        )
        run.start()
        time.sleep(12)  # the playbook is waiting for the transaction by now (or still getting there)
        held_at = int(devnet.rpc(chain, "eth_blockNumber", []), 16)
        assert devnet.rpc(chain, "eth_getTransactionReceipt", [tx_hash]) is None
    finally:
        devnet.rpc(chain, "evm_setIntervalMining", [block_time])
    run.join(timeout=600)
    done = result["done"]
    assert done.returncode == 0, done.stdout[-4000:]
    receipt = devnet.rpc(chain, "eth_getTransactionReceipt", [tx_hash])
    assert receipt is not None and int(receipt["status"], 16) == 1
    assert int(receipt["blockNumber"], 16) > held_at  # mined after the window opened
    mined_at = int(devnet.rpc(chain, "eth_getBlockByNumber", [receipt["blockNumber"], False])["timestamp"], 16)
    # The engine followed it to its receipt: recorded as done, not pending or dropped.
    status, listing = devnet.api("GET", f"/api/v1/transactions?chain={chain}&limit=50")
    assert status == 200, listing
    [row] = [r for r in listing["transactions"] if r["hash"].lower() == tx_hash.lower()]
    assert row["status"] == "confirmed", row
    # mev-execution stopped only after the transaction was mined.
    stops = devnet.exec(
        ENGINE,
        "journalctl",
        "--unit=mev-execution.service",
        "--output=short-unix",
        "--no-pager",
        f"--since=@{int(started)}",
        "--grep=Stopping",
    ).stdout.split()
    assert stops, "mev-execution was not stopped by the maintenance"
    assert float(stops[0]) >= mined_at
    assert trading_state(devnet) == "disabled"
