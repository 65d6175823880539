"""Redis stream and key names shared by the components (the engine's internal contract).

mev:candidates        detection -> calculation   heads and pending transactions
mev:orders            calculation -> execution   profitable opportunities to execute
mev:commands          monitoring -> execution    cancel / withdraw requests
mev:replies:<id>      execution -> monitoring    one reply per command (a list, expires)
mev:chain:<name>      detection                  newest head: number, hash, timestamp, base fee, seen_at
mev:trading           see state.py
mev:metrics:<comp>    see metrics.py
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger(__name__)

CANDIDATES = "mev:candidates"
ORDERS = "mev:orders"
COMMANDS = "mev:commands"
REPLY = "mev:replies:{id}"
CHAIN_HEAD = "mev:chain:{chain}"
REPLY_TTL_SECONDS = 120
COMMAND_TIMEOUT_SECONDS = 60  # monitoring waits this long for a reply; execution ignores older commands
# How a withdraw command's refusal starts when the chain has nothing to move (not a failure; the
# collection's emergency role reads it too).
NOTHING_TO_WITHDRAW = "nothing to withdraw"


def ensure_group(redis: Any, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) unless it exists; new groups start at new entries."""
    try:
        redis.xgroup_create(stream, group, id="$", mkstream=True)
    except Exception as exc:
        if "BUSYGROUP" not in str(exc):
            raise


GROUPS = ((CANDIDATES, "calculation"), (ORDERS, "execution"), (COMMANDS, "execution"))


def ensure_groups(redis: Any) -> None:
    """Every component creates every consumer group at start, so nothing written before its
    reader first started is lost (a command sent while execution loads its keystore)."""
    for stream, group in GROUPS:
        ensure_group(redis, stream, group)


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_fields(fields: dict[Any, Any]) -> dict[str, str]:
    return {text(k): text(v) for k, v in fields.items()}


class GroupReader:
    """Reads a consumer group so that a crash loses nothing: first this consumer's own pending
    entries (`XREADGROUP ... 0`: a restart under the same name resumes them), then, every
    `claim_idle_seconds` / 2, entries another consumer took and left unacknowledged longer than
    `claim_idle_seconds` (XAUTOCLAIM: that consumer crashed or was renamed), else new ones (`>`).

    read() returns (stream, entry id, fields, redelivered); a redelivered entry may already have
    been handled before the crash, so its consumer must check before acting again. Entries
    trimmed from the stream meanwhile come back without fields: they are acknowledged here.
    Counts `mev_stream_reclaimed_total{stream,source}` (source: own_pending, idle_consumer)."""

    def __init__(self, redis: Any, names: tuple[str, ...], group: str, consumer: str, claim_idle: float,
                 metrics: Any) -> None:  # fmt: skip
        self.redis = redis
        self.names = names
        self.group = group
        self.consumer = consumer
        self.claim_idle_ms = max(int(claim_idle * 1000), 1)
        self.metrics = metrics
        self.own_cursor: dict[str, str] = dict.fromkeys(names, "0")  # until each own pending list is read
        self.next_claim = 0.0

    def _count(self, stream: str, source: str, entries: int) -> None:
        if entries:
            self.metrics["mev_stream_reclaimed_total"].labels(stream=stream, source=source).inc(entries)
            log.warning("%s: %d unacknowledged entr%s taken over (%s)", stream, entries,
                        "y" if entries == 1 else "ies", source)  # fmt: skip

    def _keep(self, stream: str, items: list[Any], redelivered: bool) -> list[tuple[str, str, dict[str, str], bool]]:
        kept, trimmed = [], []
        for entry_id, fields in items:
            if fields:
                kept.append((stream, text(entry_id), decode_fields(fields), redelivered))
            else:
                trimmed.append(entry_id)
        if trimmed:
            self.redis.xack(stream, self.group, *trimmed)
        return kept

    def read(self, count: int, block_ms: int) -> list[tuple[str, str, dict[str, str], bool]]:
        if self.own_cursor:
            answer = self.redis.xreadgroup(self.group, self.consumer, dict(self.own_cursor), count=count)
            found: list[tuple[str, str, dict[str, str], bool]] = []
            returned = {text(stream): items for stream, items in answer or []}
            for stream in list(self.own_cursor):
                items = returned.get(stream) or []
                if not items:
                    del self.own_cursor[stream]
                    continue
                self.own_cursor[stream] = text(items[-1][0])
                self._count(stream, "own_pending", len(items))
                found += self._keep(stream, items, True)
            if found or self.own_cursor:
                return found
        if time.monotonic() >= self.next_claim:
            self.next_claim = time.monotonic() + self.claim_idle_ms / 2000
            found = []
            for stream in self.names:
                cursor = "0-0"
                while True:
                    answer = self.redis.xautoclaim(stream, self.group, self.consumer, self.claim_idle_ms, cursor,
                                                   count=count)  # fmt: skip
                    cursor, items = text(answer[0]), answer[1]
                    self._count(stream, "idle_consumer", len(items))
                    found += self._keep(stream, items, True)
                    if cursor == "0-0" or len(found) >= count:
                        break
            if found:
                return found
        answer = self.redis.xreadgroup(self.group, self.consumer, dict.fromkeys(self.names, ">"), count=count,
                                       block=block_ms)  # fmt: skip
        return [entry for stream, items in answer or [] for entry in self._keep(text(stream), items, False)]
