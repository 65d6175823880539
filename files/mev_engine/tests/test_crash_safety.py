"""Crash safety on real parts (PostgreSQL, Redis, anvil, the components as processes): stream
entries left unacknowledged by a dead instance are taken over and handled exactly once; a nonce
the node dropped is filled; a broadcast without an answer is resolved from the node; an order
not mined in time is sent again with a fee bump, a bounded number of times."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from devnet import Devnet, wait_for
from prometheus_client.parser import text_string_to_metric_families

from mev_engine import streams
from mev_engine.components.execution import AUDIT_SECONDS
from mev_engine.state import ENABLED, write_state

CRASHED = "crashed-host"  # the consumer name of an instance that died with entries in hand
HOST = socket.gethostname()  # the components' consumer name: a restart resumes its own entries


def rows(db: Any, query: str, *params: Any) -> list[tuple[Any, ...]]:
    return db.execute(query, params).fetchall()  # type: ignore[no-any-return]


def counter(redis: Any, component: str, name: str, **labels: str) -> float:
    """A counter's value in the exposition the component last published to Redis."""
    text = redis.get(f"mev:metrics:{component}")
    for family in text_string_to_metric_families(text.decode() if text else ""):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def unrecorded_gauge(text: str, address: str) -> float | None:
    """mev_wallet_unrecorded_transactions of the hot wallet on the test chain in an exposition,
    None when the series is not there (the audit has not run)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "mev_wallet_unrecorded_transactions" and sample.labels == {
                "chain": "ethereum",
                "address": address,
            }:
                return float(sample.value)
    return None


def audit_quiet(redis: Any, api: Any, address: str) -> None:
    """Two wallet audit rounds after the last transaction: every mined nonce is the engine's."""
    time.sleep(2 * AUDIT_SECONDS + 0.5)
    text = redis.get("mev:metrics:execution")
    assert unrecorded_gauge(text.decode() if text else "", address) == 0, api.log("execution")
    assert "did not send" not in api.log("execution")


def enable_trading(redis: Any) -> None:
    streams.ensure_groups(redis)
    write_state(redis, ENABLED, "test")


def start_execution(engine: Any, redis: Any, **options: Any) -> Any:
    api = engine(("execution",), **options)
    wait_for(lambda: redis.exists("mev:metrics:execution"), 60, "execution started", api)
    return api


def order(db: Any, data: str, to: str) -> dict[str, str]:
    """An 'active' opportunity row and its order: a plain call to `to` (simulation succeeds)."""
    ((opportunity_id, detected_at),) = rows(
        db,
        "INSERT INTO mev.opportunities (chain, strategy_type, status, profit_estimate, gas_estimate, block_number)"
        " VALUES ('ethereum', 'test', 'active', 1, 50000, 1) RETURNING id, detected_at",
    )
    fields = {"chain": "ethereum", "strategy": "test", "to": to, "data": data, "gas_limit": "50000",
              "gross_profit_wei": "1", "net_profit_wei": "1", "block_number": "1", "details": "{}"}  # fmt: skip
    now = f"{time.time():.6f}"
    return {"opportunity_id": str(opportunity_id), "detected_at": detected_at.isoformat(), "created_at": now, **fields}


def transactions(db: Any, opportunity: dict[str, str]) -> list[tuple[Any, ...]]:
    """(status, nonce, max fee, priority fee) of an order's transactions, oldest first."""
    return rows(
        db,
        "SELECT status, nonce, max_fee_per_gas, max_priority_fee_per_gas FROM mev.transactions"
        " WHERE opportunity_id = %s ORDER BY id",
        int(opportunity["opportunity_id"]),
    )


def head(devnet: Devnet) -> dict[str, str]:
    block = devnet.w3.eth.get_block("latest")
    return {"chain": "ethereum", "kind": "head", "block_number": str(block["number"]),
            "block_hash": "0x" + bytes(block["hash"]).hex(), "block_timestamp": str(block["timestamp"]),
            "tx_hash": "", "seen_at": f"{time.time():.6f}"}  # fmt: skip


