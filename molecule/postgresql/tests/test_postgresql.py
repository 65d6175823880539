"""Verify the postgresql role: server, computed settings, roles, schema, migrations, maintenance."""

from __future__ import annotations

import json
import re

import pytest

PASSWORD = "molecule-mev-user-pw"
TABLES = ["market_data", "opportunities", "profits", "transactions"]


def psql(host, sql: str, db: str = "mev_infrastructure") -> str:
    cmd = host.run("runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -d %s -c %s", db, sql)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def as_mev_user(host, sql: str, password: str | None = PASSWORD):
    env = f"PGPASSWORD={password} " if password is not None else ""
    return host.run(f"{env}psql -X -At -w -h 127.0.0.1 -U mev_user -d mev_infrastructure -v ON_ERROR_STOP=1 -c %s", sql)


def test_service_active_and_enabled(host):
    svc = host.service("postgresql@15-main")
    assert svc.is_running
    assert svc.is_enabled
    assert host.socket("tcp://127.0.0.1:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:5432").is_listening


def test_cluster_has_checksums_and_utf8(host):
    assert psql(host, "SHOW data_checksums") == "on"
    assert psql(host, "SHOW server_encoding") == "UTF8"


# pg_tune for 2048 MB and 4 CPUs, oltp, ssd (see tests/unit/plugins/filter/test_postgresql_filters.py):
# shared_buffers RAM/4, effective_cache_size 3/4, maintenance_work_mem RAM/16,
# wal_buffers 16MB (3 % of 512MB is above 14MB), work_mem (2048-512)MB / ((300+4)*3) / 2.
EXPECTED_SHOW = {
    "shared_buffers": "512MB",
    "effective_cache_size": "1536MB",
    "maintenance_work_mem": "128MB",
    "wal_buffers": "16MB",
    "work_mem": "862kB",
    "max_connections": "300",
    "min_wal_size": "2GB",
    "max_wal_size": "8GB",
    "random_page_cost": "1.1",
    "effective_io_concurrency": "200",
    "checkpoint_completion_target": "0.9",
    "default_statistics_target": "100",
    "max_worker_processes": "4",
    "max_parallel_workers_per_gather": "2",
    "max_parallel_workers": "4",
    "max_parallel_maintenance_workers": "2",
    "huge_pages": "off",
    "password_encryption": "scram-sha-256",
    "log_min_duration_statement": "1s",
    "log_connections": "on",
    "listen_addresses": "localhost",
}


@pytest.mark.parametrize(("name", "value"), sorted(EXPECTED_SHOW.items()))
def test_computed_settings_are_live(host, name, value):
    assert psql(host, f"SHOW {name}") == value


def test_no_setting_waits_for_a_restart(host):
    assert psql(host, "SELECT count(*) FROM pg_settings WHERE pending_restart") == "0"


def test_settings_come_from_alter_system(host):
    auto = host.file("/var/lib/postgresql/15/main/postgresql.auto.conf").content_string
    assert "shared_buffers = '512MB'" in auto
    assert "work_mem = '862kB'" in auto


def test_hba_is_scram_and_parses(host):
    assert psql(host, "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL") == "0"
    methods = psql(host, "SELECT DISTINCT auth_method FROM pg_hba_file_rules ORDER BY 1").splitlines()
    assert methods == ["peer", "scram-sha-256"]


def test_mev_user_logs_in_with_its_password_only(host):
    ok = as_mev_user(host, "SELECT current_user")
    assert ok.rc == 0 and ok.stdout.strip() == "mev_user"
    assert as_mev_user(host, "SELECT 1", password="wrong-password").rc != 0
    assert as_mev_user(host, "SELECT 1", password=None).rc != 0
    stored = psql(host, "SELECT rolpassword FROM pg_authid WHERE rolname = 'mev_user'", db="postgres")
    assert stored.startswith("SCRAM-SHA-256$")


def test_group_roles_cannot_log_in(host):
    rows = psql(host, "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'mev_%' ORDER BY 1", db="postgres")
    assert rows.splitlines() == ["mev_owner|f", "mev_reader|f", "mev_user|t", "mev_writer|f"]


def test_mev_user_writes_but_cannot_change_the_schema(host):
    assert as_mev_user(host, "SELECT count(*) FROM mev.profits").rc == 0
    ddl = as_mev_user(host, "CREATE TABLE mev.intruder (id int)")
    assert ddl.rc != 0 and "permission denied" in ddl.stderr
    drop = as_mev_user(host, "DELETE FROM mev.schema_migrations")
    assert drop.rc != 0 and "permission denied" in drop.stderr


