"""The health check's rows, roll-up and rendering."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.filter.health_check import (
    health_alert_rows,
    health_balance_rows,
    health_job_rows,
    health_journal_row,
    health_node_rows,
    health_ready_row,
    health_report,
    health_report_markdown,
    health_report_table,
    health_resource_rows,
    health_row_lines,
    health_rows_at_least,
    health_severity_at_least,
    health_trading_row,
    health_unit_rows,
    health_unreachable_row,
)


def node(name, **result):
    base = {"item": {"name": name, "url": "http://127.0.0.1:8545", "chain_id": 1}, "url": "http://127.0.0.1:8545"}
    return {**base, **result}


def row(host, severity, check="c", target="t", reason="r"):
    return {"host": host, "check": check, "target": target, "severity": severity, "reason": reason}


def test_node_rows_name_the_chain_and_grade_head_age():
    rows = health_node_rows(
        [
            node("ethereum", state="ok", head_number=100, head_age_seconds=2.0, syncing=False, peer_count=None),
            node("base", state="ok", head_number=50, head_age_seconds=45.0, syncing=False, peer_count=3),
            node("polygon", state="ok", head_number=7, head_age_seconds=500.0, syncing=False, peer_count=None),
            node("arbitrum", state="unreachable", reason="connection refused"),
            node(
                "optimism",
                state="ok",
                head_number=1,
                head_age_seconds=1.0,
                syncing=True,
                sync_current=1,
                sync_highest=900,
            ),
            node("avalanche", state="ok", head_number=1, head_age_seconds=1.0, syncing=False, peer_count=0),
        ],
        "node1",
        age_warning=30,
        age_critical=120,
    )
    by_chain = {r["target"]: r for r in rows}
    assert by_chain["chain ethereum"]["severity"] == "ok"
    assert by_chain["chain ethereum"]["reason"] == "head 100 is 2 s old"
    assert by_chain["chain base"]["severity"] == "warning"
    assert "warning at 30 s" in by_chain["chain base"]["reason"]
    assert by_chain["chain polygon"]["severity"] == "critical"
    assert by_chain["chain arbitrum"]["severity"] == "critical"
    assert "connection refused" in by_chain["chain arbitrum"]["reason"]
    assert by_chain["chain optimism"]["severity"] == "critical"
    assert "syncing: block 1 of 900" in by_chain["chain optimism"]["reason"]
    assert by_chain["chain avalanche"]["severity"] == "warning"  # no peers
    assert all(r["host"] == "node1" and r["check"] == "node sync" for r in rows)


def test_node_rows_flag_a_wrong_chain_id():
    [result] = health_node_rows([node("ethereum", state="ok", chain_id=5, chain_id_ok=False)], "h")
    assert result["severity"] == "critical"
    assert "chain id 5" in result["reason"]


SHOW = """Id=mev-monitoring.service
LoadState=loaded
ActiveState=active
SubState=running

Id=mev-detection.service
LoadState=loaded
ActiveState=inactive
SubState=dead

Id=mev-calculation.service
LoadState=loaded
ActiveState=activating
SubState=auto-restart