def test_calculation_takes_over_unacknowledged_candidates_once(
    engine: Any, devnet: Devnet, funded_hot: Any, db: Any, redis_client: Any, node: Any
) -> None:
    pools = devnet.setup_pools(funded_hot.address)
    devnet.imbalance(pools)
    enable_trading(redis_client)
    api = engine(("calculation",), pools=pools, claim_idle_seconds=1)
    redis_client.xadd(streams.CANDIDATES, head(devnet))  # A: handled and acknowledged
    wait_for(lambda: redis_client.xlen(streams.ORDERS) == 1, 30, "A's order", api)
    assert api.stop("calculation") == 0
    # A crash after A was recorded and forwarded, before its acknowledgement: A is pending again
    # for this host's consumer.
    redis_client.xgroup_setid(streams.CANDIDATES, "calculation", "0")
    redis_client.xreadgroup("calculation", HOST, {streams.CANDIDATES: ">"})
    # B, a new head, was delivered to an instance that died (another consumer name).
    node.mine(1)
    redis_client.xadd(streams.CANDIDATES, head(devnet))
    assert len(redis_client.xreadgroup("calculation", CRASHED, {streams.CANDIDATES: ">"})[0][1]) == 1
    time.sleep(1.1)  # B idle past redis.claim_idle_seconds
    api.start("calculation")
    wait_for(lambda: redis_client.xlen(streams.ORDERS) == 2, 30, "B's order", api)
    wait_for(lambda: redis_client.xpending(streams.CANDIDATES, "calculation")["pending"] == 0, 15, "acks", api)
    wait_for(
        lambda: counter(redis_client, "calculation", "mev_recoveries_total", action="duplicate_skipped") == 1,
        10,
        "the duplicate counted",
        api,
    )
    # Exactly once: one opportunity per head, one order each.
    found = rows(db, "SELECT block_number, count(*), min(status) FROM mev.opportunities GROUP BY 1 ORDER BY 1")
    assert [(count, status) for _block, count, status in found] == [(1, "active"), (1, "active")]
    assert redis_client.xlen(streams.ORDERS) == 2
    reclaimed = "mev_stream_reclaimed_total"
    assert counter(redis_client, "calculation", reclaimed, stream=streams.CANDIDATES, source="own_pending") == 1
    assert counter(redis_client, "calculation", reclaimed, stream=streams.CANDIDATES, source="idle_consumer") == 1


def test_execution_takes_over_unacknowledged_orders_once(
    engine: Any, devnet: Devnet, funded_hot: Any, db: Any, redis_client: Any
) -> None:
    enable_trading(redis_client)
    api = start_execution(engine, redis_client, claim_idle_seconds=1)
    target = devnet.w3.eth.account.create().address
    x = order(db, "0x01", target)
    redis_client.xadd(streams.ORDERS, x)
    wait_for(lambda: transactions(db, x) and transactions(db, x)[0][0] == "confirmed", 30, "x confirmed", api)
    assert api.stop("execution") == 0
    # x was sent, then the process died before acknowledging it: x is pending again for this host.
    redis_client.xgroup_setid(streams.ORDERS, "execution", "0")
    redis_client.xreadgroup("execution", HOST, {streams.ORDERS: ">"})
    # y and z were taken by an instance that died before sending them.
    y, z = order(db, "0x02", target), order(db, "0x03", target)
    redis_client.xadd(streams.ORDERS, y)
    redis_client.xadd(streams.ORDERS, z)
    assert len(redis_client.xreadgroup("execution", CRASHED, {streams.ORDERS: ">"})[0][1]) == 2
    time.sleep(1.1)
    api = start_execution(engine, redis_client, claim_idle_seconds=1)
    for item in (y, z):
        wait_for(lambda item=item: [t[0] for t in transactions(db, item)] == ["confirmed"], 30, "y, z confirmed", api)
    wait_for(lambda: redis_client.xpending(streams.ORDERS, "execution")["pending"] == 0, 15, "acks", api)
    assert [len(transactions(db, item)) for item in (x, y, z)] == [1, 1, 1]
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == 3
    wait_for(
        lambda: counter(redis_client, "execution", "mev_recoveries_total", action="duplicate_skipped") == 1,
        10,
        "the duplicate counted",
        api,
    )
    reclaimed = "mev_stream_reclaimed_total"
    assert counter(redis_client, "execution", reclaimed, stream=streams.ORDERS, source="own_pending") == 1
    assert counter(redis_client, "execution", reclaimed, stream=streams.ORDERS, source="idle_consumer") == 2


def test_a_nonce_dropped_by_the_node_is_filled(
    engine: Any, devnet: Devnet, funded_hot: Any, db: Any, redis_client: Any
) -> None:
    enable_trading(redis_client)
    api = start_execution(engine, redis_client, trading={"resend_after_seconds": 600})
    devnet.rpc("evm_setAutomine", [False])
    target = devnet.w3.eth.account.create().address
    first = order(db, "0x01", target)
    redis_client.xadd(streams.ORDERS, first)
    wait_for(lambda: transactions(db, first), 30, "the first order sent", api)
    (dropped,) = rows(db, "SELECT tx_hash FROM mev.transactions WHERE nonce = 0")
    devnet.rpc("anvil_dropTransaction", [dropped[0]])  # the node loses nonce 0
    later = [order(db, data, target) for data in ("0x02", "0x03")]
    for item in later:
        redis_client.xadd(streams.ORDERS, item)
    wait_for(lambda: all(transactions(db, item) for item in later), 30, "two later orders sent", api)
    # Orders may be handled side by side: which of the two gets nonce 1 is not fixed.
    assert sorted(transactions(db, item)[0][1] for item in later) == [1, 2]
    devnet.rpc("evm_mine", [])
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == 0  # nonce 0 missing: nothing mines

    filler = "SELECT 1 FROM mev.transactions WHERE nonce = 0 AND lower(to_address) = %s AND opportunity_id IS NULL"
    wait_for(lambda: rows(db, filler, funded_hot.address.lower()), 30, "the gap at nonce 0 filled", api)
    devnet.rpc("evm_mine", [])
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == 3
    for item in later:
        wait_for(lambda item=item: transactions(db, item)[0][0] == "confirmed", 15, "later orders confirmed", api)
    # Its nonce went to the filler; the receipts loop may take the filler's receipt after the later ones'.
    wait_for(lambda: transactions(db, first)[0][0] == "cancelled", 15, "the dropped order cancelled", api)
    wait_for(lambda: counter(redis_client, "execution", "mev_recoveries_total", action="gap_filled") == 1, 10, "metric")
    audit_quiet(redis_client, api, funded_hot.address)  # the filler is recorded: nonce 0 is the engine's


