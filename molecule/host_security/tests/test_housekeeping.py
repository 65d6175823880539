"""journald limits, logrotate, and the disk guard on a filled log folder."""

from __future__ import annotations

import base64
import json

import pytest

testinfra_hosts = ["docker://mevops-security-node"]

LOGS = "/var/log/mev"
OUTSIDE = ["/var/lib/mev-chain/ancient/000001.ldb", "/var/backups/mev/db-old.tar.gz", "/tmp/keep_me"]


def sha(host, path: str) -> str:
    return host.check_output(f"sha256sum {path}").split()[0]


def test_journald_limits_are_in_force(host):
    out = host.check_output("systemd-analyze cat-config systemd/journald.conf")
    assert "SystemMaxUse=2G" in out
    assert "MaxRetentionSec=1month" in out


def test_logrotate_config_parses(host):
    assert host.run("logrotate --debug /etc/logrotate.d/mevops").rc == 0
    assert "rotate 14" in host.file("/etc/logrotate.d/mevops").content_string


@pytest.fixture
def filled_logs(host):
    """A 32 MB tmpfs on /var/log/mev filled past 90 %, and files the guard must not touch."""
    host.check_output(f"mount -t tmpfs -o size=32m,mode=0755 tmpfs {LOGS}")
    script = f"""
set -e
cd {LOGS}
yes 'INFO engine heartbeat ok' | head -c 2M > engine.log
yes 'INFO engine rotated yesterday' | head -c 20M > engine.log.1; touch -d '1 day ago' engine.log.1
head -c 2M /dev/urandom > engine.log.2.gz; touch -d '2 days ago' engine.log.2.gz
head -c 4M /dev/urandom > engine.log.3.gz; touch -d '30 days ago' engine.log.3.gz
head -c 2M /dev/urandom > positions.dat; touch -d '30 days ago' positions.dat
mkdir -p /var/lib/mev-chain/ancient /var/backups/mev
head -c 1M /dev/urandom > {OUTSIDE[0]}; head -c 1M /dev/urandom > {OUTSIDE[1]}; echo keep > {OUTSIDE[2]}
touch -d '60 days ago' {" ".join(OUTSIDE)}
echo scratch > /tmp/mev_scratch; touch -d '3 days ago' /tmp/mev_scratch
"""
    encoded = base64.b64encode(script.encode()).decode()
    host.check_output(f"echo {encoded} | base64 -d | bash")
    yield
    host.run(f"umount {LOGS}")
    host.run(f"rm -rf /var/lib/mev-chain /var/backups/mev {OUTSIDE[2]} /tmp/mev_scratch")


def test_disk_guard_frees_the_log_folder_and_nothing_else(host, filled_logs):
    before_pct = int(host.check_output(f"df --output=pcent {LOGS} | tail -1").strip(" %"))
    assert before_pct >= 90
    kept = {path: sha(host, path) for path in [*OUTSIDE, f"{LOGS}/positions.dat", f"{LOGS}/engine.log.2.gz"]}
    expired = sha(host, f"{LOGS}/engine.log.3.gz")

    host.check_output("systemctl start mevops-disk-guard.service")

    report = json.loads(host.file("/var/lib/mevops/disk_guard.json").content_string)
    assert report["cleanup_ran"] is True
    assert report["freed_bytes"] > 20 * 1024 * 1024
    log_fs = next(fs for fs in report["filesystems"] if fs["path"] == LOGS)
    assert log_fs["used_percent_before"] >= 90
    assert log_fs["used_percent_after"] < 80
    assert int(host.check_output(f"df --output=pcent {LOGS} | tail -1").strip(" %")) < 80

    names = host.check_output(f"ls {LOGS}").split()
    # Every rotated copy is compressed; the active log was rotated (copytruncate) to empty.
    assert [n for n in names if n.startswith("engine.log.") and not n.endswith(".gz")] == []
    assert host.file(f"{LOGS}/engine.log").size == 0
    hashes = {sha(host, f"{LOGS}/{n}") for n in names}
    assert expired not in hashes  # older than the 14 days kept
    assert kept.pop(f"{LOGS}/engine.log.2.gz") in hashes  # recent rotated log kept (maybe renumbered)
    for path, digest in kept.items():
        assert sha(host, path) == digest, f"{path} was touched"
    assert not host.file("/tmp/mev_scratch").exists
