"""Redis stream and key names shared by the components (the engine's internal contract).

mev:candidates        detection -> calculation   heads and pending transactions
mev:orders            calculation -> execution   profitable opportunities to execute
mev:commands          monitoring -> execution    cancel / withdraw requests
mev:replies:<id>      execution -> monitoring    one reply per command (a list, expires)
mev:chain:<name>      detection                  newest head: number, hash, timestamp, seen_at
mev:trading           see state.py
mev:metrics:<comp>    see metrics.py
"""

from __future__ import annotations

from typing import Any

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
