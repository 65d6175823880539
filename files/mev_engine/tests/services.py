"""Throwaway PostgreSQL, Redis and anvil on loopback for the engine's tests, plus the
contract toolchain (solc-js from npm) and deployment helpers.

PostgreSQL: Debian's postgresql binaries, a cluster initdb'd in a temporary folder as
the `postgres` OS user (when run as root), on a free port. The `mev` schema comes from
the postgresql role's migration files (roles/postgresql/files/migrations, or
$MEV_MIGRATIONS_DIR), applied the way its `mev-db migrate` applies them: schema and
mev.schema_migrations first, then each NNN_name.sql as role mev_owner.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

PACKAGE = Path(__file__).resolve().parents[1]
TOP = PACKAGE.parents[1]
sys.path.insert(0, str(TOP / "tests" / "unit"))

from anvilnode import AnvilNode, find_anvil, free_port, start_anvil  # noqa: E402

__all__ = ["AnvilNode", "find_anvil", "free_port", "start_anvil"]

MIGRATIONS = Path(os.environ.get("MEV_MIGRATIONS_DIR", TOP / "roles" / "postgresql" / "files" / "migrations"))
ENGINE_DB_USER = "mev_engine"
ENGINE_DB_PASSWORD = "engine-test-password"
BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS mev;
CREATE TABLE IF NOT EXISTS mev.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


class ServiceUnavailable(RuntimeError):
    """A service binary is missing; the message says which package to install."""


def _wait(predicate: Any, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout:g}s\n{tail}")


# ------------------------------------------------------------------------------ PostgreSQL


def _pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise ServiceUnavailable("PostgreSQL is not installed: apt-get install postgresql (scripts/unit.sh does)")
    return Path(found[-1]).parent


@dataclass
class Postgres:
    datadir: Path
    port: int
    bindir: Path
    as_user: list[str]

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/mev_infrastructure"

    @property
    def engine_dsn(self) -> str:
        return f"postgresql://{ENGINE_DB_USER}@127.0.0.1:{self.port}/mev_infrastructure"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres() -> Postgres:
    bindir = _pg_bindir()
    base = Path(tempfile.mkdtemp(prefix="mev-engine-pg-"))
    datadir = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres OS user
        postgres = pwd.getpwnam("postgres")
        os.chown(base, postgres.pw_uid, postgres.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        capture_output=True,
        check=True,
    )
    port = free_port()
    log = base / "postgres.log"
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(log), "-o", options, "-w", "start"],
        capture_output=True,
        check=True,
    )
    server = Postgres(datadir, port, bindir, as_user)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE mev_infrastructure")
    return server


def apply_migrations(server: Postgres) -> list[str]:
    """Create the roles the migrations expect and apply them like `mev-db migrate` does."""
    files = sorted(MIGRATIONS.glob("*.sql"))
    if not files:
        raise ServiceUnavailable(
            f"no migrations in {MIGRATIONS}: the postgresql role owns the mev schema "
            "(roles/postgresql/files/migrations); set MEV_MIGRATIONS_DIR to a checkout that has them"
        )
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        for role in ("mev_owner", "mev_writer", "mev_reader"):
            conn.execute(f"CREATE ROLE {role} NOLOGIN")
        conn.execute("GRANT CREATE ON DATABASE mev_infrastructure TO mev_owner")
        conn.execute(f"CREATE ROLE {ENGINE_DB_USER} LOGIN PASSWORD '{ENGINE_DB_PASSWORD}' IN ROLE mev_writer")
        conn.execute("SET ROLE mev_owner")
        conn.execute(BOOTSTRAP)
        for path in files:
            with conn.transaction():
                conn.execute(path.read_text())  # type: ignore[arg-type]
    return [p.name for p in files]


def truncate(server: Postgres) -> None:
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE mev.opportunities, mev.transactions, mev.profits, mev.wallet_audit")


# ---------------------------------------------------------------------------------- Redis


@dataclass
class Redis:
    process: subprocess.Popen[bytes]
    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_redis() -> Redis:
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceUnavailable("redis-server is not installed: apt-get install redis-server (scripts/unit.sh does)")
    folder = Path(tempfile.mkdtemp(prefix="mev-engine-redis-"))
    port = free_port()
    log = folder / "redis.log"
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder),
         "--logfile", str(log)],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    import redis as redis_lib

    def answers() -> bool:
        try:
            return bool(redis_lib.Redis(port=port, socket_connect_timeout=0.2).ping())
        except redis_lib.RedisError:
            return False

    _wait(answers, 10, "redis-server", log)
    return Redis(process, port, folder)


# ------------------------------------------------------------------------------ contracts


def ensure_solc() -> str:
    script = PACKAGE / "scripts" / "ensure-solc.sh"
    done = subprocess.run([str(script)], capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise ServiceUnavailable(f"{script} failed: {done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def compile_contracts() -> dict[str, dict[str, Any]]:
    solcjs = ensure_solc()
    done = subprocess.run(
        ["node", str(PACKAGE / "contracts" / "compile.js"), solcjs, str(PACKAGE / "contracts")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"solc failed:\n{done.stderr}")
    return json.loads(done.stdout)
