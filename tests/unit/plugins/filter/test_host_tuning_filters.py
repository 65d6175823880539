"""Filters behind the host_tuning role."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.filter.host_tuning import (
    deeper_cstates,
    hugepage_count,
    sysctl_attributes,
    sysctl_path,
    tuning_line,
    tuning_report,
    tuning_summary,
)


@pytest.mark.parametrize(
    ("total_mb", "page_kb", "expected"),
    [
        (4096, 2048, 2048),  # the runbook's 2048 pages of 2 MB
        (0, 2048, 0),
        (1, 2048, 1),  # rounds up: never reserve less than asked
        (3, 2048, 2),
        (2048, 1048576, 2),
        (1025, 1048576, 2),
        ("512", "2048", 256),
    ],
)
def test_hugepage_count(total_mb, page_kb, expected):
    assert hugepage_count(total_mb, page_kb) == expected


@pytest.mark.parametrize(("total_mb", "page_kb"), [(-1, 2048), (10, 0), ("lots", 2048), (None, 2048)])
def test_hugepage_count_rejects_bad_input(total_mb, page_kb):
    with pytest.raises(AnsibleFilterError, match="hugepage_count"):
        hugepage_count(total_mb, page_kb)


def test_sysctl_path():
    assert sysctl_path("net.ipv4.tcp_rmem") == "/proc/sys/net/ipv4/tcp_rmem"
    assert sysctl_path("fs.file-max") == "/proc/sys/fs/file-max"


@pytest.mark.parametrize("name", ["net core somaxconn", "somaxconn", "net..core", "../etc/passwd", "", None])
def test_sysctl_path_rejects_non_names(name):
    with pytest.raises(AnsibleFilterError, match="not a sysctl name"):
        sysctl_path(name)


def test_deeper_cstates_keeps_only_states_past_the_cap():
    paths = [
        "/sys/devices/system/cpu/cpu0/cpuidle/state0",
        "/sys/devices/system/cpu/cpu0/cpuidle/state1",
        "/sys/devices/system/cpu/cpu0/cpuidle/state2",
        "/sys/devices/system/cpu/cpu1/cpuidle/state3",
        "/sys/devices/system/cpu/cpu1/cpuidle/state10",
        "/sys/devices/system/cpu/cpuidle",  # the driver folder, not a state
    ]
    assert deeper_cstates(paths, 1) == [
        "/sys/devices/system/cpu/cpu0/cpuidle/state2",
        "/sys/devices/system/cpu/cpu1/cpuidle/state10",
        "/sys/devices/system/cpu/cpu1/cpuidle/state3",
    ]
    assert deeper_cstates(paths, 10) == []
    assert deeper_cstates(paths, None) == []
    with pytest.raises(AnsibleFilterError):
        deeper_cstates(paths, "deep")


def _result(state, path, value="1", item=None, **extra):
    res = {
        "status": state,
        "attribute": path,
        "value": value,
        "changed": False,
        "item": item,
        "invocation": {"module_args": {"path": path, "value": value}},
    }
    res.update(extra)
    return res


def test_tuning_report_maps_module_states():
    results = {
        "results": [
            _result("present", "/proc/sys/vm/swappiness", item={"key": "vm.swappiness", "value": 1}),
            _result(
                "unsupported",
                "/proc/sys/net/core/somaxconn",
                item={"key": "net.core.somaxconn"},
                msg="read-only file system",
            ),
            _result("missing", "/proc/sys/kernel/nope", item={"key": "kernel.nope"}),
            {"skipped": True, "item": {"key": "skipped.one"}},
        ]
    }
    entries = tuning_report(results, "sysctl", persisted=True, setting_key="key")
    assert [(e["setting"], e["status"]) for e in entries] == [
        ("sysctl vm.swappiness", "applied"),
        ("sysctl net.core.somaxconn", "persisted-only"),
        ("sysctl kernel.nope", "not supported here"),
    ]
    assert "read-only file system" in entries[1]["detail"]
    assert "next boot" in entries[1]["detail"]
    assert tuning_summary(entries) == {"applied": 1, "persisted-only": 1, "not supported here": 1}


def test_tuning_report_without_persistence_says_not_supported():
    entries = tuning_report([_result("unsupported", "/sys/x")], "x", persisted=False)
    assert entries[0]["status"] == "not supported here"
    assert entries[0]["setting"] == "x /sys/x"


def test_tuning_report_rejects_unknown_state():
    with pytest.raises(AnsibleFilterError, match="unexpected result"):
        tuning_report([_result("weird", "/sys/x")], "x")


def test_tuning_line_is_readable():
    line = tuning_line({"setting": "sysctl vm.swappiness", "value": "1", "status": "applied", "detail": "ok"})
    assert line.startswith("applied")
    assert line.endswith("sysctl vm.swappiness = 1 (ok)")


def test_tuning_report_expands_batch_results():
    batch = {
        "changed": True,
        "attributes": [
            {
                "attribute": "/proc/sys/vm/swappiness",
                "label": "vm.swappiness",
                "wanted": "1",
                "status": "present",
                "value": "1",
                "changed": True,
            },
            {
                "attribute": "/proc/sys/net/core/somaxconn",
                "label": "net.core.somaxconn",
                "wanted": "65535",
                "status": "unsupported",
                "value": "4096",
                "msg": "read-only file system",
                "changed": False,
            },
        ],
    }
    entries = tuning_report(batch, "sysctl")
    assert [(e["setting"], e["value"], e["status"]) for e in entries] == [
        ("sysctl vm.swappiness", "1", "applied"),
        ("sysctl net.core.somaxconn", "65535", "persisted-only"),
    ]


def test_sysctl_attributes():
    assert sysctl_attributes({"vm.swappiness": 1, "net.ipv4.tcp_rmem": "4096 87380 134217728"}) == [
        {"path": "/proc/sys/vm/swappiness", "value": "1", "label": "vm.swappiness"},
        {"path": "/proc/sys/net/ipv4/tcp_rmem", "value": "4096 87380 134217728", "label": "net.ipv4.tcp_rmem"},
    ]
    with pytest.raises(AnsibleFilterError):
        sysctl_attributes(["vm.swappiness"])
