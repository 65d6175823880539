"""Detection alone, over WebSocket and over HTTP polling: heads and pending transactions
reach the candidates stream, with the newest head recorded for the readiness probe."""

from __future__ import annotations

from typing import Any

import pytest
from devnet import Devnet, wait_for


def candidates(redis_client: Any) -> list[dict[str, str]]:
    return [
        {k.decode(): v.decode() for k, v in fields.items()} for _id, fields in redis_client.xrange("mev:candidates")
    ]


@pytest.mark.parametrize("ws", [True, False], ids=["websocket", "polling"])
def test_heads_and_pending_transactions_become_candidates(
    ws: bool, engine: Any, devnet: Devnet, node: Any, redis_client: Any
) -> None:
    api = engine(("detection",), ws=ws)
    wait_for(lambda: redis_client.exists("mev:chain:ethereum"), 30, "the first head", api)
    devnet.rpc("evm_setAutomine", [False])
    tx_hash = devnet.w3.eth.send_transaction({"from": devnet.dev, "to": devnet.w3.eth.accounts[1], "value": 1}).hex()
    tx_hash = "0x" + tx_hash.removeprefix("0x")
    node.mine(1)
    head = node.head()

    def seen() -> list[dict[str, str]] | None:
        found = candidates(redis_client)
        heads = {int(c["block_number"]) for c in found if c["kind"] == "head"}
        pending = {c["tx_hash"] for c in found if c["kind"] == "pending_tx"}
        return found if head in heads and tx_hash in pending else None

    found = wait_for(seen, 20, f"head {head} and pending {tx_hash}", api)
    newest = next(c for c in found if c["kind"] == "head" and int(c["block_number"]) == head)
    assert newest["chain"] == "ethereum"
    assert float(newest["seen_at"]) > 0
    assert redis_client.hget("mev:chain:ethereum", "block_number") == str(head).encode()
    base_fee = int(devnet.w3.eth.get_block(head)["baseFeePerGas"])
    assert newest["base_fee_per_gas"] == str(base_fee)  # what execution prices with
    assert redis_client.hget("mev:chain:ethereum", "base_fee_per_gas") == str(base_fee).encode()
