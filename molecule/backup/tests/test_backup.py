"""Verify the backup role end to end on one container: real backups, real restores, real faults.

The playbooks run for real (ansible-playbook from the controller over the docker connection),
in file order: archives, refusals, point-in-time restore, interrupted restore (resume and
rollback), the drill on a good and a tampered backup, PostgreSQL stopped during a backup, the
secrets grep of a -vvv run, and last the full repository (it leaves a tmpfs behind until the
scenario is destroyed).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

HOST = "mevops-backup-db"
ROOT = Path(__file__).resolve().parents[3]
SCENARIO = yaml.safe_load((ROOT / "molecule/backup/molecule.yml").read_text())
HOSTVARS = SCENARIO["provisioner"]["inventory"]["host_vars"][HOST]
CIPHER_PASS = HOSTVARS["backup_repo_cipher_pass"]
# Test-only age identity; backup_archive_recipients in molecule.yml is its public half.
IDENTITY = "AGE-SECRET-KEY-1UWG5QJ2G5TC0FU9RWDEVGP4YFA90D7DJ70TYYCVZV9UL9DCDM8DSH08FZ9"
KEYSTORE_PASSWORD = "molecule-keystore-password-never-printed"
API_TOKEN = "molecule-api-token-0123456789abcdef0123"
DATA = "/var/lib/postgresql/15/main"
REPO = "/var/lib/pgbackrest"
STATE = "/var/lib/mevops-backup"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inv") / "hosts.yml"
    hostvars = dict(
        HOSTVARS,
        ansible_connection="community.docker.docker",
        backup_archive_identity=IDENTITY,
        mev_engine_keystore_password=KEYSTORE_PASSWORD,
        mev_engine_api_token=API_TOKEN,
    )
    hosts = {HOST: hostvars}
    path.write_text(
        yaml.safe_dump({"all": {"children": {"databases": {"hosts": hosts}, "engines": {"hosts": {HOST: {}}}}}})
    )
    return path


def playbook(inventory: Path, name: str, *args: str, **extra_vars) -> subprocess.CompletedProcess:
    # The repository's ansible.cfg, not molecule's (whose result format wraps long messages).
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "MOLECULE_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    argv = [str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / name), *args]
    for key, value in extra_vars.items():
        argv += ["-e", json.dumps({key: value})]
    return subprocess.run(argv, cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=900)


def sh(host, command: str) -> str:
    result = host.run(command)
    assert result.rc == 0, f"{command}: {result.stderr}{result.stdout}"
    return result.stdout.strip()


def psql(host, query: str) -> str:
    return sh(host, f"runuser -u postgres -- psql -X -At -d mev_infrastructure -c {json.dumps(query)}")


def tool(host, *args: str, env: str = "") -> tuple[int, dict]:
    result = host.run(f"{env} mevops-backup {' '.join(args)}")
    lines = [line for line in result.stdout.splitlines() if line.startswith("mevops-backup-result ")]
    return result.rc, json.loads(lines[-1][len("mevops-backup-result ") :]) if lines else {}


def good(host, kind: str = "database") -> list[str]:
    _rc, listing = tool(host, "list", "--kind", kind)
    return [row["id"] for row in listing["backups"] if row["good"]]


def insert(host, marker: str, count: int) -> None:
    psql(
        host,
        "INSERT INTO mev.opportunities (chain, strategy_type, profit_estimate) "
        f"SELECT 'ethereum', '{marker}', g FROM generate_series(1, {count}) g",
    )


def markers(host) -> dict[str, int]:
    out = psql(host, "SELECT strategy_type, count(*) FROM mev.opportunities GROUP BY 1 ORDER BY 1")
    return {line.split("|")[0]: int(line.split("|")[1]) for line in out.splitlines() if line}


def said(result: subprocess.CompletedProcess) -> str:
    """A run's output with whitespace runs as one space: the YAML result format folds long messages."""
    return " ".join(result.stdout.split())


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_pgbackrest_config_and_archiving(host):
    conf = host.file("/etc/pgbackrest/pgbackrest.conf")
    assert (conf.user, conf.group, conf.mode) == ("root", "postgres", 0o640)
    assert "repo1-cipher-type=aes-256-cbc" in conf.content_string
    assert psql(host, "SHOW archive_mode") == "on"
    assert psql(host, "SHOW archive_command") == "pgbackrest --stanza=mev archive-push %p"
    sh(host, "runuser -u postgres -- pgbackrest --stanza=mev check")
    # The repository is encrypted: a WAL segment in it does not carry PostgreSQL's page magic.
    info = json.loads(sh(host, "runuser -u postgres -- pgbackrest --stanza=mev --output=json info"))
    assert info[0]["cipher"] == "aes-256-cbc"
    for timer in ("db-full", "db-diff", "db-incr", "config", "keys", "verify", "drill"):
        assert host.service(f"mevops-backup-{timer}.timer").is_enabled


