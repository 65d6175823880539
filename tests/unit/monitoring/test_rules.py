"""The alert rules of the monitoring role, rendered with its defaults by Ansible and
checked and tested with promtool (`check rules`, `test rules`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from monitoring.helpers import HERE, TOP, known_metrics, metric_names

# Every alert the runbooks name, with the severities the role gives it.
EXPECTED_ALERTS = {
    ("MevEngineDown", "critical"),
    ("MevComponentDown", "critical"),
    ("HighDetectionLatency", "critical"),
    ("HighErrorRate", "critical"),
    ("HighApiLatency", "warning"),
    ("LowBundleSuccessRate", "warning"),
    ("LowBundleSuccessRate", "critical"),
    ("RpcFailures", "warning"),
    ("RpcEndpointFailing", "warning"),
    ("RpcOnBackup", "warning"),
    ("NoOpportunities", "warning"),
    ("LowProfitability", "warning"),
    ("LowWalletBalance", "warning"),
    ("LowWalletBalance", "critical"),
    ("NodeOutOfSync", "critical"),
    ("DatabaseDown", "critical"),
    ("RedisDown", "critical"),
    ("HostHighMemory", "warning"),
    ("HostHighMemory", "critical"),
    ("HostHighCpu", "warning"),
    ("HostHighCpu", "critical"),
    ("HostHighDisk", "warning"),
    ("HostHighDisk", "critical"),
    # The collection's scheduled jobs and silent failures (textfile, node_exporter, postgres_exporter).
    ("OomKill", "critical"),
    ("BackupStale", "critical"),
    ("BackupFailed", "critical"),
    ("WalArchivingFailing", "critical"),
    ("ScheduledJobFailed", "warning"),
    ("DiskGuardActed", "warning"),
    ("JobMetricsUnreadable", "warning"),
    ("IntegrityChanged", "critical"),
    ("SecurityCheckCritical", "critical"),
    ("HotWalletUnrecordedTransaction", "critical"),
}


def run_promtool_tests(promtool: str, rules_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    shutil.copy(rules_dir / "mev_alerts.yml", tmp_path / "mev_alerts.yml")
    shutil.copy(HERE / "alerts_test.yml", tmp_path / "alerts_test.yml")
    return subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def test_rules_pass_promtool_check(promtool, rendered):
    result = subprocess.run(
        [promtool, "check", "rules", str(rendered / "mev_alerts.yml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 33 rules found" in result.stdout


def test_every_runbook_alert_is_a_rule_with_severity_and_runbook(rules):
    assert {(r["alert"], r["labels"]["severity"]) for r in rules} == EXPECTED_ALERTS
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
        for line in (TOP / "docs" / "alerts.md").read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in rules:
        assert set(rule["annotations"]) == {"summary", "description", "runbook"}, rule["alert"]
        base, _hash, anchor = rule["annotations"]["runbook"].partition("#")
        assert base == "mevops.infra/docs/alerts.md"
        assert anchor in anchors, f"{rule['alert']}: docs/alerts.md has no section #{anchor}"


def test_every_metric_a_rule_names_is_known(rules):
    known = known_metrics()
    for rule in rules:
        unknown = metric_names(rule["expr"]) - known
        assert not unknown, f"{rule['alert']} names {sorted(unknown)}, not in roles/monitoring/files/metrics.yml"


def test_promtool_unit_tests_pass(promtool, rendered, tmp_path):
    result = run_promtool_tests(promtool, rendered, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_and_severity_is_fired_by_a_promtool_test():
    tests = yaml.safe_load((HERE / "alerts_test.yml").read_text())["tests"]
    fired = {
        (case["alertname"], alert["exp_labels"]["severity"])
        for test in tests
        for case in test["alert_rule_test"]
        for alert in case["exp_alerts"]
    }
    assert fired == EXPECTED_ALERTS
    # Each test also feeds a healthy series: some subject (instance, chain, address, mountpoint)
    # among the inputs fires nothing.
    subject_keys = ("instance", "chain", "address", "mountpoint")
    for test in tests:
        fed = {
            tuple(dict(re.findall(r'(\w+)="([^"]*)"', s["series"])).get(k) for k in subject_keys)
            for s in test["input_series"]
        }
        firing = {
            tuple(str(alert["exp_labels"].get(k)) if k in alert["exp_labels"] else None for k in subject_keys)
            for case in test["alert_rule_test"]
            for alert in case["exp_alerts"]
        }
        assert fed - firing, f"{test['name']}: every series fed fires; add one that must not"


def test_a_moved_threshold_fails_the_promtool_tests(promtool, render, tmp_path):
    # The tests can fail: with the warning threshold under 0.3 ETH the 0xA wallet no longer warns.
    out = tmp_path / "moved"
    result = render(out, {"monitoring_alert_wallet_balance_warning_eth": 0.2})
    assert result.returncode == 0, result.stdout + result.stderr
    tested = run_promtool_tests(promtool, out, tmp_path)
    assert tested.returncode != 0
    assert "LowWalletBalance" in tested.stdout + tested.stderr


def test_thresholds_and_durations_are_variables(render, tmp_path):
    result = render(
        tmp_path,
        {
            "monitoring_alert_detection_latency_seconds": 0.05,
            "monitoring_alert_memory_critical_percent": 95,
            "monitoring_alert_for_overrides": {"NodeOutOfSync": "10m", "WalArchivingFailing": "30m"},
            "monitoring_alert_backup_max_age_hours": 50,
            "monitoring_alert_disk_guard_recent_hours": 6,
            "monitoring_alert_runbook_base": "https://wiki.example/alerts",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    groups = yaml.safe_load((tmp_path / "mev_alerts.yml").read_text())["groups"]
    rules = {(r["alert"], r["labels"]["severity"]): r for g in groups for r in g["rules"]}
    assert rules[("HighDetectionLatency", "critical")]["expr"].endswith("> 0.05")
    assert rules[("HostHighMemory", "critical")]["expr"].endswith("> 95")
    assert rules[("NodeOutOfSync", "critical")]["for"] == "10m"
    assert rules[("WalArchivingFailing", "critical")]["for"] == "30m"
    assert rules[("BackupStale", "critical")]["expr"].endswith("> 50 * 3600")
    assert rules[("DiskGuardActed", "warning")]["expr"].endswith("< 6 * 3600")
    assert rules[("MevEngineDown", "critical")]["annotations"]["runbook"] == "https://wiki.example/alerts#mevenginedown"


def test_preflight_refuses_inverted_thresholds(render, tmp_path):
    result = render(tmp_path, {"monitoring_alert_wallet_balance_critical_eth": 0.6})
    assert result.returncode != 0
    assert "monitoring_alert_wallet_balance_critical_eth (0.6)" in result.stdout


def test_preflight_refuses_an_unknown_alert_duration(render, tmp_path):
    result = render(tmp_path, {"monitoring_alert_for_overrides": {"NoSuchAlert": "1m"}})
    assert result.returncode != 0
    assert "monitoring_alert_for / monitoring_alert_for_overrides must name exactly these alerts" in result.stdout


def test_preflight_refuses_a_zero_backup_age(render, tmp_path):
    result = render(tmp_path, {"monitoring_alert_backup_max_age_hours": 0})
    assert result.returncode != 0
    assert "Alert thresholds out of range" in result.stdout
