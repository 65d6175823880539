"""Emergency stop is immediate: queued orders are discarded, execution refuses new ones;
enabling again lets orders through."""

from __future__ import annotations

import json
import time
from typing import Any

from devnet import Devnet, wait_for

from mev_engine.state import ENABLED, write_state


def queue_order(redis_client: Any, db: Any, target: str) -> int:
    """An order the way calculation writes one (a plain call to an address, always succeeds)."""
    row = db.execute(
        "INSERT INTO mev.opportunities (chain, strategy_type, status, profit_estimate) "
        "VALUES ('ethereum', 'test', 'active', 1) RETURNING id, detected_at"
    ).fetchone()
    redis_client.xadd(
        "mev:orders",
        {
            "opportunity_id": str(row[0]),
            "detected_at": row[1].isoformat(),
            "chain": "ethereum",
            "strategy": "test",
            "to": target,
            "data": "0x",
            "gas_limit": "50000",
            "gross_profit_wei": "1",
            "net_profit_wei": "1",
            "block_number": "1",
            "created_at": f"{time.time():.6f}",
            "details": json.dumps({}),
        },
    )
    return int(row[0])


def sent(db: Any) -> list[tuple[Any, ...]]:
    return db.execute("SELECT opportunity_id, status FROM mev.transactions ORDER BY id").fetchall()


def test_emergency_stop_discards_queued_orders(
    engine: Any, devnet: Devnet, funded_hot: Any, redis_client: Any, db: Any
) -> None:
    api = engine(("monitoring",))
    target = devnet.w3.eth.accounts[3]
    assert api.call("POST", "/api/v1/trading/enable").status_code == 200
    queue_order(redis_client, db, target)
    assert redis_client.xlen("mev:orders") == 1
    assert api.call("POST", "/api/v1/emergency/stop").json()["trading"]["state"] == "emergency_stop"
    assert redis_client.xlen("mev:orders") == 0  # discarded, never executed

    api.start("execution")
    api.wait_up("execution")
    queue_order(redis_client, db, target)
    time.sleep(2)
    assert sent(db) == []
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == 0

    assert api.call("POST", "/api/v1/trading/enable").status_code == 200
    opportunity = queue_order(redis_client, db, target)
    wait_for(lambda: sent(db) == [(opportunity, "confirmed")], 20, "the order executed once enabled", api)
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == 1
    status = db.execute("SELECT status FROM mev.opportunities WHERE id = %s", (opportunity,)).fetchone()
    assert status == ("executed",)
    # No Arbitrage event: gross 0, so the gas paid is a realised loss, counted as such.
    assert db.execute("SELECT gross_profit_wei > 0, gas_cost_wei > 0 FROM mev.profits").fetchall() == [(False, True)]

    def loss() -> float:
        text = api.call("GET", "/metrics").text
        line = [x for x in text.splitlines() if x.startswith('mev_loss_eth_total{chain="ethereum",strategy="test"}')]
        return float(line[0].split()[-1]) if line else 0.0

    assert wait_for(lambda: loss() > 0, 10, "the loss on /metrics", api)


def test_a_stop_recorded_on_the_host_keeps_a_hand_started_engine_from_trading(
    engine: Any, devnet: Devnet, funded_hot: Any, redis_client: Any, db: Any, tmp_path: Any, node: Any
) -> None:
    """The API-down fallback stopped mev-execution and recorded the stop on the host while the
    state in Redis still said enabled. Started again by hand, with a profitable opportunity on
    the chain, the engine sends nothing and reports emergency_stop; an operator's enable (through
    the API) removes the record and trading resumes."""
    pools = devnet.setup_pools(funded_hot.address)
    write_state(redis_client, ENABLED, "trading when the incident began")
    stop = tmp_path / "emergency-stop.json"  # engine_config's stop_file for this test
    stop.write_text(json.dumps({"reason": "API down during INC-7", "at": time.time(), "incident": "INC-7"}))
    nonce = devnet.w3.eth.get_transaction_count(funded_hot.address)

    api = engine(("detection", "calculation", "execution", "monitoring"), pools=pools)
    api.wait_up("execution")
    devnet.imbalance(pools)
    wait_for(
        lambda: db.execute("SELECT count(*) FROM mev.opportunities WHERE profit_estimate > 0").fetchone()[0] > 0,
        20,
        "a profitable opportunity detected",
        api,
    )
    time.sleep(3)  # time for an order to go through calculation and execution, were trading on
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == nonce, "a transaction was sent"
    assert sent(db) == []
    trading = api.call("GET", "/api/v1/status").json()["trading"]
    assert trading["state"] == "emergency_stop"
    assert "API down during INC-7" in trading["reason"]
    assert stop.exists()

    assert api.call("POST", "/api/v1/trading/enable", {"reason": "incident closed"}).status_code == 200
    assert not stop.exists()
    node.mine(1)  # the next head makes a new order (orders from before the enable are dropped)
    wait_for(lambda: sent(db), 30, "the opportunity traded once an operator enabled trading", api)