def test_archives_are_encrypted_and_never_clear(host, inventory):
    result = playbook(inventory, "backup.yml", "--tags", "config,keys")
    assert_ok(result)
    assert "keystore archive keys-" in said(result) and "config archive config-" in said(result)
    for kind in ("config", "keys"):
        assert good(host, kind), f"no good {kind} archive"
    for path in sh(host, f"ls {STATE}/archives").split():
        assert host.file(f"{STATE}/archives/{path}").mode == 0o600
        assert sh(host, f"head -c 21 {STATE}/archives/{path}") == "age-encryption.org/v1"
    # Neither the keystore's nor the env file's content sits anywhere in the backup folders in clear.
    for needle in ("00000000000000000000000000000000000000aa", API_TOKEN):
        assert host.run(f"grep -rl {needle} {STATE} {REPO}").rc == 1


def test_first_database_backup_is_good(host, inventory):
    insert(host, "first", 11)
    result = playbook(inventory, "backup.yml", "--tags", "database", backup_db_type="full")
    assert_ok(result)
    assert "database full backup" in said(result)
    assert len(good(host)) >= 1


@pytest.mark.parametrize("job", ["config", "keys", "db-incr", "verify", "drill"])
def test_every_timer_job_runs_inside_its_sandbox(host, job):
    """The timers start the units, not the playbook: each runs under its README's hardening
    (root archives without CAP_DAC_OVERRIDE write their manifests beside postgres's)."""
    result = host.run(f"systemctl start mevops-backup-{job}.service")
    journal = host.run(f"journalctl -u mevops-backup-{job}.service -n 20 --no-pager").stdout
    assert result.rc == 0, f"mevops-backup-{job}: {result.stderr}{journal}"
    row = json.loads(sh(host, "mevops-job-report status"))["jobs"][f"mevops-backup-{job}"]
    assert row["failed"] == 0, row


def test_restore_refuses_without_confirmation_and_lists_what_it_replaces(host, inventory):
    before = sh(host, f"stat -c %i {DATA}")
    result = playbook(inventory, "restore.yml")
    assert result.returncode != 0
    assert "Not restoring: set -e backup_restore_confirm=true" in said(result)
    assert f"PostgreSQL data dir {DATA} moved to" in said(result)
    assert "file /etc/mev/keystore/hot.json" in said(result)
    assert sh(host, f"stat -c %i {DATA}") == before
    assert host.service("postgresql@15-main").is_running


def test_wrong_passphrase_refuses_before_touching_data(host, inventory):
    before = sh(host, f"stat -c %i {DATA}")
    result = playbook(
        inventory,
        "restore.yml",
        backup_restore_confirm=True,
        backup_repo_cipher_pass="a-wrong-passphrase-for-this-repository",
    )
    assert result.returncode != 0
    assert "repository cannot be read" in said(result)
    assert sh(host, f"stat -c %i {DATA}") == before
    assert host.service("postgresql@15-main").is_running
    assert not host.file(f"{STATE}/restore-state.json").exists
    # A wrong age identity is refused the same way, before anything is stopped.
    result = playbook(
        inventory,
        "restore.yml",
        backup_restore_confirm=True,
        backup_archive_identity="AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
    )
    assert result.returncode != 0
    assert sh(host, f"stat -c %i {DATA}") == before
    assert host.service("postgresql@15-main").is_running


def test_point_in_time_restore_keeps_exactly_the_first_rows(host, inventory):
    first = markers(host)
    target = psql(host, "SELECT now()")
    time.sleep(1.5)
    insert(host, "later", 9)
    result = playbook(
        inventory, "restore.yml", backup_restore_confirm=True, backup_restore_target="time", backup_restore_time=target
    )
    assert_ok(result)
    assert markers(host) == first
    assert "later" not in markers(host)
    assert "previous data kept in" in said(result)
    # The current data was set aside, not deleted, and the engine files came back as archived.
    assert host.run(f"ls -d {DATA}.pre-restore-*").rc == 0
    assert host.file("/etc/mev/keystore/hot.json").content_string.startswith('{"version": 3')
    assert psql(host, "SELECT pg_is_in_recovery()") == "f"


def test_interrupted_restore_is_completed_by_a_rerun(host, inventory):
    expected = markers(host)
    rc, _output = tool(host, "restore-db", "--target", "end", env="MEVOPS_BACKUP_FAULT_AFTER=aside")
    assert rc == 75
    assert json.loads(sh(host, f"cat {STATE}/restore-state.json"))["phase"] == "aside"
    assert not host.file(DATA).exists
    result = playbook(inventory, "restore.yml", backup_restore_confirm=True)
    assert_ok(result)
    assert markers(host) == expected