def test_schema_tables_are_partitioned_with_partitions_ahead(host):
    parents = psql(
        host,
        "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'mev' ORDER BY 1",
    )
    assert parents.splitlines() == TABLES
    for table in TABLES:
        names = psql(
            host,
            f"SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            f"WHERE i.inhparent = 'mev.{table}'::regclass ORDER BY 1",
        ).splitlines()
        # Last month, this month and three ahead at least.
        assert len(names) >= 5, (table, names)
        assert all(re.fullmatch(rf"{table}_y\d{{4}}m\d{{2}}", n) for n in names)
        this_month = psql(host, "SELECT to_char(now() AT TIME ZONE 'UTC', '\"y\"YYYY\"m\"MM')")
        ahead = psql(host, "SELECT to_char((now() AT TIME ZONE 'UTC') + interval '3 months', '\"y\"YYYY\"m\"MM')")
        assert f"{table}_{this_month}" in names and f"{table}_{ahead}" in names


def test_runbook_indexes_exist(host):
    defs = psql(host, "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'mev'")
    assert re.search(
        r"opportunities_profit_idx: .*\(profit_estimate DESC, created_at DESC\) WHERE \(status = 'detected'", defs
    )
    assert re.search(
        r"opportunities_strategy_profit_idx: .*\(strategy_type, profit_estimate DESC, created_at DESC\) "
        r"WHERE \(status = 'detected'",
        defs,
    )
    assert re.search(r"idx_opportunities_timestamp: .*\(detected_at\) WHERE \(status = 'active'", defs)
    assert re.search(r"market_data_time_token_idx: .*\(\"time\" DESC, token_address, dex_address\)", defs)


def test_migrations_recorded_and_rerun_applies_nothing(host):
    files = sorted(f for f in host.file("/usr/local/lib/mevops/postgresql/migrations").listdir() if f.endswith(".sql"))
    recorded = psql(
        host, "SELECT lpad(version::text, 3, '0') || '_' || name || '.sql' FROM mev.schema_migrations ORDER BY 1"
    )
    assert recorded.splitlines() == files
    before = psql(
        host, "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM mev.schema_migrations"
    )
    run = host.run(
        "runuser -u postgres -- /usr/local/sbin/mev-db migrate --dir /usr/local/lib/mevops/postgresql/migrations"
    )
    assert run.rc == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1].removeprefix("mev-db-result "))
    assert result["applied"] == [] and result["pending"] == []
    after = psql(
        host, "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM mev.schema_migrations"
    )
    assert before == after


def test_an_edited_migration_is_refused(host):
    run = host.run(
        "d=$(mktemp -d) && cp /usr/local/lib/mevops/postgresql/migrations/*.sql $d/ && "
        "echo '-- edited' >> $d/002_opportunities.sql && chmod -R a+rX $d && "
        "runuser -u postgres -- /usr/local/sbin/mev-db migrate --dir $d; rc=$?; rm -rf $d; exit $rc"
    )
    assert run.rc == 1
    assert "002_opportunities.sql changed after it was applied" in run.stderr


def test_maintenance_timer_enabled_and_service_valid(host):
    timer = host.service("mevops-db-maintenance.timer")
    assert timer.is_enabled and timer.is_running
    assert "Sun *-*-* 03:30:00" in host.check_output(
        "systemctl show -p TimersCalendar --value mevops-db-maintenance.timer"
    )
    assert host.run("systemd-analyze verify /etc/systemd/system/mevops-db-maintenance.service").rc == 0


def test_maintenance_service_runs_and_reports_to_the_journal(host):
    run = host.run("systemctl start mevops-db-maintenance.service")
    assert run.rc == 0, run.stderr
    assert host.check_output("systemctl show -p Result --value mevops-db-maintenance.service") == "success"
    journal = host.check_output("journalctl -u mevops-db-maintenance.service --no-pager -o cat")
    for table in TABLES:
        assert f"after: mev.{table} partitions=" in journal
    assert "reindex concurrently: mev.opportunities" in journal


def test_maintenance_playbook_ran_under_concurrent_writes(host):
    report = json.loads(host.file("/var/lib/mevops/db_maintenance_report.json").content_string)
    assert sorted(report["vacuumed"]) == TABLES
    assert report["reindexed"] == ["opportunities", "transactions"]
    before = {r["relname"]: r for r in report["before"]}
    after = {r["relname"]: r for r in report["after"]}
    # side_effect expired half of 20000 rows: VACUUM cleared the dead tuples.
    assert before["opportunities"]["dead_tuples"] >= 5000
    assert after["opportunities"]["dead_tuples"] < before["opportunities"]["dead_tuples"] / 10
    writer = json.loads(host.file("/var/lib/mevops-test/writer.json").content_string)
    assert writer["error_count"] == 0, writer["errors"]
    assert writer["inserted"] > 0
    written = int(psql(host, "SELECT count(*) FROM mev.transactions WHERE chain = 'base'"))
    assert written == writer["inserted"]
    # The indexes are valid after REINDEX CONCURRENTLY (no leftover _ccnew copies).
    assert (
        psql(
            host,
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'mev' AND NOT i.indisvalid",
        )
        == "0"
    )
