"""The pgtune filter behind the postgresql role, over a table of host sizes."""

from __future__ import annotations

import math

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.filter.postgresql import (
    mev_db_report_lines,
    mev_db_result,
    pg_setting_changes,
    pg_size_bytes,
    pg_tune,
)

KB, MB, GB = 1024, 1024**2, 1024**3

# Hand-computed rows (pgtune's published output for these hosts, rounded as the filter
# documents): RAM MB, CPUs, workload, storage -> the settings that matter most.
TABLE = [
    (
        (131072, 32, "oltp", "ssd"),  # the runbook's 128 GB host
        {
            "shared_buffers": "32GB",
            "effective_cache_size": "96GB",
            "maintenance_work_mem": "2GB",
            "wal_buffers": "16MB",
            "work_mem": "25266kB",
            "max_connections": 300,
            "min_wal_size": "2GB",
            "max_wal_size": "8GB",
            "max_worker_processes": 32,
            "max_parallel_workers_per_gather": 4,
            "max_parallel_workers": 32,
            "max_parallel_maintenance_workers": 4,
            "random_page_cost": 1.1,
            "effective_io_concurrency": 200,
            "huge_pages": "try",
        },
    ),
    (
        (2048, 1, "oltp", "ssd"),
        {
            "shared_buffers": "512MB",
            "effective_cache_size": "1536MB",
            "maintenance_work_mem": "128MB",
            "wal_buffers": "16MB",
            "work_mem": "1702kB",
            "huge_pages": "off",
        },
    ),
    (
        (16384, 8, "web", "hdd"),
        {
            "shared_buffers": "4GB",
            "effective_cache_size": "12GB",
            "maintenance_work_mem": "1GB",
            "work_mem": "5041kB",
            "max_connections": 200,
            "min_wal_size": "1GB",
            "max_wal_size": "4GB",
            "random_page_cost": 4.0,
            "effective_io_concurrency": 2,
            "max_parallel_workers_per_gather": 4,
        },
    ),
    (
        (65536, 16, "dw", "san"),
        {
            "shared_buffers": "16GB",
            "effective_cache_size": "48GB",
            "maintenance_work_mem": "2GB",
            "work_mem": "18724kB",
            "max_connections": 40,
            "default_statistics_target": 500,
            "min_wal_size": "4GB",
            "max_wal_size": "16GB",
            "effective_io_concurrency": 300,
            "max_parallel_workers_per_gather": 8,
            "max_parallel_maintenance_workers": 4,
        },
    ),
    (
        (1024, 2, "desktop", "ssd"),
        {
            "shared_buffers": "64MB",
            "effective_cache_size": "256MB",
            "maintenance_work_mem": "64MB",
            "wal_buffers": "1960kB",
            "work_mem": "1950kB",
            "max_connections": 20,
            "min_wal_size": "100MB",
            "max_wal_size": "2GB",
        },
    ),
]


@pytest.mark.parametrize(("host", "expected"), TABLE, ids=lambda v: str(v[0]) if isinstance(v, tuple) else "")
def test_known_hosts(host, expected):
    settings = pg_tune(*host)
    for name, value in expected.items():
        assert settings[name] == value, name


SIZES = [
    (mem, cpu)
    for mem in (512, 1024, 3000, 4096, 7777, 16384, 32768, 65536, 131072, 262144, 1048576)
    for cpu in (1, 2, 3, 4, 6, 8, 16, 64)
]