Id=mev-execution.service
LoadState=not-found
ActiveState=inactive
SubState=dead
"""


def test_unit_rows_require_active():
    rows = health_unit_rows(SHOW, ["mev-monitoring", "mev-detection", "mev-calculation", "mev-execution"], "e")
    assert [r["severity"] for r in rows] == ["ok", "critical", "critical", "critical"]
    assert rows[0]["reason"] == "active (running)"
    assert rows[1]["reason"] == "inactive (dead); must be active"
    assert rows[2]["reason"] == "activating (auto-restart); must be active"
    assert rows[3]["reason"] == "unit not installed"
    assert rows[1]["target"] == "mev-detection.service"


def test_ready_row_names_what_fails():
    assert health_ready_row({"status": 200, "json": {"status": "ready"}}, "e")["severity"] == "ok"
    degraded = health_ready_row(
        {"status": 200, "json": {"status": "degraded", "degraded": {"chain:base": "detection follows backup1"}}}, "e"
    )
    assert (degraded["severity"], degraded["reason"]) == ("warning", "degraded: chain:base: detection follows backup1")
    failing = health_ready_row(
        {"status": 503, "json": {"failing": {"chain:base": "no head seen yet", "redis": "down"}}}, "e"
    )
    assert failing["severity"] == "critical"
    assert failing["reason"] == "not ready: chain:base: no head seen yet; redis: down"
    down = health_ready_row({"status": -1, "msg": "Connection refused"}, "e", "http://127.0.0.1:8090")
    assert down["severity"] == "critical"
    assert "Connection refused" in down["reason"]


def test_trading_row_is_information_except_emergency():
    ok = health_trading_row({"trading": {"state": "disabled", "reason": "cold start"}, "status": {}}, "e")
    assert ok["severity"] == "ok" and ok["reason"].startswith("disabled (cold start)")
    stop = health_trading_row({"trading": {"state": "emergency_stop", "reason": "incident"}}, "e")
    assert stop["severity"] == "warning"
    assert health_trading_row({"failed": True, "msg": "401"}, "e")["severity"] == "critical"


def test_balance_rows_carry_the_module_level():
    result = {
        "balances": [
            {"chain": "ethereum", "address": "0x" + "ab" * 20, "eth": "0.05", "wei": 5 * 10**16, "level": "critical"},
            {"chain": "base", "address": "0x" + "ab" * 20, "eth": "9", "wei": 9 * 10**18, "level": "ok"},
        ]
    }
    rows = health_balance_rows(result, "e", "0.5", "0.1")
    assert [r["severity"] for r in rows] == ["critical", "ok"]
    assert rows[0]["reason"] == "0.05 ETH (critical under 0.1)"
    assert rows[0]["target"].startswith("ethereum 0xabab")
    # failed_when: false keeps the module's message and an empty list; the row says why.
    [down] = health_balance_rows({"failed": False, "msg": "cannot read balances: base: refused", "balances": []}, "e")
    assert down["severity"] == "critical"
    assert down["reason"] == "balances unreadable: cannot read balances: base: refused"


def test_resource_rows_are_findings_or_one_summary():
    clean = health_resource_rows(
        {
            "status": "ok",
            "findings": [],
            "memory": {"used_percent": 40.0},
            "cpu": {"percent": 3.0},
            "disks": [{"mount": "/", "used_percent": 51.2}],
        },
        "h",
    )
    assert clean == [row("h", "ok", "resources", "host", "cpu 3.0 %, memory 40.0 %, disk / 51 %")]
    findings = health_resource_rows(
        {
            "status": "critical",
            "findings": [{"resource": "disk /data", "severity": "critical", "message": "disk /data 91 % used"}],
        },
        "h",
    )
    assert findings[0]["severity"] == "critical" and findings[0]["target"] == "disk /data"


def test_journal_row_counts_error_lines_and_tracebacks():
    lines = ["INFO detection x: head 5", "ERROR execution y: nonce too low", "Traceback (most recent call last)"]
    result = health_journal_row(lines, "e", hours=12, warning=1, critical=3)
    assert result["severity"] == "warning"
    assert result["reason"].startswith("2 error lines; last: Traceback")
    assert health_journal_row(lines * 2, "e", warning=1, critical=3)["severity"] == "critical"
    assert health_journal_row([], "e")["severity"] == "ok"


def test_alert_rows_use_the_alert_severity_and_name_it():
    answer = {
        "status": 200,
        "json": [
            {
                "labels": {"alertname": "NodeOutOfSync", "severity": "critical", "chain": "base"},
                "annotations": {"summary": "base head is old"},
                "startsAt": "2026-01-01T00:00:00.000Z",
                "status": {"state": "active"},
            },
            {"labels": {"alertname": "LowWalletBalance", "severity": "warning"}, "status": {"state": "active"}},
        ],
    }
    answer["json"].append(
        {
            "labels": {"alertname": "HostHighCpu", "severity": "warning", "instance": "db1"},
            "status": {"state": "active"},
        }
    )
    rows = health_alert_rows(answer, "m")
    assert rows[2]["host"] == "db1" and rows[2]["target"] == "HostHighCpu"  # the host the alert is about
    assert rows[0]["host"] == "m"
    assert rows[0]["target"] == "NodeOutOfSync (chain=base)"
    assert rows[0]["severity"] == "critical"
    assert rows[0]["reason"] == "firing since 2026-01-01T00:00:00: base head is old"
    assert rows[1]["severity"] == "warning"
    assert health_alert_rows({"status": 200, "json": []}, "m")[0]["severity"] == "ok"
    assert health_alert_rows({"status": -1, "msg": "refused"}, "m")[0]["severity"] == "critical"


def test_unreachable_row_is_critical():
    result = health_unreachable_row({"unreachable": True, "msg": "Failed to create temporary directory\nmore"}, "db")
    assert result == row("db", "critical", "host", "connection", "unreachable: Failed to create temporary directory")


def test_report_rolls_up_to_the_worst_and_sorts_worst_first():
    report = health_report([[row("b", "ok"), row("a", "warning")], row("c", "critical")], "2026-11-21T08:00:00Z")
    assert report["status"] == "critical"
    assert report["counts"] == {"ok": 1, "warning": 1, "critical": 1}
    assert [r["host"] for r in report["rows"]] == ["c", "a", "b"]
    assert health_report([])["status"] == "ok"
    assert health_report([row("a", "ok"), row("b", "warning")])["status"] == "warning"


def test_report_refuses_malformed_rows():
    with pytest.raises(AnsibleFilterError, match="severity"):
        health_report([row("a", "fatal")])
    with pytest.raises(AnsibleFilterError, match="needs host"):
        health_report([{"host": "a", "severity": "ok"}])


def test_severity_levels_and_selection():
    assert health_severity_at_least("critical", "warning")
    assert not health_severity_at_least("warning", "critical")
    assert not health_severity_at_least("critical", "never")
    rows = [row("a", "ok"), row("b", "warning"), row("c", "critical")]
    assert [r["host"] for r in health_rows_at_least(rows, "warning")] == ["b", "c"]
    assert health_row_lines([row("c", "critical", "redis", "127.0.0.1:6379", "no PONG")]) == [
        "c redis 127.0.0.1:6379: CRITICAL no PONG"
    ]


def test_table_aligns_columns_cuts_long_reasons_and_ends_with_the_summary():
    report = health_report(
        [
            row("node", "critical", "node sync", "chain base", "node unreachable: " + "x" * 300),
            row("engine-host", "ok", "redis", "127.0.0.1:6379", "PONG"),
        ],
        "2026-11-21T08:00:00Z",
    )
    lines = health_report_table(report, width=100).splitlines()
    assert lines[0].split() == ["HOST", "CHECK", "TARGET", "STATUS", "REASON"]
    assert lines[2].startswith("node         node sync  chain base      CRITICAL")
    assert all(len(line) <= 100 for line in lines[:-1])
    assert lines[2].endswith("...")
    # Columns line up: every row's status starts where the header's does.
    column = lines[0].index("STATUS")
    assert lines[2][column:].startswith("CRITICAL") and lines[3][column:].startswith("OK")
    assert lines[-1] == "health: CRITICAL - 1 critical, 0 warning, 1 ok (2026-11-21T08:00:00Z)"


def test_table_cuts_overlong_targets_so_reasons_keep_room():
    report = health_report(
        [row("h", "critical", "alerts", "HighDetectionLatency (chain=ethereum, component=x)", "fires")]
    )
    header, _rule, line, _bottom = health_report_table(report, width=120).splitlines()
    assert "HighDetectionLatency (chain=ethereum,...  CRITICAL" in line  # cut to 40 characters
    assert line.endswith("CRITICAL  fires")
    assert header.index("STATUS") == line.index("CRITICAL")


def test_markdown_escapes_pipes_and_keeps_whole_reasons():
    report = health_report([row("h", "warning", "alerts", "A|B", "y" * 300)])
    text = health_report_markdown(report)
    assert "| h | alerts | A\\|B | warning | " + "y" * 300 + " |" in text
    assert "**health: WARNING - 0 critical, 1 warning, 0 ok**" in text
    assert text.startswith("# Health check\n")


def job_status(jobs, failed_units=(), now=100 * 3600.0):
    return {"now": now, "jobs": jobs, "failed_units": list(failed_units)}


def test_job_rows_all_well():
    hour = 3600.0
    status = job_status(
        {
            "mevops-backup-db-incr": {
                "installed_timestamp_seconds": 0.0,
                "last_success_timestamp_seconds": 98 * hour,
                "failed": 0.0,
            },
            "mevops-disk-guard": {"installed_timestamp_seconds": 0.0},
        }
    )
    rows = {(r["check"], r["target"]): r for r in health_job_rows(status, "db1")}
    assert rows["units", "failed units"]["severity"] == "ok"
    assert rows["jobs", "2 scheduled jobs"]["severity"] == "ok"
    assert rows["backup", "database backup age"]["severity"] == "ok"
    assert rows["backup", "database backup age"]["reason"].startswith("last successful database backup 2.0 h ago")


def test_job_rows_failed_backup_failed_unit_and_stale_backup_are_critical():
    hour = 3600.0
    status = job_status(
        {
            "mevops-backup-db-full": {"last_success_timestamp_seconds": 70 * hour, "failed": 1.0},
            "mevops-integrity-check": {"failed": 1.0},
        },
        failed_units=["mevops-backup-db-full.service", "systemd-remount-fs.service"],
    )
    rows = {
        (r["check"], r["target"]): r
        for r in health_job_rows(status, "db1", 26, ignore_units=["systemd-remount-fs.service"])
    }
    assert rows["units", "failed units"] == {
        "host": "db1",
        "check": "units",
        "target": "failed units",
        "severity": "critical",
        "reason": "mevops-backup-db-full.service",
    }
    assert rows["jobs", "mevops-backup-db-full"]["severity"] == "critical"
    assert "last success 30.0 h ago" in rows["jobs", "mevops-backup-db-full"]["reason"]
    assert rows["jobs", "mevops-integrity-check"]["severity"] == "warning"
    assert "never succeeded" in rows["jobs", "mevops-integrity-check"]["reason"]
    assert rows["backup", "database backup age"]["severity"] == "critical"


def test_job_rows_never_backed_up_is_a_warning_then_critical():
    hour = 3600.0
    fresh = job_status({"mevops-backup-db-incr": {"installed_timestamp_seconds": 99 * hour}})
    (age,) = [r for r in health_job_rows(fresh, "db1") if r["check"] == "backup"]
    assert age["severity"] == "warning" and "installed 1.0 h ago" in age["reason"]
    old = job_status({"mevops-backup-db-incr": {"installed_timestamp_seconds": 10 * hour}})
    (age,) = [r for r in health_job_rows(old, "db1") if r["check"] == "backup"]
    assert age["severity"] == "critical"


def test_job_rows_without_a_report_are_critical():
    (row_,) = health_job_rows({"rc": 2, "stderr": "No such file or directory: mevops-job-report"}, "eng1")
    assert row_["severity"] == "critical" and "No such file" in row_["reason"]
    rows = health_job_rows({"now": 1.0, "jobs": {}, "failed_units": None}, "eng1")
    assert [(r["check"], r["severity"]) for r in rows] == [("units", "critical")]
