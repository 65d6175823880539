"""The whole engine on a devnet: pools deployed with an imbalance -> detection ->
calculation records the opportunity -> execution submits only while trading is
enabled -> the transaction reaches a receipt with real profit. Trading state survives
a component restart; cancel and withdraw move real funds."""

from __future__ import annotations

import re
import time
from typing import Any

import psycopg
from devnet import ETH, Devnet, wait_for
from test_crash_safety import unrecorded_gauge

from mev_engine.components.execution import AUDIT_SECONDS

ALL = ("detection", "calculation", "execution", "monitoring")


def rows(db: psycopg.Connection[Any], query: str, *params: Any) -> list[tuple[Any, ...]]:
    return db.execute(query, params).fetchall()  # type: ignore[arg-type]


def metric(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def audit_quiet(api: Any, address: str) -> None:
    """Two wallet audit rounds after the last transaction: every mined nonce is the engine's."""
    time.sleep(2 * AUDIT_SECONDS + 0.5)
    assert unrecorded_gauge(api.call("GET", "/metrics").text, address) == 0, api.log("execution")
    assert "did not send" not in api.log("execution")


def test_arbitrage_end_to_end(engine: Any, devnet: Devnet, funded_hot: Any, db: Any, node: Any) -> None:
    pools = devnet.setup_pools(funded_hot.address)
    api = engine(ALL, pools=pools)
    wait_for(lambda: api.call("GET", "/health/ready").status_code == 200, 30, "ready", api)

    # Cold start: trading disabled. An imbalance is found and recorded, nothing is sent.
    devnet.imbalance(pools)
    found = wait_for(
        lambda: rows(db, "SELECT id, status, profit_estimate, details FROM mev.opportunities"),
        20,
        "an opportunity",
        api,
    )
    assert found[0][1] == "detected"  # profitable, not forwarded: trading is disabled
    assert found[0][2] > 0
    assert found[0][3]["pool_buy"] == pools.pool_b.address  # WETH buys more TUSD on B, TUSD more WETH on A
    node.mine(2)
    wait_for(lambda: len(rows(db, "SELECT 1 FROM mev.opportunities")) >= 2, 20, "more opportunities", api)
    assert rows(db, "SELECT count(*) FROM mev.transactions") == [(0,)]
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == 1  # only the executor deployment

    # Enable: the next head produces an order, execution submits, the receipt shows profit.
    inventory = pools.base.functions.balanceOf(pools.executor.address).call()
    assert api.call("POST", "/api/v1/trading/enable").status_code == 200
    node.mine(1)
    confirmed = wait_for(
        lambda: rows(
            db, "SELECT tx_hash, profit_amount, opportunity_id FROM mev.transactions WHERE status = 'confirmed'"
        ),
        30,
        "a confirmed arbitrage transaction",
        api,
    )
    tx_hash, net_profit, opportunity_id = confirmed[0]
    receipt = devnet.w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    assert receipt["to"] == pools.executor.address
    gained = pools.base.functions.balanceOf(pools.executor.address).call() - inventory
    gas_cost = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert gained > 0
    assert net_profit == gained - gas_cost
    assert rows(db, "SELECT status FROM mev.opportunities WHERE id = %s", opportunity_id) == [("executed",)]
    assert rows(db, "SELECT gross_profit_wei, gas_cost_wei FROM mev.profits") == [(gained, gas_cost)]
    # The arbitrage closed the gap: no new profitable opportunity on the next heads.
    node.mine(2)

    def settled_metrics() -> str | None:
        text = api.call("GET", "/metrics").text
        done = 'mev_executions_total{chain="ethereum"' in text and "mev_bundle_success_rate{" in text
        return text if done and metric(text, "mev_pending_transactions", 'chain="ethereum"') == 0 else None

    metrics = wait_for(settled_metrics, 15, "execution metrics", api)
    assert (
        metric(metrics, "mev_executions_total", 'chain="ethereum",status="confirmed",strategy="v2_cross_pool_arb"') == 1
    )
    assert metric(metrics, "mev_profit_eth_total", 'chain="ethereum",strategy="v2_cross_pool_arb"') > 0
    assert metric(metrics, "mev_detection_latency_seconds_count", 'chain="ethereum"') >= 5
    assert metric(metrics, "mev_candidates_total", 'chain="ethereum",kind="head"') >= 5
    assert metric(metrics, "mev_candidates_total", 'chain="ethereum",kind="pending_tx"') >= 1
    assert metric(metrics, "mev_bundle_success_rate", 'chain="ethereum"') == 1.0
    assert metric(metrics, "mev_chain_head_block", 'chain="ethereum"') == devnet.w3.eth.block_number
    for component in ALL:
        assert metric(metrics, "mev_component_up", f'component="{component}"') == 1.0
    assert len(rows(db, "SELECT 1 FROM mev.transactions")) == 1

    # Trading state survives a restart of execution (and of every other component).
    for component in ("execution", "calculation"):
        assert api.stop(component) == 0
        api.start(component)
    assert api.call("GET", "/api/v1/status").json()["trading"]["state"] == "enabled"

    # Disable (graceful): a new imbalance is recorded but nothing is submitted.
    assert api.call("POST", "/api/v1/trading/disable").json()["trading"]["enabled"] is False
    before = len(rows(db, "SELECT 1 FROM mev.opportunities"))
    devnet.imbalance(pools)
    wait_for(
        lambda: (
            rows(db, "SELECT 1 FROM mev.opportunities WHERE status = 'detected'")
            and len(rows(db, "SELECT 1 FROM mev.opportunities")) > before
        ),
        30,
        "an opportunity while disabled",
        api,
    )
    node.mine(3)
    wait_for(lambda: len(rows(db, "SELECT 1 FROM mev.opportunities")) > before + 2, 20, "more opportunities", api)
    assert len(rows(db, "SELECT 1 FROM mev.transactions")) == 1
    assert api.call("GET", "/api/v1/transactions", status="pending").json()["count"] == 0
    audit_quiet(api, funded_hot.address)  # the executor's deployment is history, the arbitrage the engine's


def test_cancel_replaces_every_pending_nonce(engine: Any, devnet: Devnet, funded_hot: Any, db: Any) -> None:
    api = engine(("execution", "monitoring"))
    api.wait_up("execution")
    devnet.rpc("evm_setAutomine", [False])
    victim = devnet.w3.eth.account.create().address
    gas_price = devnet.w3.eth.gas_price
    sent = []
    for nonce in range(3):
        tx = {"to": victim, "value": ETH, "gas": 21000, "gasPrice": gas_price, "nonce": nonce, "chainId": 31337}
        sent.append(devnet.w3.eth.send_raw_transaction(funded_hot.sign_transaction(tx).raw_transaction).hex())
    answer = api.call("POST", "/api/v1/transactions/cancel", {"chain": "ethereum"})
    assert answer.status_code == 200, answer.text + api.log("execution")
    cancelled = answer.json()["cancelled"]
    assert answer.json()["failed"] == []
    assert [c["nonce"] for c in cancelled] == [0, 1, 2]
    assert all(c["max_fee_per_gas"] > gas_price for c in cancelled)
    assert api.call("GET", "/api/v1/transactions", status="pending").json()["count"] == 3
    devnet.rpc("evm_mine", [])
    # The replacements were mined, the originals were not: the victim got nothing.
    for item in cancelled:
        receipt = devnet.w3.eth.get_transaction_receipt(item["tx_hash"])
        assert receipt["status"] == 1
        assert receipt["to"] == funded_hot.address
    assert devnet.w3.eth.get_balance(victim) == 0
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == 3
    wait_for(
        lambda: api.call("GET", "/api/v1/transactions", status="pending").json()["count"] == 0, 15, "receipts", api
    )
    assert rows(db, "SELECT count(*) FROM mev.transactions WHERE status = 'confirmed'") == [(3,)]
    audit_quiet(api, funded_hot.address)  # signed outside, never mined: the mined nonces are the cancels


def test_withdraw_sweeps_to_the_cold_wallet_only(
    engine: Any, devnet: Devnet, funded_hot: Any, cold_wallet: str, db: Any
) -> None:
    """The hot wallet and the executor it owns (token inventory and ETH) are emptied into the cold
    wallet, the amounts read from the chain."""
    pools = devnet.setup_pools(funded_hot.address)
    inventory = pools.base.functions.balanceOf(pools.executor.address).call()
    devnet.fund(pools.executor.address, ETH)
    api = engine(("execution", "monitoring"), pools=pools)
    api.wait_up("execution")
    assert api.call("POST", "/api/v1/trading/enable").status_code == 200
    refused = api.call("POST", "/api/v1/wallet/withdraw", {"chain": "ethereum"})
    assert refused.status_code == 409  # never while trading
    assert api.call("POST", "/api/v1/emergency/stop").status_code == 200
    elsewhere = api.call("POST", "/api/v1/wallet/withdraw", {"chain": "ethereum", "to": funded_hot.address})
    assert elsewhere.status_code == 403
    answer = api.call("POST", "/api/v1/wallet/withdraw", {"chain": "ethereum", "to": cold_wallet})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["to"] == cold_wallet
    moved = {(c["contract"], c["token"]): int(c["amount"]) for c in result["contracts"]}
    assert moved == {(pools.executor.address, pools.base.address): inventory, (pools.executor.address, None): ETH}
    assert [c["status"] for c in result["contracts"]] == ["mined", "mined"]
    for tx_hash in [c["tx_hash"] for c in result["contracts"]] + [result["tx_hash"]]:
        assert devnet.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)["status"] == 1
    assert devnet.w3.eth.get_balance(cold_wallet) == int(result["amount_wei"]) + ETH
    assert pools.base.functions.balanceOf(cold_wallet).call() == inventory
    assert pools.base.functions.balanceOf(pools.executor.address).call() == 0
    assert devnet.w3.eth.get_balance(pools.executor.address) == 0
    # The hot wallet's transfer was priced after the owner calls were mined: nothing stays.
    assert devnet.w3.eth.get_balance(funded_hot.address) == 0
    wait_for(
        lambda: (
            rows(db, "SELECT status, value_wei FROM mev.transactions ORDER BY nonce")
            == [("confirmed", 0), ("confirmed", 0), ("confirmed", int(result["amount_wei"]))]
        ),
        15,
        "the withdrawals recorded as confirmed",
        api,
    )
    audit_quiet(api, funded_hot.address)