def test_interrupted_restore_can_put_the_old_data_back(host, inventory):
    insert(host, "kept", 4)
    expected = markers(host)
    rc, _output = tool(host, "restore-db", "--target", "backup", env="MEVOPS_BACKUP_FAULT_AFTER=restoring")
    assert rc == 75
    result = playbook(inventory, "restore.yml", backup_restore_confirm=True, backup_restore_rollback=True)
    assert_ok(result)
    assert markers(host) == expected
    assert not host.file(f"{STATE}/restore-state.json").exists


def test_drill_passes_on_a_good_backup_and_fails_on_a_tampered_one(host, inventory):
    assert_ok(playbook(inventory, "backup.yml", "--tags", "database", backup_db_type="full"))
    result = playbook(inventory, "restore_drill.yml")
    assert_ok(result)
    assert "counts and checksums equal to the manifest" in said(result)
    assert not host.file(f"{STATE}/drill").exists
    label = good(host)[-1].removeprefix("database-")
    victim = sh(host, f"find {REPO}/backup/mev/{label}/pg_data -type f -size +50k | sort | head -1")
    sh(host, f"cp -p {victim} /root/untampered")
    try:
        sh(host, f"printf XXXXXXXXXXXXXXXX | dd of={victim} bs=1 seek=100 conv=notrunc")
        result = playbook(inventory, "restore_drill.yml")
        assert result.returncode != 0
        assert "restore drill failed" in said(result)
        # pgbackrest verify names the backup, and from then on it no longer counts as good.
        rc, _output = tool(host, "verify")
        assert rc == 1
        assert f"database-{label}" not in good(host)
    finally:
        sh(host, f"cp -p /root/untampered {victim}")
        tool(host, "verify")
    assert f"database-{label}" in good(host)


def test_postgresql_stopped_during_a_backup(host, inventory):
    insert(host, "bulk", 200000)
    before = good(host)
    host.run("(mevops-backup db --type full > /root/during.out 2>&1; echo $? > /root/during.rc) &")
    time.sleep(1)
    sh(host, "systemctl stop postgresql@15-main")
    for _round in range(120):
        if host.file("/root/during.rc").exists:
            break
        time.sleep(1)
    sh(host, "systemctl start postgresql@15-main")
    assert sh(host, "cat /root/during.rc") != "0", sh(host, "cat /root/during.out")
    assert good(host) == before
    newest = json.loads(sh(host, f"ls -t {STATE}/manifests/database-*.json | head -1 | xargs cat"))
    assert newest["status"] == "failed"
    # The previous good backup still restores (into the drill's scratch instance).
    rc, report = tool(host, "drill")
    assert rc == 0 and report["passed"], report
    assert report["label"] == before[-1].removeprefix("database-")


def test_secrets_never_appear_in_verbose_output(host, inventory):
    runs = {
        "keystore archive keys-": playbook(inventory, "backup.yml", "-vvv", "--tags", "keys"),
        # Opens the repository with the passphrase and decrypts the archives with the identity, then refuses.
        "check-archive": playbook(inventory, "restore.yml", "-vvv"),
    }
    for evidence, result in runs.items():
        output = result.stdout + result.stderr
        assert evidence in output  # the run really got as far as the secrets
        for secret in (CIPHER_PASS, IDENTITY, KEYSTORE_PASSWORD, API_TOKEN):
            assert secret not in output


def test_full_repository_is_a_clear_error_and_lists_nothing_corrupt(host, inventory):
    before = good(host)
    used = int(sh(host, f"du -sk {REPO} | cut -f1"))
    # The repository moves onto a tmpfs, shrunk to what it holds plus 512 KiB: a new full backup cannot fit.
    sh(
        host,
        f"rm -rf /root/repo-copy && mkdir -p /root/repo-copy && cp -a {REPO}/. /root/repo-copy/ && "
        f"mount -t tmpfs -o size={used + 65536}k,mode=0750,uid=$(id -u postgres),gid=$(id -g postgres) tmpfs {REPO} "
        f"&& cp -a /root/repo-copy/. {REPO}/ && "
        f"mount -o remount,size=$(( $(df -k --output=used {REPO} | tail -1) + 512 ))k {REPO}",
    )
    try:
        rc, result = tool(host, "db", "--type", "full")
        assert rc == 1
        assert f"the repository filesystem {REPO} is full" in result["msg"], result
        assert good(host) == before
    finally:
        sh(host, f"umount {REPO}")
    assert good(host) == before
    # A full archive folder: a clear error, no partial archive left, nothing new counted as good.
    config_before = good(host, "config")
    sh(host, f"mount -t tmpfs -o size=4k,mode=0700 tmpfs {STATE}/archives")
    try:
        rc, result = tool(host, "archive", "--kind", "config")
        assert rc == 1
        assert "no space left" in result["msg"].lower(), result
        assert sh(host, f"ls -A {STATE}/archives") == ""
    finally:
        sh(host, f"umount {STATE}/archives")
    assert good(host, "config") == config_before
