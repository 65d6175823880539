"""Backup and disaster recovery on the devnet (issue 8): pgBackRest on the database host, age
archives on the engine host, restore.yml across both with the engine stopped and started.

The molecule `backup` scenario proves the single-host details (point in time, drill, faults,
secrets); this proves the procedure on the three-host topology: the engine on another host is
stopped before PostgreSQL is replaced, started after, gated, and left with trading disabled.
"""

from __future__ import annotations

import re
import uuid

# conftest's names are not importable here (tests/unit is on pytest's path and has its own).
DB_HOST = "mevops-devnet-db"
ENGINE_HOST = "mevops-devnet-engine"

ENGINE_UNITS = ("mev-detection", "mev-calculation", "mev-execution", "mev-monitoring")


def markers(devnet, marker: str) -> int:
    return int(devnet.psql(f"SELECT count(*) FROM mev.opportunities WHERE strategy_type = '{marker}'"))


def assert_ok(run) -> None:
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]


def test_restore_on_the_devnet_replaces_the_database_and_leaves_trading_disabled(devnet_ready):
    devnet = devnet_ready
    # Markers of this run only: an earlier run's rows are in the database (and its backups) too.
    kept, after = f"kept-by-backup-{uuid.uuid4().hex[:8]}", f"after-backup-{uuid.uuid4().hex[:8]}"
    devnet.psql(
        "INSERT INTO mev.opportunities (chain, strategy_type, profit_estimate) "
        f"SELECT 'ethereum', '{kept}', g FROM generate_series(1, 3) g",
    )
    taken = devnet.playbook("backup.yml", tags="database,config,keys", extra_vars={"backup_db_type": "full"})
    assert_ok(taken)

    # Written after the backup: the restore to that backup must not bring it back.
    devnet.psql(
        "INSERT INTO mev.opportunities (chain, strategy_type, profit_estimate) "
        f"SELECT 'ethereum', '{after}', g FROM generate_series(1, 2) g",
    )
    data_inode = devnet.exec(DB_HOST, "stat", "-c", "%i", "/var/lib/postgresql/15/main").stdout.strip()

    # Without the confirmation: the plan is printed, nothing is touched, the engine keeps running.
    refused = devnet.playbook("restore.yml")
    assert refused.returncode != 0
    assert "backup_restore_confirm" in refused.stdout
    assert devnet.exec(DB_HOST, "stat", "-c", "%i", "/var/lib/postgresql/15/main").stdout.strip() == data_inode
    assert all(devnet.unit_active(ENGINE_HOST, unit) for unit in ENGINE_UNITS)

    # Trading on before the restore: the restore must turn it off through the API, which it reaches
    # at the engine host's private address (the devnet binds it there, as production).
    status, body = devnet.api("POST", "/api/v1/trading/enable", {"reason": "before the restore"})
    assert status == 200, body
    restored = devnet.playbook(
        "restore.yml", extra_vars={"backup_restore_confirm": True, "backup_restore_target": "backup"}
    )
    assert_ok(restored)
    # The fallback's message (not its task's name, which every run prints), however the output wraps it.
    assert not re.search(r"API\s+did\s+not\s+answer\s+and\s+mev-monitoring\s+is\s+not\s+running", restored.stdout), (
        "the API was not reached"
    )
    assert markers(devnet, kept) == 3
    assert markers(devnet, after) == 0
    # The replaced data is kept beside the new one, never deleted.
    assert devnet.exec(DB_HOST, "sh", "-c", "ls -d /var/lib/postgresql/15/main.pre-restore-*").returncode == 0
    # The engine on the other host came back through the gate, with trading disabled.
    assert all(devnet.unit_active(ENGINE_HOST, unit) for unit in ENGINE_UNITS)
    assert devnet.engine_ready()
    assert devnet.trading_state() == "disabled"
    # Clean up the set-aside copy so that the devnet's disk does not grow run after run.
    devnet.exec(DB_HOST, "sh", "-c", "rm -rf /var/lib/postgresql/15/main.pre-restore-*")
