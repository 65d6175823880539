"""Every scheduled job reports its runs (roles/_common, "Scheduled jobs report"): a success, a
failure with its OnFailure= unit, and the outcome gauges of the integrity check and the disk
guard, in node_exporter's textfile folder where the monitoring role's alerts read them."""

from __future__ import annotations

import json

testinfra_hosts = ["docker://mevops-security-node"]

TEXTFILES = "/var/lib/prometheus/node-exporter"


def gauges(host, name: str) -> dict[str, float]:
    values = {}
    for line in host.file(f"{TEXTFILES}/{name}").content_string.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return values


def status(host) -> dict:
    return json.loads(host.check_output(f"mevops-job-report --dir {TEXTFILES} status"))


def test_every_timer_job_has_the_drop_in_and_a_report_since_installation(host):
    jobs = status(host)["jobs"]
    for unit in ("mevops-disk-guard", "mevops-integrity-check"):
        assert "ExecStopPost=+/usr/local/sbin/mevops-job-report" in host.check_output(f"systemctl cat {unit}.service")
        assert host.check_output(f"systemctl show -P OnFailure {unit}.service") == f"mevops-job-failed@{unit}.service"
        assert jobs[unit]["installed_timestamp_seconds"] > 0
    assert host.file(f"{TEXTFILES}/mevops_job_mevops-disk-guard.prom").mode == 0o644


def test_a_successful_run_is_reported_with_its_outcome(host):
    host.check_output("systemctl start mevops-integrity-check.service")
    job = gauges(host, "mevops_job_mevops-integrity-check.prom")
    label = '{unit="mevops-integrity-check"}'
    assert job[f"mevops_job_failed{label}"] == 0
    assert (
        job[f"mevops_job_last_success_timestamp_seconds{label}"] == job[f"mevops_job_last_run_timestamp_seconds{label}"]
    )
    assert 0 < job[f"mevops_job_last_duration_seconds{label}"] < 600
    assert gauges(host, "mevops_integrity.prom") == {"mevops_integrity_changes": 0}


def test_a_failed_run_is_reported_and_its_failure_unit_runs(host):
    label = '{unit="mevops-disk-guard"}'
    host.check_output("systemctl start mevops-disk-guard.service")
    succeeded = gauges(host, "mevops_job_mevops-disk-guard.prom")[f"mevops_job_last_success_timestamp_seconds{label}"]
    host.check_output("mv /etc/mevops/disk-guard.json /etc/mevops/disk-guard.json.aside")
    try:
        assert host.run("systemctl start mevops-disk-guard.service").rc != 0
        job = gauges(host, "mevops_job_mevops-disk-guard.prom")
        assert job[f"mevops_job_failed{label}"] == 1
        assert job[f"mevops_job_last_success_timestamp_seconds{label}"] == succeeded
        # OnFailure= started the failure unit (not this test), which said so at priority crit.
        line = "mevops-disk-guard entered the failed state (result exit-code)"
        unit = "mevops-job-failed@mevops-disk-guard.service"
        waited = host.run(
            f"for i in $(seq 40); do journalctl -p crit --no-pager -o cat -u {unit} | grep -qF '{line}' && exit 0;"
            " sleep 0.25; done; exit 1"
        )
        assert waited.rc == 0, host.run(f"journalctl --no-pager -u {unit}").stdout
        assert "mevops-disk-guard.service" in status(host)["failed_units"]
    finally:
        host.check_output("mv /etc/mevops/disk-guard.json.aside /etc/mevops/disk-guard.json")
    host.check_output("systemctl reset-failed mevops-disk-guard.service; systemctl start mevops-disk-guard.service")
    assert gauges(host, "mevops_job_mevops-disk-guard.prom")[f"mevops_job_failed{label}"] == 0
    assert "mevops-disk-guard.service" not in status(host)["failed_units"]