class FlakyNode(ThreadingHTTPServer):
    """A JSON-RPC proxy in front of anvil that loses one eth_sendRawTransaction: `unanswered`
    forwards it, then closes the connection without the node's answer; `lost` closes it without
    forwarding."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), FlakyHandler)
        self.upstream = upstream
        self.mode: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FlakyHandler(BaseHTTPRequestHandler):
    server: FlakyNode

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = json.loads(body)
        mode = None
        if isinstance(request, dict) and request.get("method") == "eth_sendRawTransaction":
            mode, self.server.mode = self.server.mode, None
        if mode == "lost":
            return  # no answer: the connection closes
        answer = requests.post(self.server.upstream, data=body, headers={"Content-Type": "application/json"},
                               timeout=10, proxies={"http": "", "https": ""})  # fmt: skip
        if mode == "unanswered":
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def flaky_node(node: Any) -> Iterator[FlakyNode]:
    server = FlakyNode(node.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_broadcast_without_answer_is_resolved_from_the_node(
    engine: Any, devnet: Devnet, funded_hot: Any, db: Any, redis_client: Any, flaky_node: FlakyNode
) -> None:
    enable_trading(redis_client)
    api = start_execution(engine, redis_client, chain_url=flaky_node.url, ws=False)
    target = devnet.w3.eth.account.create().address

    def send(data: str, mode: str | None, status: str) -> dict[str, str]:
        flaky_node.mode = mode
        item = order(db, data, target)
        redis_client.xadd(streams.ORDERS, item)
        wait_for(lambda: [t[0] for t in transactions(db, item)] == [status], 30, f"{data} {status}", api)
        return item

    # The node took the transaction, its answer was lost: followed as sent, nonce 0 not reused.
    accepted = send("0x01", "unanswered", "confirmed")
    after = send("0x02", None, "confirmed")
    assert [transactions(db, item)[0][1] for item in (accepted, after)] == [0, 1]
    # The request never reached the node: the node does not know it, nonce 2 is free again.
    lost = send("0x03", "lost", "dropped")
    reused = send("0x04", None, "confirmed")
    assert [transactions(db, item)[0][1] for item in (lost, reused)] == [2, 2]
    assert rows(db, "SELECT status FROM mev.opportunities WHERE id = %s", int(lost["opportunity_id"])) == [("failed",)]
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == 3
    for outcome in ("sent", "not_sent"):
        wait_for(
            lambda outcome=outcome: (
                counter(redis_client, "execution", "mev_recoveries_total", action=f"unknown_outcome_{outcome}") == 1
            ),
            10,
            f"unknown_outcome_{outcome} counted",
        )
    audit_quiet(redis_client, api, funded_hot.address)  # nonce 2's dropped row does not hide the one mined


def test_an_order_not_mined_is_sent_again_with_a_fee_bump(
    engine: Any, devnet: Devnet, funded_hot: Any, db: Any, redis_client: Any
) -> None:
    enable_trading(redis_client)
    api = start_execution(engine, redis_client, trading={"resend_after_seconds": 1, "max_resends": 2})
    devnet.rpc("evm_setAutomine", [False])
    item = order(db, "0x01", devnet.w3.eth.account.create().address)
    redis_client.xadd(streams.ORDERS, item)
    wait_for(lambda: len(transactions(db, item)) == 3, 30, "two resends", api)
    time.sleep(2.5)
    sent = transactions(db, item)
    assert len(sent) == 3  # bounded by trading.max_resends
    assert {nonce for _status, nonce, _fee, _tip in sent} == {0}
    for (_s, _n, fee, tip), (_s2, _n2, bumped_fee, bumped_tip) in itertools.pairwise(sent):
        assert bumped_fee * 100 >= fee * 110 and bumped_tip * 100 >= tip * 110  # at least +10 %
    devnet.rpc("evm_mine", [])
    wait_for(
        lambda: sorted(t[0] for t in transactions(db, item)) == ["confirmed", "replaced", "replaced"], 15, "receipt"
    )
    (mined,) = rows(db, "SELECT max_fee_per_gas FROM mev.transactions WHERE status = 'confirmed'")
    assert mined[0] == sent[-1][2]  # the last, highest bid is the one mined
    status = rows(db, "SELECT status FROM mev.opportunities WHERE id = %s", int(item["opportunity_id"]))
    assert status == [("executed",)]
    resends = "mev_recoveries_total"
    wait_for(lambda: counter(redis_client, "execution", resends, action="fee_bump_resend") == 2, 10, "the metric")
    audit_quiet(redis_client, api, funded_hot.address)  # the resend that won is recorded
