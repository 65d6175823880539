"""AIDE baseline over /etc/mev and friends; a modified file shows up in the summary."""

from __future__ import annotations

import json
import re

testinfra_hosts = ["docker://mevops-security-node"]

SUMMARY = "/var/lib/mevops/integrity/summary.json"


def _check(host) -> dict:
    host.check_output("systemctl start mevops-integrity-check.service")
    return json.loads(host.file(SUMMARY).content_string)


def test_daily_timer_is_active(host):
    assert host.service("mevops-integrity-check.timer").is_enabled
    assert host.run("systemctl is-active mevops-integrity-check.timer").stdout.strip() == "active"
    assert host.run("systemctl is-enabled dailyaidecheck.timer").stdout.strip() != "enabled"


def test_baseline_is_clean_then_reports_a_modified_file(host):
    config = "/etc/mev/config.yaml"
    original = host.file(config).content_string
    assert _check(host)["status"] == "clean"
    try:
        host.check_output(f"echo 'rpc: http://attacker.invalid' >> {config}")
        summary = _check(host)
        assert summary["status"] == "changed"
        assert config in summary["changed"]
        assert summary["added"] == [] and summary["removed"] == []
    finally:
        # Put the file back and accept it as the baseline again, as the role does after a
        # deploy (integrity_update_baseline); the ctime change would otherwise remain.
        host.check_output(f"printf %s {original!r} > {config}")
        host.check_output(
            "aide --config /etc/aide/mevops.conf --init >/dev/null && "
            "mv /var/lib/mevops/integrity/aide.db.new.gz /var/lib/mevops/integrity/aide.db.gz"
        )
    assert _check(host)["status"] == "clean"


def test_keystore_and_release_are_watched(host):
    conf = host.file("/etc/aide/mevops.conf").content_string
    for path in ("/etc/mev", "/etc/systemd/system", "/opt/mev", "/opt/evm-node/bin", "/etc/mev/keystore"):
        assert f"\n{re.escape(path)}(/.*)?$ MevopsContent" in conf
    assert host.file("/var/lib/mevops/integrity/aide.db.gz").mode == 0o600