@pytest.mark.parametrize("workload", ["web", "oltp", "dw", "mixed", "desktop"])
@pytest.mark.parametrize(("mem_mb", "cpus"), SIZES)
def test_formulas_hold_over_a_table_of_sizes(mem_mb, cpus, workload):
    s = pg_tune(mem_mb, cpus, workload)
    ram = mem_mb * MB
    shared = pg_size_bytes(s["shared_buffers"])
    cache = pg_size_bytes(s["effective_cache_size"])
    maint = pg_size_bytes(s["maintenance_work_mem"])
    wal = pg_size_bytes(s["wal_buffers"])
    work = pg_size_bytes(s["work_mem"])
    share = 16 if workload == "desktop" else 4
    # shared_buffers: RAM/4 (desktop RAM/16) rounded down to a whole MB.
    assert ram // share - MB < shared <= ram // share and shared % MB == 0
    # effective_cache_size: RAM*3/4 (desktop RAM/4).
    target = ram // 4 if workload == "desktop" else ram * 3 // 4
    assert target - MB < cache <= target
    # maintenance_work_mem: RAM/16 (dw RAM/8), at most 2GB.
    target = min(ram // (8 if workload == "dw" else 16), 2 * GB)
    assert target - MB < maint <= target
    # wal_buffers: 3 % of shared_buffers, 16MB from 14MB up, whole 8kB pages, at least 32kB.
    three_percent = shared * 3 // 100
    if three_percent > 14 * MB:
        assert wal == 16 * MB
    else:
        assert wal % (8 * KB) == 0 and max(32 * KB, three_percent - 8 * KB) <= wal <= max(32 * KB, three_percent)
    # Parallelism only from 4 CPUs.
    if cpus >= 4:
        assert s["max_worker_processes"] == cpus == s["max_parallel_workers"]
        half = math.ceil(cpus / 2)
        assert s["max_parallel_workers_per_gather"] == (half if workload == "dw" else min(half, 4))
        assert s["max_parallel_maintenance_workers"] == min(half, 4)
        gather, workers = s["max_parallel_workers_per_gather"], cpus
    else:
        assert "max_worker_processes" not in s and "max_parallel_workers_per_gather" not in s
        gather, workers = 1, 8
    # work_mem: (RAM - shared_buffers) / ((connections + workers) * 3) / gather / divisor, >= 64kB.
    divisor = {"web": 1, "oltp": 1, "dw": 2, "mixed": 2, "desktop": 6}[workload]
    exact = (ram - shared) / ((s["max_connections"] + workers) * 3) / gather / divisor
    assert work >= 64 * KB and (work == 64 * KB or exact - 3 * KB < work <= exact)
    # Budget sanity: shared_buffers plus every connection's work_mem once stays under RAM for
    # all but the tiniest hosts.
    if mem_mb >= 1024:
        assert shared + s["max_connections"] * work < ram
    assert s["random_page_cost"] == 1.1 and s["effective_io_concurrency"] == 200
    assert s["huge_pages"] == ("try" if mem_mb >= 32768 else "off")
    assert s["checkpoint_completion_target"] == 0.9


def test_max_connections_override_lowers_work_mem():
    assert pg_size_bytes(pg_tune(8192, 4, max_connections=1000)["work_mem"]) < pg_size_bytes(
        pg_tune(8192, 4)["work_mem"]
    )
    assert pg_tune(8192, 4, max_connections=1000)["max_connections"] == 1000


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((100, 4), "at least 256"),
        ((4096, 0), "cpus must be at least 1"),
        ((4096, 4, "batch"), "workload 'batch'"),
        ((4096, 4, "oltp", "tape"), "storage 'tape'"),
        (("lots", 4), "must be integers"),
        ((4096, 4, "oltp", "ssd", 0), "max_connections"),
    ],
)
def test_bad_input_says_what_was_expected(args, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        pg_tune(*args)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4GB", 4 * GB),
        ("512MB", 512 * MB),
        ("64kB", 64 * KB),
        ("100", 100 * KB),
        (8, 8 * KB),
        ("10B", 10),
        ("1TB", 1024 * GB),
    ],
)
def test_pg_size_bytes(value, expected):
    assert pg_size_bytes(value) == expected


@pytest.mark.parametrize("value", ["-1GB", "4 G", "lots", "1.5GB", True])
def test_pg_size_bytes_rejects_non_sizes(value):
    with pytest.raises(AnsibleFilterError, match="not"):
        pg_size_bytes(value)


def test_setting_changes_sort_reloads_from_restarts():
    results = {
        "results": [
            {"item": {"key": "work_mem"}, "changed": True, "restart_required": False},
            {"item": {"key": "shared_buffers"}, "changed": True, "restart_required": True},
            {"item": {"key": "random_page_cost"}, "changed": False, "restart_required": False},
        ]
    }
    assert pg_setting_changes(results) == {"changed": ["work_mem", "shared_buffers"], "restart": ["shared_buffers"]}


def test_mev_db_result_reads_the_last_result_line():
    lines = ["applied 001_x", 'mev-db-result {"applied": ["001_x"], "pending": []}']
    assert mev_db_result(lines) == {"applied": ["001_x"], "pending": []}
    assert mev_db_result("\n".join(lines))["applied"] == ["001_x"]
    with pytest.raises(AnsibleFilterError, match="no 'mev-db-result"):
        mev_db_result(["something else"])


def test_report_lines_compare_before_and_after():
    row = {"relname": "opportunities", "partitions": 5, "total_bytes": 2 * MB, "dead_tuples": 10, "dead_ratio": 0.5}
    after = dict(row, total_bytes=MB, dead_tuples=0, dead_ratio=0.0)
    lines = mev_db_report_lines(
        {"before": [row], "after": [after], "partitions": {"created": 1, "dropped": []}, "reindexed": ["opportunities"]}
    )
    assert lines[0] == (
        "mev.opportunities: size 2.0MB -> 1.0MB, dead tuples 10 -> 0 (dead ratio 0.5 -> 0.0), partitions 5 -> 5"
    )
    assert lines[1].startswith("partitions created 1, dropped 0; reindexed opportunities")
