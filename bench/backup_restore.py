"""backup: pgBackRest full backup and restore vs the runbooks' `pg_dump | gzip` and `gunzip | psql`.

Runs inside the `backup` molecule scenario's container (PostgreSQL + the backup role converged;
it is created with `molecule converge -s backup` when it is not running, and destroyed again
afterwards in that case). In one run, on the same generated database:

1. a bench database `mev_bench` of at least MEVOPS_BENCH_MB (default 1024) MB, made with
   generate_series (a table shaped like the engine's rows, with its primary key);
2. `pgbackrest backup --type=full` (the role's settings: lz4, encrypted, process-max from CPUs)
   against `pg_dump mev_bench | gzip` (the Operations & Deployment Guide's backup script);
3. restore until the data can be queried: `pgbackrest restore` into a scratch data dir + start +
   recovery to consistency, against `createdb` + `gunzip -c | psql` (its recovery script);
4. the restore drill (`mevops-backup drill`: restore, recover to the backup's restore point,
   counts and checksums of the mev tables) after `mevops-backup db --type full`.

Prints one line: `backup_restore db_mb=... pgbackrest_backup_s=... dump_gzip_s=...
pgbackrest_restore_s=... psql_restore_s=... restore_speedup=... drill_s=...`. Nothing fails on a number.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
CONTAINER = os.environ.get("MEVOPS_BENCH_CONTAINER", "mevops-backup-db")
TARGET_MB = int(os.environ.get("MEVOPS_BENCH_MB", "1024"))
SCRATCH = "/var/lib/mevops-bench"
PG_BIN = "/usr/lib/postgresql/15/bin"


def sh(script: str, check: bool = True) -> str:
    result = subprocess.run(
        ["docker", "exec", CONTAINER, "bash", "-ec", script], check=False, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        sys.exit(f"backup_restore: failed: {script[:120]}: {result.stderr.strip()[-600:]}")
    return result.stdout.strip()


def timed(script: str) -> float:
    start = time.monotonic()
    sh(script)
    return time.monotonic() - start


def psql(query: str, db: str = "mev_bench") -> str:
    return sh(f"runuser -u postgres -- psql -X -At -d {db} -c {json.dumps(query)}")


def running() -> bool:
    result = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Running}}", CONTAINER], check=False, capture_output=True, text=True
    )
    return result.stdout.strip() == "true"


def molecule(action: str) -> None:
    env = dict(os.environ, PATH=f"{TOP / '.venv/bin'}:{os.environ['PATH']}")
    subprocess.run(["molecule", action, "-s", "backup"], cwd=TOP, env=env, check=True, capture_output=True)


def generate() -> int:
    sh(
        "runuser -u postgres -- psql -X -q -c 'DROP DATABASE IF EXISTS mev_bench' "
        "-c 'DROP DATABASE IF EXISTS mev_bench_restore' -c 'CREATE DATABASE mev_bench'"
    )
    psql(
        "CREATE TABLE bench_rows (id bigint PRIMARY KEY, chain text NOT NULL, amount numeric NOT NULL, "
        "tx_hash text NOT NULL, detected_at timestamptz NOT NULL)"
    )
    step, start = 2_000_000, 1
    while int(psql("SELECT pg_database_size('mev_bench')")) < TARGET_MB * 1024 * 1024:
        psql(
            "INSERT INTO bench_rows SELECT g, 'ethereum', g::numeric * 1234567891011, "
            "'0x' || md5(g::text) || md5((-g)::text), now() - g * interval '1 second' "
            f"FROM generate_series({start}, {start + step - 1}) g"
        )
        start += step
    psql("CHECKPOINT")
    return int(psql("SELECT pg_database_size('mev_bench')")) // (1024 * 1024)


def pgbackrest_restore() -> float:
    options = (
        f"-c port=55433 -c listen_addresses='' -c unix_socket_directories={SCRATCH} -c archive_mode=off "
        f"-c hba_file={SCRATCH}/data/pg_hba.conf -c ident_file={SCRATCH}/data/pg_ident.conf -c shared_buffers=128MB"
    )
    start = time.monotonic()
    sh(
        f"rm -rf {SCRATCH} && install -d -o postgres -g postgres -m 0700 {SCRATCH} {SCRATCH}/data && "
        f"runuser -u postgres -- pgbackrest --stanza=mev --pg1-path={SCRATCH}/data --type=immediate "
        f"--target-action=promote --archive-mode=off restore && "
        f"runuser -u postgres -- sh -c 'touch {SCRATCH}/data/postgresql.conf {SCRATCH}/data/pg_ident.conf; "
        f'echo "local all postgres peer" > {SCRATCH}/data/pg_hba.conf\' && '
        f'runuser -u postgres -- {PG_BIN}/pg_ctl -D {SCRATCH}/data -l {SCRATCH}/log -w -t 900 -o "{options}" start && '
        f'until [ "$(runuser -u postgres -- psql -X -At -h {SCRATCH} -p 55433 -d mev_bench '
        f"-c 'SELECT NOT pg_is_in_recovery() AND count(*) > 0 FROM bench_rows' 2>/dev/null)\" = t ]; do sleep 0.2; done"
    )
    elapsed = time.monotonic() - start
    sh(f"runuser -u postgres -- {PG_BIN}/pg_ctl -D {SCRATCH}/data -m fast -w stop; rm -rf {SCRATCH}")
    return elapsed


def main() -> int:
    created = not running()
    if created:
        molecule("converge")
    try:
        db_mb = generate()
        backup_s = timed("runuser -u postgres -- pgbackrest --stanza=mev --type=full backup")
        repo_mb = int(sh("du -sm /var/lib/pgbackrest/backup | cut -f1"))
        dump_s = timed("runuser -u postgres -- pg_dump mev_bench | gzip > /var/tmp/mev_bench.sql.gz")
        dump_mb = int(sh("du -m /var/tmp/mev_bench.sql.gz | cut -f1"))
        restore_s = pgbackrest_restore()
        psql_s = timed(
            "runuser -u postgres -- createdb mev_bench_restore && "
            "gunzip -c /var/tmp/mev_bench.sql.gz | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "
            "-d mev_bench_restore > /dev/null"
        )
        rows = psql("SELECT count(*) FROM bench_rows", db="mev_bench_restore")
        assert rows == psql("SELECT count(*) FROM bench_rows"), "the dump restore lost rows"
        sh("mevops-backup db --type full > /dev/null")
        drill = json.loads(sh("mevops-backup drill").splitlines()[-1].split(" ", 1)[1])
    finally:
        sh(
            "rm -f /var/tmp/mev_bench.sql.gz; runuser -u postgres -- psql -X -q -c 'DROP DATABASE IF EXISTS mev_bench' "
            "-c 'DROP DATABASE IF EXISTS mev_bench_restore'",
            check=False,
        )
        if created:
            molecule("destroy")
    print(
        f"backup_restore db_mb={db_mb} repo_mb={repo_mb} dump_gz_mb={dump_mb} pgbackrest_backup_s={backup_s:.1f} "
        f"dump_gzip_s={dump_s:.1f} backup_speedup={dump_s / backup_s:.2f} pgbackrest_restore_s={restore_s:.1f} "
        f"psql_restore_s={psql_s:.1f} restore_speedup={psql_s / restore_s:.2f} drill_s={drill['seconds']:.1f} "
        f"drill_passed={str(drill['passed']).lower()} drill_rows={drill['rows']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
