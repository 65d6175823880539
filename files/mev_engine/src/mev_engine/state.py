"""Trading state, kept in Redis so it survives a restart of any engine component.

Key `mev:trading` (a hash): `state` (enabled | disabled | emergency_stop), `reason`,
`updated_at` (unix seconds), `redis_run_id` (Redis's INFO run_id when it was written).

Cold start — when the state reads as *disabled* whatever was stored:
  * the key is absent (fresh or flushed Redis), or
  * the stored `redis_run_id` differs from the running Redis server's run_id, i.e. the
    Redis server itself restarted since trading was last switched (host reboot, Redis
    restart, restore from an AOF/RDB file).
Restarting detection, calculation, execution or monitoring does not touch Redis, so the
state survives it. Changes are also published on the pub/sub channel `mev:control` so
execution reacts to an emergency stop at once instead of at its next read.

Components that consult the state per candidate or order keep it in a `TradingStateCache`:
read once, then re-read only when `mev:control` announces a change. Each lookup first takes
every announcement already on the subscription's socket (a non-blocking read), so a change is
seen by the first lookup after it reached the engine. While the subscription is down (Redis
restarted, connection lost), or when it was (re)subscribed and may have missed announcements,
every lookup reads Redis as before, until the subscription is back; a cached value is never
older than `max_age` seconds whatever happens to the subscription.

The stop file (`engine.stop_file`, /var/lib/mev/emergency-stop.json): when the emergency could
not stop trading through the API, its fallback on the host stops mev-execution and writes this
file (JSON: reason, at, incident), since nothing can write the state in Redis then. Every
component honours it at start (`honour_stop_file`: the state becomes emergency_stop, whatever
Redis held), so a later start — by hand, a reboot, a cold start — does not resume trading. Only
an operator enabling trading through the API removes it (`clear_stop_file`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_KEY = "mev:trading"
CONTROL_CHANNEL = "mev:control"
ENABLED, DISABLED, EMERGENCY = "enabled", "disabled", "emergency_stop"
STATES = (ENABLED, DISABLED, EMERGENCY)


@dataclass(frozen=True)
class TradingState:
    state: str
    reason: str
    updated_at: float
    cold_start: bool

    @property
    def enabled(self) -> bool:
        return self.state == ENABLED

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "enabled": self.enabled,
            "reason": self.reason,
            "updated_at": self.updated_at,
            "cold_start": self.cold_start,
        }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def redis_run_id(redis: Any) -> str:
    return _text(redis.info("server")["run_id"])


def read_state(redis: Any) -> TradingState:
    stored = {_text(k): _text(v) for k, v in redis.hgetall(STATE_KEY).items()}
    if not stored:
        return TradingState(DISABLED, "cold start: no trading state stored yet", 0.0, True)
    if stored.get("redis_run_id") != redis_run_id(redis):
        return TradingState(DISABLED, "cold start: Redis restarted since trading was last switched", 0.0, True)
    state = stored.get("state", DISABLED)
    if state not in STATES:
        state = DISABLED
    return TradingState(state, stored.get("reason", ""), float(stored.get("updated_at", 0)), False)


def write_state(redis: Any, state: str, reason: str) -> TradingState:
    if state not in STATES:
        raise ValueError(f"trading state must be one of {', '.join(STATES)}, not {state!r}")
    now = time.time()
    redis.hset(
        STATE_KEY, mapping={"state": state, "reason": reason, "updated_at": now, "redis_run_id": redis_run_id(redis)}
    )
    redis.publish(CONTROL_CHANNEL, json.dumps({"state": state, "reason": reason, "at": now}))
    return TradingState(state, reason, now, False)


def read_stop_file(path: Path) -> dict[str, Any] | None:
    """The stop the emergency's fallback recorded on the host, or None. A file that cannot be
    read as JSON still counts as a stop (its content is reported as unreadable)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        recorded = json.loads(text)
    except ValueError:
        recorded = None
    if not isinstance(recorded, dict):
        return {"reason": f"unreadable stop file {path}", "at": 0}
    return recorded


def honour_stop_file(redis: Any, path: Path) -> TradingState | None:
    """At a component's start: when the stop file exists, make the stored state emergency_stop
    (unless it already is) and return it; None when there is no stop file."""
    recorded = read_stop_file(path)
    if recorded is None:
        return None
    current = read_state(redis)
    if current.state == EMERGENCY:
        return current
    reason = f"emergency stop recorded on the host ({path}): {recorded.get('reason', '?')}"
    log.warning("%s; trading was %s: it stays off until an operator enables it", reason, current.state)
    return write_state(redis, EMERGENCY, reason)


def clear_stop_file(path: Path) -> bool:
    """An operator enabled trading: the recorded stop no longer applies. True when one was removed."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    log.warning("removed the emergency stop recorded on the host (%s): an operator enabled trading", path)
    return True


class TradingStateCache:
    """The trading state, read from Redis only when `mev:control` announces a change (see the
    module's docstring). Thread-safe: execution's order threads share one."""

    def __init__(self, redis: Any, max_age: float = 1.0, retry_seconds: float = 1.0) -> None:
        self.redis = redis
        self.max_age = max_age
        self.retry_seconds = retry_seconds
        self.reads = 0  # state reads from Redis (what the cache saves, for tests and benchmarks)
        self._lock = threading.Lock()
        self._pubsub: Any = None
        self._next_subscribe = 0.0
        self._cached: TradingState | None = None
        self._read_at = 0.0

    def _subscribe(self) -> None:
        try:
            pubsub = self.redis.pubsub()
            pubsub.subscribe(CONTROL_CHANNEL)
        except Exception as exc:
            self._next_subscribe = time.monotonic() + self.retry_seconds
            log.warning("trading state: cannot subscribe to %s (%s): reading the state each time", CONTROL_CHANNEL, exc)
            return
        self._pubsub = pubsub
        self._cached = None  # announcements before the subscription are not known: read again

    def _drop(self, exc: Exception) -> None:
        log.warning("trading state: subscription to %s lost (%s): reading the state each time", CONTROL_CHANNEL, exc)
        try:
            self._pubsub.close()
        except Exception as close_error:
            log.debug("closing the lost subscription: %s", close_error)
        self._pubsub, self._cached = None, None
        self._next_subscribe = time.monotonic() + self.retry_seconds

    def _drain(self) -> None:
        """Take every message already received; any of them (a change, a re-subscription after a
        reconnect the client made on its own) makes the next lookup read Redis."""
        try:
            while (message := self._pubsub.get_message(timeout=0.0)) is not None:
                if message["type"] in ("message", "subscribe"):
                    self._cached = None
        except Exception as exc:
            self._drop(exc)

    def current(self) -> TradingState:
        with self._lock:
            if self._pubsub is None and time.monotonic() >= self._next_subscribe:
                self._subscribe()
            if self._pubsub is not None:
                self._drain()
            if self._pubsub is None or self._cached is None or time.monotonic() - self._read_at > self.max_age:
                self.reads += 1
                state = read_state(self.redis)
                self._read_at = time.monotonic()
                self._cached = state if self._pubsub is not None else None
                return state
            return self._cached

    def close(self) -> None:
        with self._lock:
            if self._pubsub is not None:
                self._pubsub.close()
                self._pubsub = None
