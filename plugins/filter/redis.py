# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters for Redis: memory sizes as redis.conf writes them."""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError

_SIZE = re.compile(r"^\s*([0-9]+)\s*([kmg]b?|b)?\s*$", re.IGNORECASE)
_FACTOR = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


def redis_size_bytes(value: Any) -> int:
    """Bytes in a redis.conf memory value: 4gb = 4*1024^3, 4g = 4*1000^3, a bare number is bytes."""
    if isinstance(value, bool):
        raise AnsibleFilterError(f"redis_size_bytes: {value!r} is not a size")
    match = _SIZE.match(str(value))
    if not match:
        raise AnsibleFilterError(
            f"redis_size_bytes: {value!r} is not a Redis size: a whole number with an optional unit "
            "b, k, kb, m, mb, g or gb (for example 4gb)"
        )
    return int(match.group(1)) * _FACTOR[(match.group(2) or "").lower()]


class FilterModule:
    """Redis filters."""

    def filters(self) -> dict[str, Any]:
        return {"redis_size_bytes": redis_size_bytes}
