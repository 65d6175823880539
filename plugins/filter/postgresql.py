# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters for PostgreSQL: settings computed from the host's RAM and CPUs with the
pgtune formulas (https://pgtune.leopard.in.ua, le0pard/pgtune), and size parsing."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ansible.errors import AnsibleFilterError

WORKLOADS = ("web", "oltp", "dw", "mixed", "desktop")
STORAGES = ("ssd", "hdd", "san")

# pgtune's per-workload defaults.
_MAX_CONNECTIONS = {"web": 200, "oltp": 300, "dw": 40, "mixed": 100, "desktop": 20}
_WAL_SIZES_MB = {  # (min_wal_size, max_wal_size)
    "web": (1024, 4096),
    "oltp": (2048, 8192),
    "dw": (4096, 16384),
    "mixed": (1024, 4096),
    "desktop": (100, 2048),
}
_WORK_MEM_DIVISOR = {"web": 1, "oltp": 1, "dw": 2, "mixed": 2, "desktop": 6}
_IO_CONCURRENCY = {"ssd": 200, "hdd": 2, "san": 300}
_RANDOM_PAGE_COST = {"ssd": 1.1, "hdd": 4.0, "san": 1.1}

_UNITS = (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10))
_SIZE = re.compile(r"^\s*([0-9]+)\s*(B|kB|MB|GB|TB)?\s*$")


def pg_size(kb: int) -> str:
    """A size in kB written as PostgreSQL's SHOW writes it: the largest unit that divides it."""
    size = int(kb) * 1024
    for unit, factor in _UNITS:
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"  # pragma: no cover - kB always divides


def pg_size_bytes(value: Any) -> int:
    """Bytes in a PostgreSQL memory setting ("4GB", "512MB", "64kB", or a bare number of kB)."""
    if isinstance(value, bool):
        raise AnsibleFilterError(f"pg_size_bytes: {value!r} is not a size")
    if isinstance(value, int):
        return value * 1024
    match = _SIZE.match(str(value))
    if not match:
        raise AnsibleFilterError(
            f"pg_size_bytes: {value!r} is not a PostgreSQL size: expected a whole number with an optional "
            "unit B, kB, MB, GB or TB (for example 512MB)"
        )
    unit = match.group(2) or "kB"
    factor = 1 if unit == "B" else dict(_UNITS)[unit]
    return int(match.group(1)) * factor


