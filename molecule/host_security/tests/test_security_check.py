"""The daily security check playbook: a clean run passes, a rogue listener or a change
under /etc/mev makes it exit non-zero with a readable report."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

testinfra_hosts = ["docker://mevops-security-node"]

TOP = Path(__file__).resolve().parents[3]


def run_playbook() -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FACT_CACHING="memory",
    )
    return subprocess.run(
        [
            str(TOP / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "-l",
            "mevops-security-node",
            str(TOP / "playbooks" / "security_check.yml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=TOP,
        timeout=600,
        check=False,
    )


def report(host) -> dict:
    return json.loads(host.file("/var/lib/mevops/security_check.json").content_string)


def test_clean_host_passes(host):
    result = run_playbook()
    assert result.returncode == 0, result.stdout[-3000:]
    assert report(host)["status"] in ("ok", "warning")
    assert "security check" in result.stdout


def test_rogue_listener_is_critical(host):
    host.check_output("systemd-run --unit=mevops-test-rogue python3 -m http.server 8999 --bind 0.0.0.0")
    try:
        host.check_output("for i in $(seq 50); do ss -Hltn | grep -q ':8999 ' && exit 0; sleep 0.2; done; exit 1")
        result = run_playbook()
        assert result.returncode != 0
        assert "unexpected listener tcp/8999" in result.stdout
        assert report(host)["status"] == "critical"
    finally:
        host.run("systemctl stop mevops-test-rogue")


def test_loose_env_file_and_config_change_are_critical(host):
    original = host.file("/etc/mev/config.yaml").content_string
    host.check_output("chmod 0644 /etc/mev/engine.env")
    host.check_output("echo 'strategy: changed' >> /etc/mev/config.yaml")
    try:
        result = run_playbook()
        assert result.returncode != 0
        findings = {f["message"] for f in report(host)["findings"] if f["severity"] == "critical"}
        assert any("/etc/mev/engine.env: mode 0644" in m for m in findings), findings
        assert any("/etc/mev/config.yaml" in m for m in findings), findings
    finally:
        host.check_output("chmod 0600 /etc/mev/engine.env")
        host.check_output(f"printf %s {original!r} > /etc/mev/config.yaml")


JOB_REPORT = "/var/lib/prometheus/node-exporter/mevops_job_mevops-security-check.prom"


def test_the_daily_timer_runs_the_same_check_as_a_reported_job(host):
    assert host.service("mevops-security-check.timer").is_enabled
    assert host.service("mevops-security-check.timer").is_running
    host.check_output("rm -f /var/lib/mevops/security_check.json")
    host.check_output("systemctl start mevops-security-check.service")
    found = report(host)
    assert found["host"] == "mevops-security-node"
    # The sandboxed unit sees every socket and key file as the playbook did: nothing critical but the
    # integrity change the test above leaves (its cleanup restores the content, not the inode times).
    assert {f["check"] for f in found["findings"] if f["severity"] == "critical"} <= {"integrity"}
    assert 'mevops_job_failed{unit="mevops-security-check"} 0' in host.file(JOB_REPORT).content_string
    assert host.file("/var/lib/prometheus/node-exporter/mevops_security_check.prom").mode == 0o644


def test_a_check_that_cannot_run_fails_its_job(host):
    host.check_output("mv /etc/mevops/security-check.json /etc/mevops/security-check.json.moved")
    try:
        assert host.run("systemctl start mevops-security-check.service").rc != 0
        assert 'mevops_job_failed{unit="mevops-security-check"} 1' in host.file(JOB_REPORT).content_string
        journal = host.check_output("journalctl -u mevops-security-check.service -n 20 --no-pager")
        assert "the check could not run" in journal
    finally:
        host.check_output("mv /etc/mevops/security-check.json.moved /etc/mevops/security-check.json")
        host.run("systemctl reset-failed mevops-security-check.service")
    host.check_output("systemctl start mevops-security-check.service")
    assert 'mevops_job_failed{unit="mevops-security-check"} 0' in host.file(JOB_REPORT).content_string
