# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters for host tuning: hugepage counts from sizes, sysctl paths, and the
applied / persisted-only / not-supported report built from sysfs_attribute results."""

from __future__ import annotations

import math
import re
from typing import Any

from ansible.errors import AnsibleFilterError

_SYSCTL_NAME = re.compile(r"^[a-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")

APPLIED = "applied"
PERSISTED_ONLY = "persisted-only"
NOT_SUPPORTED = "not supported here"


def hugepage_count(total_mb: Any, page_size_kb: Any = 2048) -> int:
    """Number of hugepages of `page_size_kb` needed to cover `total_mb` (rounded up)."""
    try:
        total = int(total_mb)
        page = int(page_size_kb)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(
            f"hugepage_count: expected integers, got {total_mb!r} MB and {page_size_kb!r} kB"
        ) from exc
    if total < 0:
        raise AnsibleFilterError(f"hugepage_count: total size must be 0 or more MB, got {total}")
    if page <= 0:
        raise AnsibleFilterError(f"hugepage_count: page size must be a positive number of kB, got {page}")
    return math.ceil(total * 1024 / page)


def sysctl_path(name: str) -> str:
    """/proc/sys path of a sysctl name: net.ipv4.tcp_rmem -> /proc/sys/net/ipv4/tcp_rmem."""
    if not isinstance(name, str) or not _SYSCTL_NAME.match(name):
        raise AnsibleFilterError(f"sysctl_path: {name!r} is not a sysctl name (dotted words, no spaces)")
    return "/proc/sys/" + name.replace(".", "/")


_CPUIDLE_STATE = re.compile(r"/cpu[0-9]+/cpuidle/state([0-9]+)$")


def deeper_cstates(paths: Any, cstate_max: Any) -> list[str]:
    """The cpuidle state folders (…/cpuN/cpuidle/stateK) with K above `cstate_max`, sorted.

    A `cstate_max` of None means no cap: nothing is deeper than it."""
    if cstate_max is None:
        return []
    try:
        limit = int(cstate_max)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"deeper_cstates: C-state cap must be an integer, got {cstate_max!r}") from exc
    selected = []
    for path in paths or []:
        match = _CPUIDLE_STATE.search(str(path))
        if match and int(match.group(1)) > limit:
            selected.append(str(path))
    return sorted(selected)


def _entry(setting: str, value: Any, status: str, detail: str, path: str | None) -> dict[str, Any]:
    return {
        "setting": setting,
        "value": "" if value is None else str(value),
        "status": status,
        "detail": detail,
        "path": path,
    }


def tuning_report(
    results: Any, concern: str, persisted: bool = True, setting_key: str | None = None
) -> list[dict[str, Any]]:
    """Turn the registered results of a looped `sysfs_attribute` task into report entries.

    Each module result says `status: present` (the kernel holds the value now: applied),
    `unsupported` (the knob exists but cannot be written here) or `missing` (no such
    knob on this kernel). (Not `state`: Ansible overwrites `state` in any result that
    carries a `path`.) `persisted` says whether the setting was also written to a
    file applied at boot, which turns `unsupported` into "persisted-only".
    `setting_key` names the loop item's key holding the setting name (default: the path).
    """
    if isinstance(results, dict):
        results = results.get("results", [results])
    entries: list[dict[str, Any]] = []
    for res in results or []:
        if not isinstance(res, dict) or res.get("skipped"):
            continue
        item = res.get("item")
        path = res.get("attribute") or res.get("invocation", {}).get("module_args", {}).get("path")
        if setting_key and isinstance(item, dict):
            setting = f"{concern} {item.get(setting_key)}"
        else:
            setting = f"{concern} {path}"
        wanted = res.get("invocation", {}).get("module_args", {}).get("value")
        state = res.get("status")
        if res.get("failed"):
            entries.append(_entry(setting, wanted, "failed", res.get("msg", ""), path))
        elif state == "present":
            entries.append(_entry(setting, res.get("value", wanted), APPLIED, "runtime value set", path))
        elif state == "unsupported":
            status = PERSISTED_ONLY if persisted else NOT_SUPPORTED
            detail = res.get("msg") or "read-only here"
            entries.append(
                _entry(setting, wanted, status, detail + ("; applied at next boot" if persisted else ""), path)
            )
        elif state == "missing":
            entries.append(_entry(setting, wanted, NOT_SUPPORTED, "no such knob on this kernel", path))
        else:
            raise AnsibleFilterError(f"tuning_report: unexpected result for {setting}: status={state!r}")
    return entries


def tuning_summary(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Counts of report entries per status."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    return counts


def tuning_line(entry: dict[str, Any]) -> str:
    """One readable line of the report: status, setting, value and detail."""
    value = f" = {entry['value']}" if entry.get("value") not in (None, "") else ""
    detail = f" ({entry['detail']})" if entry.get("detail") else ""
    return f"{entry['status']:<18} {entry['setting']}{value}{detail}"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "deeper_cstates": deeper_cstates,
            "hugepage_count": hugepage_count,
            "sysctl_path": sysctl_path,
            "tuning_line": tuning_line,
            "tuning_report": tuning_report,
            "tuning_summary": tuning_summary,
        }
