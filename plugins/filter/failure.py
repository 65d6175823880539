# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Why a task failed, in one line, for the rescue blocks that report it.

failure_reason: "{{ ansible_failed_result | mevops.infra.failure_reason }}"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What Ansible says when the useful part is elsewhere in the result (stderr, an item of a loop).
GENERIC = frozenset({"non-zero return code", "One or more items failed"})


def _last_line(text: Any) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def failure_reason(result: Any) -> str:
    """The result's msg; else the last line of its stderr (stdout when stderr is empty) with the exit
    code; else the exit code; else the first of a loop's failed items that says why; else `failed`."""
    if not isinstance(result, Mapping):
        return "failed"
    msg = str(result.get("msg") or "").strip()
    rc = result.get("rc")
    output = _last_line(result.get("stderr")) or _last_line(result.get("stdout"))
    if msg and msg not in GENERIC:
        return msg
    if output:
        return f"{output} (rc {rc})" if rc is not None else output
    if rc is not None:
        return f"exit code {rc}"
    for item in result.get("results") or []:
        if isinstance(item, Mapping) and item.get("failed"):
            reason = failure_reason(item)
            if reason != "failed":
                return reason
    return msg or "failed"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"failure_reason": failure_reason}
