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


def sysctl_attributes(settings: Any) -> list[dict[str, str]]:
    """A sysctl map as `sysfs_attribute` items: [{path: /proc/sys/..., value, label: name}]."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError(
            f"sysctl_attributes: expected a map of sysctl name to value, got {type(settings).__name__}"
        )
    return [{"path": sysctl_path(name), "value": str(value), "label": name} for name, value in settings.items()]


def _entry(setting: str, value: Any, status: str, detail: str, path: str | None) -> dict[str, Any]:
    return {
        "setting": setting,
        "value": "" if value is None else str(value),
        "status": status,
        "detail": detail,
        "path": path,
    }


def _expand(results: Any) -> list[Any]:
    """Registered results as a flat list: loop results, and batch results item by item."""
    if isinstance(results, dict):
        results = results.get("results", [results])
    flat: list[Any] = []
    for res in results or []:
        # A batch result (sysfs_attribute with `attributes`) holds one result per attribute.
        if isinstance(res, dict) and isinstance(res.get("attributes"), list):
            flat.extend(dict(item, _batch=True) for item in res["attributes"])
        else:
            flat.append(res)
    return flat


def _setting_name(res: dict[str, Any], concern: str, path: str | None, setting_key: str | None) -> str:
    item = res.get("item")
    if res.get("label"):
        return f"{concern} {res['label']}"
    if setting_key and isinstance(item, dict):
        return f"{concern} {item.get(setting_key)}"
    return f"{concern} {path}"


def _report_entry(res: dict[str, Any], concern: str, persisted: bool, setting_key: str | None) -> dict[str, Any]:
    module_args = res.get("invocation", {}).get("module_args", {})
    path = res.get("attribute") or module_args.get("path")
    setting = _setting_name(res, concern, path, setting_key)
    wanted = res.get("wanted") if res.get("_batch") else module_args.get("value")
    status = res.get("status")
    if res.get("failed"):
        return _entry(setting, wanted, "failed", res.get("msg", ""), path)
    if status == "present":
        return _entry(setting, res.get("value", wanted), APPLIED, "runtime value set", path)
    if status == "unsupported":
        detail = (res.get("msg") or "read-only here") + ("; applied at next boot" if persisted else "")
        return _entry(setting, wanted, PERSISTED_ONLY if persisted else NOT_SUPPORTED, detail, path)
    if status == "missing":
        return _entry(setting, wanted, NOT_SUPPORTED, "no such knob on this kernel", path)
    raise AnsibleFilterError(f"tuning_report: unexpected result for {setting}: status={status!r}")


def tuning_report(
    results: Any, concern: str, persisted: bool = True, setting_key: str | None = None
) -> list[dict[str, Any]]:
    """Turn the registered results of `sysfs_attribute` tasks into report entries.

    Each module result says `status: present` (the kernel holds the value now: applied),
    `unsupported` (the knob exists but cannot be written here) or `missing` (no such
    knob on this kernel). (Not `state`: Ansible overwrites `state` in any result that
    carries a `path`.) `persisted` says whether the setting was also written to a file
    applied at boot, which turns `unsupported` into "persisted-only". The setting is
    named by the item's `label` (batch mode), the loop item's `setting_key`, or the path.
    """
    return [
        _report_entry(res, concern, persisted, setting_key)
        for res in _expand(results)
        if isinstance(res, dict) and not res.get("skipped")
    ]


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
            "sysctl_attributes": sysctl_attributes,
            "sysctl_path": sysctl_path,
            "tuning_line": tuning_line,
            "tuning_report": tuning_report,
            "tuning_summary": tuning_summary,
        }
