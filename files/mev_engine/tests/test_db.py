"""The engine's database connection survives the server ending it while idle (a PostgreSQL
restart, a failover, pg_terminate_backend): the next statement runs on a new connection instead
of failing once ("terminating connection due to administrator command")."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import services

from mev_engine import db as db_module
from mev_engine.db import Database


def test_a_connection_ended_while_idle_is_replaced(
    postgres: services.Postgres, db: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(postgres.engine_dsn, "mev-test-idle")
    database.ping()
    ended = db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mev-test-idle'"
    ).fetchall()
    assert ended == [(True,)], ended
    monkeypatch.setattr(db_module, "IDLE_CHECK_SECONDS", 0.0)  # the connection counts as idle
    database.ping()  # a new connection, no error
    count = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mev-test-idle'"
    assert db.execute(count).fetchone()[0] == 1
    database.close()


def test_without_the_idle_check_the_first_statement_fails(
    postgres: services.Postgres, db: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the check prevents (and proof that the test above can fail)."""
    database = Database(postgres.engine_dsn, "mev-test-busy")
    database.ping()
    db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mev-test-busy'")
    monkeypatch.setattr(db_module, "IDLE_CHECK_SECONDS", 3600.0)  # never idle: no check
    with pytest.raises(psycopg.OperationalError):
        database.ping()
    database.ping()  # and the one after reconnects
    database.close()
