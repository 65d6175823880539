"""The trading state cached from the `mev:control` subscription: read from Redis once, not per
candidate; an emergency stop takes effect at the next lookup; without the subscription every
lookup reads Redis."""

from __future__ import annotations

import time
from typing import Any

from mev_engine.state import DISABLED, EMERGENCY, ENABLED, TradingStateCache, write_state


def test_cached_until_a_change_is_announced(redis_client: Any) -> None:
    write_state(redis_client, ENABLED, "test")
    cache = TradingStateCache(redis_client, max_age=60)
    try:
        assert cache.current().enabled
        time.sleep(0.1)  # the subscription's confirmation: one more read
        for _lookup in range(1000):
            assert cache.current().enabled
        reads = cache.reads
        assert reads <= 3
        write_state(redis_client, EMERGENCY, "operator pressed stop")
        time.sleep(0.05)  # loopback delivery
        state = cache.current()
        assert state.state == EMERGENCY
        assert state.reason == "operator pressed stop"
        assert cache.reads == reads + 1
    finally:
        cache.close()


def test_emergency_stop_is_seen_by_the_first_lookup_after_it(redis_client: Any) -> None:
    write_state(redis_client, ENABLED, "test")
    cache = TradingStateCache(redis_client, max_age=60)
    try:
        cache.current()
        time.sleep(0.05)
        cache.current()
        write_state(redis_client, EMERGENCY, "stop")
        time.sleep(0.05)  # loopback delivery; no lookup in between
        assert cache.current().state == EMERGENCY
    finally:
        cache.close()


def test_without_the_subscription_every_lookup_reads(redis_client: Any, redis_server: Any) -> None:
    write_state(redis_client, ENABLED, "test")
    cache = TradingStateCache(redis_client, max_age=60, retry_seconds=60)
    try:
        cache.current()
        time.sleep(0.05)
        cache.current()
        # The subscription's connection dies (Redis kills pub/sub clients, as on a restart).
        redis_client.client_kill_filter(_type="pubsub")
        time.sleep(0.05)
        cache.current()  # notices the loss and reads
        before = cache.reads
        # A change that no announcement reports (written straight into the hash) is still seen.
        redis_client.hset("mev:trading", "state", EMERGENCY)
        assert cache.current().state == EMERGENCY
        redis_client.hset("mev:trading", "state", DISABLED)
        assert cache.current().state == DISABLED
        assert cache.reads == before + 2
    finally:
        cache.close()


def test_a_cached_state_is_never_older_than_max_age(redis_client: Any) -> None:
    write_state(redis_client, ENABLED, "test")
    cache = TradingStateCache(redis_client, max_age=0.2)
    try:
        cache.current()
        redis_client.hset("mev:trading", "state", DISABLED)  # unannounced (a silently dead subscription)
        time.sleep(0.3)
        assert cache.current().state == DISABLED
    finally:
        cache.close()
