"""Unit tests for plugins/module_utils/resources.py: thresholds, findings, command-line redaction."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.mevops.infra.plugins.module_utils.resources import (
    CRITICAL,
    DEFAULT_CRITICAL,
    DEFAULT_WARNING,
    OK,
    REDACTED,
    WARNING,
    check_thresholds,
    evaluate,
    overall_status,
    redact_args,
    redact_cmdline,
    severity,
    top_processes,
)


def make_sample(
    cpu: float = 10.0,
    memory: float = 20.0,
    disks: dict[str, tuple[float, float | None]] | None = None,
    load_per_cpu: float = 0.1,
) -> dict[str, Any]:
    """A sample shaped as host_resources returns it; disks map mount -> (used %, inode used %)."""
    disks = {"/": (30.0, 5.0)} if disks is None else disks
    return {
        "cpu": {"percent": cpu},
        "memory": {"used_percent": memory},
        "disks": [
            {"mount": mount, "used_percent": used, "inodes": {"used_percent": inodes}}
            for mount, (used, inodes) in disks.items()
        ],
        "load": {"per_cpu": {"1": load_per_cpu * 3, "5": load_per_cpu, "15": load_per_cpu / 2}},
    }


# --- check_thresholds -----------------------------------------------------------------


def test_default_thresholds_are_valid_and_the_runbooks_levels() -> None:
    assert check_thresholds(DEFAULT_WARNING, DEFAULT_CRITICAL) == []
    assert [DEFAULT_WARNING[key] for key in ("cpu", "memory", "disk")] == [80, 80, 80]
    assert [DEFAULT_CRITICAL[key] for key in ("cpu", "memory", "disk")] == [90, 90, 90]


def test_warning_above_critical_is_rejected_naming_both_options() -> None:
    problems = check_thresholds({**DEFAULT_WARNING, "disk": 95}, DEFAULT_CRITICAL)
    assert problems == ["warning.disk (95) must not be above critical.disk (90)"]


def test_warning_equal_to_critical_is_accepted() -> None:
    assert check_thresholds({**DEFAULT_WARNING, "memory": 90}, DEFAULT_CRITICAL) == []


@pytest.mark.parametrize(("key", "value"), [("cpu", 100.5), ("memory", -1), ("disk", 250)])
def test_percent_outside_0_100_is_rejected(key: str, value: float) -> None:
    problems = check_thresholds(DEFAULT_WARNING, {**DEFAULT_CRITICAL, key: value})
    assert f"critical.{key} must be a percentage between 0 and 100, got {value:g}" in problems


def test_load_may_exceed_100_but_not_be_negative() -> None:
    assert check_thresholds(DEFAULT_WARNING, {**DEFAULT_CRITICAL, "load_per_cpu": 150}) == []
    problems = check_thresholds({**DEFAULT_WARNING, "load_per_cpu": -0.5}, DEFAULT_CRITICAL)
    assert problems == ["warning.load_per_cpu must be 0 or more (load per CPU), got -0.5"]


def test_every_problem_is_reported_at_once() -> None:
    problems = check_thresholds({**DEFAULT_WARNING, "cpu": 101}, {**DEFAULT_CRITICAL, "disk": 70, "memory": None})
    assert problems == [
        "warning.cpu must be a percentage between 0 and 100, got 101",
        "critical.memory is required (a number)",
        "warning.cpu (101) must not be above critical.cpu (90)",
        "warning.disk (80) must not be above critical.disk (70)",
    ]


# --- severity: the edges --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (79.99, OK),
        (80.0, WARNING),  # exactly at warning reaches it
        (89.99, WARNING),
        (90.0, CRITICAL),  # exactly at critical reaches it
        (100.0, CRITICAL),
        (0.0, OK),
    ],
)
def test_severity_edges(value: float, expected: str) -> None:
    assert severity(value, 80, 90) == expected


def test_zero_thresholds_always_report() -> None:
    assert severity(0.0, 0, 0) == CRITICAL


def test_equal_warning_and_critical_skip_warning() -> None:
    assert severity(85, 85, 85) == CRITICAL
    assert severity(84.9, 85, 85) == OK


# --- evaluate / overall_status --------------------------------------------------------


def test_quiet_host_has_no_findings_and_is_ok() -> None:
    findings = evaluate(make_sample(), DEFAULT_WARNING, DEFAULT_CRITICAL)
    assert findings == []
    assert overall_status(findings) == OK


def test_disk_finding_reads_as_the_runbook_would_say_it() -> None:
    sample = make_sample(disks={"/": (40.0, 2.0), "/data": (91.24, 3.0)})
    findings = evaluate(sample, DEFAULT_WARNING, DEFAULT_CRITICAL)
    assert findings == [
        {
            "resource": "disk /data",
            "value": 91.24,
            "threshold": 90,
            "severity": CRITICAL,
            "message": "disk /data 91.2 % used (critical at 90 %)",
        }
    ]
    assert overall_status(findings) == CRITICAL


def test_findings_are_worst_first_and_name_each_resource() -> None:
    sample = make_sample(cpu=85.0, memory=95.5, disks={"/": (80.0, 97.0)}, load_per_cpu=1.25)
    findings = evaluate(sample, DEFAULT_WARNING, DEFAULT_CRITICAL)
    assert [(f["resource"], f["severity"]) for f in findings] == [
        ("memory", CRITICAL),
        ("inodes /", CRITICAL),
        ("cpu", WARNING),
        ("disk /", WARNING),
        ("load", WARNING),
    ]
    messages = [f["message"] for f in findings]
    assert "memory 95.5 % used (critical at 90 %)" in messages
    assert "cpu 85.0 % busy (warning at 80 %)" in messages
    assert "load 1.25 per CPU over 5 min (warning at 1)" in messages
    assert overall_status(findings) == CRITICAL


def test_load_window_selects_the_average_compared() -> None:
    sample = make_sample(load_per_cpu=0.5)  # 1 min: 1.5, 5 min: 0.5, 15 min: 0.25
    assert evaluate(sample, DEFAULT_WARNING, DEFAULT_CRITICAL, load_window=5) == []
    (finding,) = evaluate(sample, DEFAULT_WARNING, DEFAULT_CRITICAL, load_window=1)
    assert finding["message"] == "load 1.50 per CPU over 1 min (warning at 1)"


def test_file_system_without_inode_count_gives_no_inode_finding() -> None:
    sample = make_sample(disks={"/data": (10.0, None)})
    zero = dict.fromkeys(DEFAULT_WARNING, 0.0)
    resources = [f["resource"] for f in evaluate(sample, zero, zero)]
    assert resources == ["cpu", "memory", "disk /data", "load"]


def test_overall_status_warning_without_critical() -> None:
    assert overall_status([{"severity": WARNING}, {"severity": WARNING}]) == WARNING


# --- redaction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["engine", "--token=abc123"], ["engine", f"--token={REDACTED}"]),
        (["psql", "--password", "hunter2", "-d", "mev"], ["psql", "--password", REDACTED, "-d", "mev"]),
        (["env", "PGPASSWORD=s3cr3t", "psql"], ["env", f"PGPASSWORD={REDACTED}", "psql"]),
        (
            ["worker", "--db", "postgres://mev:pa55w0rd@db.internal:5432/mev"],
            ["worker", "--db", f"postgres://mev:{REDACTED}@db.internal:5432/mev"],
        ),
        (
            ["redis-cli", "-u", "redis://:topsecret@127.0.0.1:6379/0"],
            ["redis-cli", "-u", f"redis://:{REDACTED}@127.0.0.1:6379/0"],
        ),
        (["bot", "--api-key", "K"], ["bot", "--api-key", REDACTED]),
        (["bot", "--jwt-secret=/etc/jwt.hex"], ["bot", f"--jwt-secret={REDACTED}"]),
        (["bot", "AWS_SECRET_ACCESS_KEY=x"], ["bot", f"AWS_SECRET_ACCESS_KEY={REDACTED}"]),
        (["bot", "--private-key", "0x" + "ab" * 32], ["bot", "--private-key", REDACTED]),
        (["cast", "send", "0x" + "4f" * 32], ["cast", "send", REDACTED]),
        (["bot", "--auth:Bearer xyz"], ["bot", f"--auth:{REDACTED}"]),
    ],
)
def test_secret_looking_arguments_are_redacted(args: list[str], expected: list[str]) -> None:
    assert redact_args(args) == expected


@pytest.mark.parametrize(
    "args",
    [
        ["reth", "node", "--authrpc.port", "8551", "--http.port=8545"],
        ["postgres", "-D", "/var/lib/postgresql/15/main", "-p", "5432"],
        ["anvil", "--fork-url", "http://127.0.0.1:8545", "--chain-id", "1"],
        # An address is 40 hex digits, not a key.
        ["cast", "balance", "0x" + "ab" * 20],
    ],
)
def test_ordinary_arguments_are_kept(args: list[str]) -> None:
    assert redact_args(args) == args


def test_secret_flag_at_the_end_redacts_nothing_after_it() -> None:
    assert redact_args(["tool", "--password"]) == ["tool", "--password"]


def test_cmdline_is_joined_and_truncated() -> None:
    line = redact_cmdline(["python3", "-m", "mev_engine", "--token", "abc", *["--chain=1"] * 40], limit=60)
    assert line.startswith(f"python3 -m mev_engine --token {REDACTED} --chain=1")
    assert len(line) == 60
    assert line.endswith("...")
    assert "abc" not in line
    assert redact_cmdline(["sleep", "1"]) == "sleep 1"


# --- top_processes --------------------------------------------------------------------


def test_top_processes_orders_by_key_then_pid_and_limits() -> None:
    rows = [
        {"pid": 3, "cpu_percent": 5.0},
        {"pid": 1, "cpu_percent": 50.0},
        {"pid": 2, "cpu_percent": 5.0},
        {"pid": 4, "cpu_percent": None},
    ]
    assert [row["pid"] for row in top_processes(rows, "cpu_percent", 3)] == [1, 2, 3]
    assert top_processes(rows, "cpu_percent", 0) == []