def pg_tune(
    memory_mb: Any,
    cpus: Any,
    workload: str = "oltp",
    storage: str = "ssd",
    max_connections: Any = None,
) -> dict[str, Any]:
    """pgtune's settings for a host with `memory_mb` of RAM and `cpus` CPUs.

    - shared_buffers = RAM/4 (desktop RAM/16); effective_cache_size = RAM*3/4 (desktop RAM/4)
    - maintenance_work_mem = RAM/16 (dw RAM/8), at most 2GB
    - wal_buffers = 3 % of shared_buffers in 8kB pages, 16MB from 14MB up (at least 32kB)
    - min/max_wal_size, max_connections, default_statistics_target by workload
    - random_page_cost and effective_io_concurrency by storage
    - with 4 CPUs or more: max_worker_processes = CPUs, max_parallel_workers = CPUs,
      max_parallel_workers_per_gather and max_parallel_maintenance_workers = ceil(CPUs/2),
      capped at 4 except for dw
    - work_mem = (RAM - shared_buffers) / ((max_connections + max_worker_processes) * 3)
      / max_parallel_workers_per_gather / workload divisor, at least 64kB
    - huge_pages = try from 32GB of RAM up, off below

    Memory values are rounded down to whole MB (work_mem to whole kB) and written as
    SHOW writes them, so they compare equal to what the server reports.
    """
    try:
        mem_mb = int(memory_mb)
        ncpu = int(cpus)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"pg_tune: memory_mb and cpus must be integers, got {memory_mb!r}, {cpus!r}") from exc
    if mem_mb < 256:
        raise AnsibleFilterError(f"pg_tune: memory_mb must be at least 256, got {mem_mb}")
    if ncpu < 1:
        raise AnsibleFilterError(f"pg_tune: cpus must be at least 1, got {ncpu}")
    if workload not in WORKLOADS:
        raise AnsibleFilterError(f"pg_tune: workload {workload!r} is not one of {', '.join(WORKLOADS)}")
    if storage not in STORAGES:
        raise AnsibleFilterError(f"pg_tune: storage {storage!r} is not one of {', '.join(STORAGES)}")
    connections = _MAX_CONNECTIONS[workload] if max_connections in (None, "") else int(max_connections)
    if connections < 1:
        raise AnsibleFilterError(f"pg_tune: max_connections must be at least 1, got {connections}")

    mem_kb = mem_mb * 1024
    shared_kb = mem_kb // 16 if workload == "desktop" else mem_kb // 4
    shared_kb -= shared_kb % 1024
    cache_kb = mem_kb // 4 if workload == "desktop" else mem_kb * 3 // 4
    cache_kb -= cache_kb % 1024
    maint_kb = min(mem_kb // 8 if workload == "dw" else mem_kb // 16, 2 * 1024 * 1024)
    maint_kb -= maint_kb % 1024
    wal_kb = min(shared_kb * 3 // 100, 16 * 1024)
    # pgtune rounds values close to 16MB up to it; wal_buffers counts 8kB pages (at least 32kB).
    if wal_kb > 14 * 1024:
        wal_kb = 16 * 1024
    wal_kb = max(32, wal_kb - wal_kb % 8)
    min_wal_mb, max_wal_mb = _WAL_SIZES_MB[workload]

    settings: dict[str, Any] = {
        "max_connections": connections,
        "shared_buffers": pg_size(shared_kb),
        "effective_cache_size": pg_size(cache_kb),
        "maintenance_work_mem": pg_size(maint_kb),
        "checkpoint_completion_target": 0.9,
        "wal_buffers": pg_size(wal_kb),
        "default_statistics_target": 500 if workload == "dw" else 100,
        "random_page_cost": _RANDOM_PAGE_COST[storage],
        "effective_io_concurrency": _IO_CONCURRENCY[storage],
        "min_wal_size": pg_size(min_wal_mb * 1024),
        "max_wal_size": pg_size(max_wal_mb * 1024),
        "huge_pages": "try" if mem_mb >= 32 * 1024 else "off",
    }
    workers_per_gather = 1
    workers = 8  # PostgreSQL's default max_worker_processes, used by the work_mem formula
    if ncpu >= 4:
        workers = ncpu
        half = math.ceil(ncpu / 2)
        workers_per_gather = half if workload == "dw" else min(half, 4)
        settings.update(
            max_worker_processes=ncpu,
            max_parallel_workers_per_gather=workers_per_gather,
            max_parallel_workers=ncpu,
            max_parallel_maintenance_workers=min(half, 4),
        )
    work_kb = (mem_kb - shared_kb) // ((connections + workers) * 3) // workers_per_gather
    work_kb //= _WORK_MEM_DIVISOR[workload]
    settings["work_mem"] = pg_size(max(64, work_kb))
    return dict(sorted(settings.items()))


def pg_setting_changes(results: Any) -> dict[str, list[str]]:
    """Sort postgresql_alter_system loop results into reloaded / restart-needing settings."""
    out: dict[str, list[str]] = {"changed": [], "restart": []}
    for res in (results or {}).get("results", []) if isinstance(results, dict) else results or []:
        name = res.get("item", {}).get("key") if isinstance(res.get("item"), dict) else res.get("item")
        if res.get("changed"):
            out["changed"].append(str(name))
        if res.get("restart_required"):
            out["restart"].append(str(name))
    return out


def mev_db_result(lines: Any) -> dict[str, Any]:
    """The JSON result `mev-db` prints last, on a line starting with "mev-db-result "."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    for line in reversed(list(lines or [])):
        if str(line).startswith("mev-db-result "):
            try:
                return json.loads(str(line)[len("mev-db-result ") :])
            except ValueError as exc:
                raise AnsibleFilterError(f"mev_db_result: the result line is not JSON: {line!r}") from exc
    raise AnsibleFilterError("mev_db_result: mev-db printed no 'mev-db-result {...}' line; see its stderr")


def _mb(size: int) -> str:
    return f"{size / 1048576:.1f}MB"


def mev_db_report_lines(result: dict[str, Any]) -> list[str]:
    """One line per table from a `mev-db maintain` result: size and dead tuples before -> after."""
    after = {row["relname"]: row for row in result.get("after", [])}
    lines = []
    for row in result.get("before", []):
        new = after.get(row["relname"], {})
        lines.append(
            f"mev.{row['relname']}: size {_mb(row['total_bytes'])} -> {_mb(new.get('total_bytes', 0))}, "
            f"dead tuples {row['dead_tuples']} -> {new.get('dead_tuples', '?')} "
            f"(dead ratio {row['dead_ratio']} -> {new.get('dead_ratio', '?')}), "
            f"partitions {row['partitions']} -> {new.get('partitions', '?')}"
        )
    parts = result.get("partitions", {})
    lines.append(
        f"partitions created {parts.get('created', 0)}, dropped {len(parts.get('dropped', []))}; "
        f"reindexed {', '.join(result.get('reindexed', [])) or 'nothing'}; {result.get('seconds', '?')} s"
    )
    return lines


class FilterModule:
    """PostgreSQL filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "pg_tune": pg_tune,
            "pg_size_bytes": pg_size_bytes,
            "pg_setting_changes": pg_setting_changes,
            "mev_db_result": mev_db_result,
            "mev_db_report_lines": mev_db_report_lines,
        }
