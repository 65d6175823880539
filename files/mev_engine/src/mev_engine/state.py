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
