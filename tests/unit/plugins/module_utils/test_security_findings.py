"""The daily security check's findings and report (module_utils/security_findings.py: the filters
and the hosts' mevops-security-check both use it)."""

from __future__ import annotations

from ansible_collections.mevops.infra.plugins.module_utils.security_findings import (
    auth_failures,
    file_findings,
    integrity_finding,
    listener_findings,
    security_report,
    security_report_text,
)

JOURNAL = [
    "Accepted publickey for mevops from 10.0.0.2 port 40000 ssh2: ED25519 SHA256:abc",
    "Invalid user admin from 203.0.113.9 port 51000",
    "Connection closed by invalid user admin 203.0.113.9 port 51000 [preauth]",
    "Connection closed by authenticating user mevops 203.0.113.9 port 51002 [preauth]",
    "Failed password for root from 198.51.100.4 port 6000 ssh2",
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.5",
    "Disconnected from user mevops 10.0.0.2 port 40000",
]


def test_auth_failures_count_one_per_connection():
    finding = auth_failures(JOURNAL, warning=3, critical=10)
    assert finding["details"]["count"] == 4
    assert finding["severity"] == "warning"
    assert finding["details"]["by_source"]["203.0.113.9"] == 2


def test_auth_failures_thresholds():
    assert auth_failures([], 5, 50)["severity"] == "ok"
    many = [f"Failed password for root from 198.51.100.4 port {p} ssh2" for p in range(60)]
    assert auth_failures(many, 5, 50)["severity"] == "critical"


def test_file_findings():
    stats = [
        {
            "rule": {"path": "/etc/mev/*.env", "owner": "root", "max_mode": "0640"},
            "files": [
                {"path": "/etc/mev/a.env", "pw_name": "root", "gr_name": "mev", "mode": "0640"},
                {"path": "/etc/mev/b.env", "pw_name": "root", "gr_name": "root", "mode": "0644"},
                {"path": "/etc/mev/c.env", "pw_name": "mev", "gr_name": "root", "mode": "0600"},
                {"path": "/etc/mev/d.env", "pw_name": "root", "gr_name": "root", "mode": "0740"},
            ],
        },
        {"rule": {"path": "/var/lib/mev/keystore/*"}, "files": []},
    ]
    by_path = {f["details"]["path"]: f for f in file_findings(stats)}
    assert by_path["/etc/mev/a.env"]["severity"] == "ok"
    assert by_path["/etc/mev/b.env"]["severity"] == "critical"
    assert "mode 0644 (at most 0640)" in by_path["/etc/mev/b.env"]["message"]
    assert by_path["/etc/mev/c.env"]["severity"] == "critical"
    assert by_path["/etc/mev/d.env"]["severity"] == "warning"  # owner execute bit only
    assert by_path["/var/lib/mev/keystore/*"]["severity"] == "ok"


def test_listener_findings():
    ports = [
        {"port": 22, "protocol": "tcp", "address": "0.0.0.0", "name": "sshd"},
        {"port": 22, "protocol": "tcp6", "address": "::", "name": "sshd"},
        {"port": 8545, "protocol": "tcp", "address": "127.0.0.1", "name": "anvil"},
        {"port": 30303, "protocol": "udp", "address": "0.0.0.0", "name": "geth"},
        {"port": 8999, "protocol": "tcp", "address": "0.0.0.0", "name": "python3", "pid": 42},
    ]
    expected = [{"port": 22, "protocol": "tcp"}, {"port": 30303, "protocol": "udp"}]
    findings = listener_findings(ports, expected, True)
    assert [f["severity"] for f in findings] == ["critical"]
    assert "tcp/8999 on 0.0.0.0 (python3, pid 42)" in findings[0]["message"]
    assert len(listener_findings(ports, expected, False)) == 2  # loopback 8545 too
    assert listener_findings(ports[:2], expected)[0]["severity"] == "ok"


def test_integrity_finding():
    now = "2026-01-02T05:00:00+00:00"
    clean = {"checked_at": "2026-01-02T04:30:00+00:00", "status": "clean", "added": [], "removed": [], "changed": []}
    assert integrity_finding(clean, 26, now)["severity"] == "ok"
    stale = dict(clean, checked_at="2025-12-30T04:30:00+00:00")
    assert integrity_finding(stale, 26, now)["severity"] == "warning"
    changed = dict(clean, status="changed", changed=["/etc/mev/config.yaml"])
    finding = integrity_finding(changed, 26, now)
    assert finding["severity"] == "critical"
    assert "/etc/mev/config.yaml" in finding["message"]
    assert integrity_finding(None)["severity"] == "warning"


def test_security_report_orders_worst_first():
    report = security_report(
        [
            {"check": "a", "severity": "ok", "message": "fine", "details": {}},
            [{"check": "b", "severity": "critical", "message": "bad", "details": {}}],
            {"check": "c", "severity": "warning", "message": "hm", "details": {}},
        ]
    )
    assert report["status"] == "critical"
    assert [f["check"] for f in report["findings"]] == ["b", "c", "a"]
    lines = security_report_text(report, "node1")
    assert lines[0].startswith("node1: security check CRITICAL")
    assert "[CRITICAL] b: bad" in lines[1]
