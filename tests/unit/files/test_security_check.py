"""mevops-security-check, the host side of the daily security check: what it reads (the journal,
the key files, ss), the report and the metrics it writes, and that a collector that fails makes
the job fail instead of a clean report."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from scriptload import load_script

TOP = Path(__file__).resolve().parents[3]
# On a host security_findings.py sits beside the script; here it is the collection's module_utils file.
sys.path.insert(0, str(TOP / "plugins" / "module_utils"))
check = load_script(TOP / "roles" / "security_check" / "files" / "mevops-security-check", "mevops_security_check")

SS = """\
tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=101,fd=3))
tcp   LISTEN 0      4096       127.0.0.1:6379      0.0.0.0:*    users:(("redis-server",pid=202,fd=6))
tcp   LISTEN 0      4096      10.77.3.11:8090      0.0.0.0:*    users:(("mev-monitoring",pid=303,fd=9))
tcp   LISTEN 0      5            0.0.0.0:8999      0.0.0.0:*    users:(("python3",pid=404,fd=3))
tcp   LISTEN 0      128             [::]:22           [::]:*    users:(("sshd",pid=101,fd=4))
udp   UNCONN 0      0      127.0.0.53%lo:53        0.0.0.0:*
udp   UNCONN 0      0                  *:30303           *:*    users:(("geth",pid=505,fd=12))
"""


def test_ss_lines_become_listen_ports_facts_entries():
    found = check.listeners(SS)
    assert found[0] == {"protocol": "tcp", "port": 22, "address": "0.0.0.0", "name": "sshd", "pid": "101"}
    assert {(s["protocol"], s["port"], s["address"]) for s in found} == {
        ("tcp", 22, "0.0.0.0"),
        ("tcp", 6379, "127.0.0.1"),
        ("tcp", 8090, "10.77.3.11"),
        ("tcp", 8999, "0.0.0.0"),
        ("tcp", 22, "::"),
        ("udp", 53, "127.0.0.53"),
        ("udp", 30303, "*"),
    }
    assert found[5]["name"] == "?"


def test_file_stats_match_hidden_files_and_do_not_follow_links(tmp_path):
    (tmp_path / "engine.env").write_text("x")
    (tmp_path / ".hidden.env").write_text("x")
    (tmp_path / "other.txt").write_text("x")
    os.chmod(tmp_path / "engine.env", 0o644)
    (tmp_path / "link.env").symlink_to(tmp_path / "other.txt")
    [entry] = check.file_stats([{"path": f"{tmp_path}/*.env", "max_mode": "0600"}])
    by_name = {Path(f["path"]).name: f for f in entry["files"]}
    assert set(by_name) == {"engine.env", ".hidden.env", "link.env"}
    assert by_name["engine.env"]["mode"] == "0644"
    assert by_name["link.env"]["mode"] == "0777"
    assert check.file_stats([{"path": f"{tmp_path}/missing/*"}]) == [
        {"rule": {"path": f"{tmp_path}/missing/*"}, "files": []}
    ]


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A host whose journal and sockets are the fixtures above, with one key folder."""
    keys = tmp_path / "keystore"
    keys.mkdir()
    (keys / "hot.json").write_text("{}")
    os.chmod(keys / "hot.json", 0o600)
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"status": "ok", "checked_at": "2999-01-01T00:00:00+00:00"}))
    monkeypatch.setattr(
        check, "journal_lines", lambda hours: ["Failed password for root from 198.51.100.4 port 6000 ssh2"]
    )
    monkeypatch.setattr(check, "read_listeners", lambda: check.listeners(SS))
    config = {
        "host": "mev-engine-01",
        "auth_window_hours": 24,
        "auth_failures_warning": 5,
        "auth_failures_critical": 50,
        "secret_files": [{"path": f"{keys}/*", "max_mode": "0600"}],
        "expected_listeners": [{"port": 22, "protocol": "tcp"}, {"port": 8090}, {"port": 30303, "protocol": "udp"}],
        "ignore_loopback": True,
        "integrity_summary": str(summary),
        "integrity_max_age_hours": 26,
        "report_file": str(tmp_path / "out" / "security_check.json"),
        "metrics_file": str(tmp_path / "textfile" / "mevops_security_check.prom"),
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_a_run_writes_the_report_and_the_metrics(host, capsys):
    assert check.main(["--config", str(host / "config.json")]) == 0
    report = json.loads((host / "out" / "security_check.json").read_text())
    assert report["host"] == "mev-engine-01"
    assert report["status"] == "critical"
    [critical] = [f for f in report["findings"] if f["severity"] == "critical"]
    assert critical["message"].startswith("unexpected listener tcp/8999 on 0.0.0.0 (python3, pid 404)")
    assert stat.S_IMODE((host / "out" / "security_check.json").stat().st_mode) == 0o640
    metrics = (host / "textfile" / "mevops_security_check.prom").read_text()
    assert 'mevops_security_check_findings{severity="critical"} 1\n' in metrics
    assert "mevops_security_check_timestamp_seconds " in metrics
    assert "security check CRITICAL" in capsys.readouterr().out


def test_no_write_prints_the_report_and_writes_nothing(host, capsys):
    assert check.main(["--config", str(host / "config.json"), "--no-write"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "critical"
    assert not (host / "out").exists() and not (host / "textfile").exists()


def test_a_collector_that_fails_fails_the_job(host, monkeypatch, capsys):
    def broken() -> list:
        raise RuntimeError("ss failed (1): Cannot open netlink socket")

    monkeypatch.setattr(check, "read_listeners", broken)
    assert check.main(["--config", str(host / "config.json")]) == 1
    assert "the check could not run: ss failed" in capsys.readouterr().err
    assert not (host / "out").exists()
