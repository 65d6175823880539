"""Execution prices an order from detection's newest head while it is fresh, else asks the node."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from mev_engine.components.execution import HEAD_FEE_MAX_AGE_SECONDS, Executor


def test_base_fee_from_a_fresh_head_only(redis_client: Any) -> None:
    executor: Any = SimpleNamespace(redis=redis_client)
    assert Executor.head_base_fee(executor, "ethereum") is None  # no head yet: the node is asked
    head = {"block_number": "7", "block_timestamp": str(int(time.time())), "base_fee_per_gas": "875000000"}
    redis_client.hset("mev:chain:ethereum", mapping=head)
    assert Executor.head_base_fee(executor, "ethereum") == 875_000_000
    redis_client.hset("mev:chain:ethereum", "block_timestamp", str(int(time.time() - HEAD_FEE_MAX_AGE_SECONDS - 5)))
    assert Executor.head_base_fee(executor, "ethereum") is None  # detection stalled
    redis_client.hset("mev:chain:ethereum", mapping={"block_timestamp": str(int(time.time())), "base_fee_per_gas": ""})
    assert Executor.head_base_fee(executor, "ethereum") is None  # a chain without base fee
