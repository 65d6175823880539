"""postgresql: the runbook's "last hour, active, newest first" query with the role's indexes vs without.

Starts a throwaway PostgreSQL cluster from Debian's binaries (socket only, in a temporary
folder), applies the role's migrations with its own `mev-db`, loads one million
opportunities spread over a year of monthly partitions, and times (EXPLAIN ANALYZE) the
Troubleshooting Guide's query

    SELECT id, chain, strategy_type, profit_estimate FROM mev.opportunities
    WHERE detected_at > now() - interval '1 hour' AND status = 'active'
    ORDER BY detected_at DESC LIMIT 100

first with the role's indexes, then after dropping them (the primary key (id, detected_at)
and monthly partition pruning stay), in the same run and session: medians of execution and
of planning time over 50 runs each. Stops the cluster and removes the folder. Prints one line:
`pg_query rows=… with_index_exec_ms=… without_index_exec_ms=… speedup=… …`. Nothing fails on a number.
Needs Debian's postgresql-15 and python3-psycopg2 (apt-get install postgresql-15 python3-psycopg2).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
ROLE = TOP / "roles" / "postgresql" / "files"
ROWS = int(os.environ.get("MEVOPS_BENCH_ROWS", "1000000"))
REPEAT = 50
PORT = "55439"
QUERY = (
    "SELECT id, chain, strategy_type, profit_estimate FROM mev.opportunities "
    "WHERE detected_at > now() - interval '1 hour' AND status = 'active' "
    "ORDER BY detected_at DESC LIMIT 100"
)
ROLE_INDEXES = ["opportunities_profit_idx", "opportunities_strategy_profit_idx", "idx_opportunities_timestamp"]


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found or not Path("/usr/bin/python3").exists():
        sys.exit("pg_query: needs Debian's PostgreSQL and psycopg2: apt-get install postgresql-15 python3-psycopg2")
    return found[-1].parent


def scans(node: dict) -> set[str]:
    """The kinds of scans in a plan (Index Scan, Seq Scan, ...), without the nodes above them."""
    found = {node["Node Type"].replace(" ", "_")} if "Scan" in node["Node Type"] else set()
    for child in node.get("Plans", []):
        found |= scans(child)
    return found


def as_postgres(argv: list[str], **kw) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + argv, check=True, text=True, capture_output=True, **kw)


def main() -> int:
    bindir = pg_bin()
    work = Path(tempfile.mkdtemp(prefix="mevops-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(work, "postgres", "postgres")
    data = work / "data"
    env = dict(os.environ, PGHOST=str(work), PGPORT=PORT)

    def psql(sql: str, db: str = "mev_infrastructure") -> str:
        return as_postgres(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql], env=env).stdout

    def timed() -> tuple[float, float, str]:
        """Median execution and planning time over REPEAT runs in one session (warm caches)."""
        argv = ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", "mev_infrastructure"]
        for _round in range(REPEAT + 1):
            argv += ["-c", "EXPLAIN (ANALYZE, FORMAT JSON) " + QUERY, "-c", r"\echo @@"]
        chunks = [c for c in as_postgres(argv, env=env).stdout.split("@@") if c.strip()][1:]  # first one warms up
        plans = [json.loads(c)[0] for c in chunks]
        node = "+".join(sorted(scans(plans[0]["Plan"])))
        return (
            statistics.median(p["Execution Time"] for p in plans),
            statistics.median(p["Planning Time"] for p in plans),
            node,
        )

    started = False
    try:
        as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        opts = f"-c listen_addresses='' -k {work} -p {PORT} -c fsync=off -c synchronous_commit=off "
        opts += "-c full_page_writes=off -c shared_buffers=256MB -c max_wal_size=4GB -c random_page_cost=1.1"
        as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(work / "log"), "-w", "start"])
        started = True
        for role in ("mev_owner", "mev_writer", "mev_reader"):
            psql(f"CREATE ROLE {role} NOLOGIN", db="postgres")
        psql("CREATE DATABASE mev_infrastructure OWNER mev_owner", db="postgres")
        as_postgres(
            ["/usr/bin/python3", str(ROLE / "mev-db"), "--port", PORT, "migrate", "--dir", str(ROLE / "migrations")],
            env=env,
        )
        months = ROWS * 32 // (86400 * 28) + 2
        psql(
            "SELECT mev.create_monthly_partitions('opportunities', "
            f"(now() - interval '{months} months')::date, now()::date)"
        )
        # One row every 31.5 s going back from now (1M rows: a year), 5 % active, 20 % detected.
        psql(
            "INSERT INTO mev.opportunities (chain, strategy_type, status, profit_estimate, block_number, "
            "detected_at, created_at, details) "
            "SELECT (ARRAY['ethereum','base','arbitrum','optimism','polygon'])[1 + g % 5], "
            "(ARRAY['arbitrage','backrun','liquidation'])[1 + g % 3], "
            "CASE WHEN g % 20 = 0 THEN 'active' WHEN g % 5 = 0 THEN 'detected' "
            "WHEN g % 3 = 0 THEN 'executed' ELSE 'expired' END, "
            "(g % 9973)::numeric * 1000000000000, 20000000 - g, "
            "now() - g * interval '31.5 seconds', now() - g * interval '31.5 seconds', '{}'::jsonb "
            f"FROM generate_series(1, {ROWS}) AS g"
        )
        psql("VACUUM ANALYZE mev.opportunities")
        total = psql("SELECT count(*) FROM mev.opportunities").strip()
        partitions = psql("SELECT count(*) FROM pg_inherits WHERE inhparent = 'mev.opportunities'::regclass").strip()
        if os.environ.get("MEVOPS_BENCH_PLAN"):
            print(psql("EXPLAIN (ANALYZE, BUFFERS) " + QUERY), file=sys.stderr)
        with_ms, with_plan_ms, with_node = timed()
        for index in ROLE_INDEXES:
            psql(f"DROP INDEX mev.{index}")
        psql("ANALYZE mev.opportunities")
        if os.environ.get("MEVOPS_BENCH_PLAN"):
            print(psql("EXPLAIN (ANALYZE, BUFFERS) " + QUERY), file=sys.stderr)
        without_ms, without_plan_ms, without_node = timed()
        hits = psql(
            QUERY.replace("SELECT id, chain, strategy_type, profit_estimate", "SELECT count(*) FROM (SELECT 1") + ") q"
        )
    finally:
        if started:
            as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"pg_query rows={total} partitions={partitions} hits={hits.strip()} with_index_exec_ms={with_ms:.3f} "
        f"without_index_exec_ms={without_ms:.3f} speedup={without_ms / with_ms:.1f}x "
        f"with_index_plan_ms={with_plan_ms:.3f} without_index_plan_ms={without_plan_ms:.3f} "
        f"scans_with={with_node} scans_without={without_node}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
