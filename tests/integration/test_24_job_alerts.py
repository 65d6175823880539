"""A scheduled job that fails is heard (issue "nothing fails silently"): a backup job made to
fail on the database host writes its report, node_exporter serves it, Prometheus on the
monitoring host fires BackupFailed after its `for:`, and Alertmanager's critical receiver
posts it to the devnet's alert receiver; then the job succeeds again and the report says so."""

from __future__ import annotations

import json
import time

from conftest import DB_HOST

JOB = "mevops-backup-config"
DROP_IN = f"/run/systemd/system/{JOB}.service.d/mevops-test-fail.conf"
TEXTFILES = "/var/lib/prometheus/node-exporter"


def job_report(devnet) -> dict:
    status = json.loads(devnet.exec(DB_HOST, "mevops-job-report", "--dir", TEXTFILES, "status").stdout)
    return status["jobs"][JOB]


def firing(devnet) -> list[dict]:
    """BackupFailed notifications for the job that reached the receiver's critical path."""
    return [alert for alert in devnet.firing_received("BackupFailed") if alert["labels"].get("unit") == JOB]


def test_a_failed_backup_job_reaches_the_receiver(devnet_ready):
    devnet = devnet_ready
    before = len(firing(devnet))
    # The stand-in for a failure: the job's first step fails (a runtime drop-in, gone at reboot).
    devnet.exec(DB_HOST, "mkdir", "-p", DROP_IN.rsplit("/", 1)[0])
    devnet.exec(DB_HOST, "tee", DROP_IN, input="[Service]\nExecStartPre=/bin/false\n")
    try:
        devnet.systemctl(DB_HOST, "daemon-reload")
        started = time.monotonic()
        assert devnet.systemctl(DB_HOST, "start", f"{JOB}.service", check=False).returncode != 0
        assert job_report(devnet)["failed"] == 1
        deadline = started + 300
        while len(firing(devnet)) == before and time.monotonic() < deadline:
            time.sleep(5)
        took = time.monotonic() - started
        alerts = firing(devnet)
        assert len(alerts) > before, f"BackupFailed for {JOB} did not reach the receiver within {took:.0f} s"
        print(f"BackupFailed reached the receiver {took:.0f} s after the job failed (for: 1m)")
        alert = alerts[-1]
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["instance"] == DB_HOST
        assert alert["annotations"]["runbook"].endswith("#backupfailed")
    finally:
        devnet.exec(DB_HOST, "rm", "-f", DROP_IN)
        devnet.systemctl(DB_HOST, "daemon-reload")
        devnet.systemctl(DB_HOST, "reset-failed", f"{JOB}.service", check=False)
    # The real job runs and succeeds: its report clears the failure.
    devnet.systemctl(DB_HOST, "start", f"{JOB}.service")
    report = job_report(devnet)
    assert report["failed"] == 0
    assert report["last_success_timestamp_seconds"] == report["last_run_timestamp_seconds"]
