"""`mev-engine preflight` and `mev-cli preflight check`: is every dependency reachable and usable?

Names each failure; both commands go through `preflight()` so they check and report alike.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from mev_engine.config import REQUIRED_SECRETS, ConfigError, EngineConfig, load_config
from mev_engine.keystore import KeystoreError, load_account
from mev_engine.rpc import RpcClient, RpcError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_postgres(config: EngineConfig) -> Check:
    try:
        with psycopg.connect(config.postgres_dsn_with_password(), connect_timeout=5) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT to_regclass('mev.opportunities') IS NOT NULL, to_regclass('mev.transactions') IS NOT NULL"
            )
            row = cur.fetchone()
            if not row or not all(row):
                return Check(
                    "postgresql", False, "connected, but mev.opportunities/mev.transactions are missing (migrations?)"
                )
            cur.execute("SELECT has_table_privilege('mev.transactions', 'INSERT')")
            row = cur.fetchone()
            if not row or not row[0]:
                return Check(
                    "postgresql", False, "connected, but the engine's role may not INSERT into mev.transactions"
                )
    except psycopg.Error as exc:
        return Check("postgresql", False, f"{config.postgres_dsn}: {str(exc).strip()}")
    return Check("postgresql", True, "schema mev present and writable")


def check_redis(config: EngineConfig) -> Check:
    try:
        client = redis.Redis.from_url(config.redis_url_with_password(), socket_connect_timeout=5, socket_timeout=5)
        client.ping()
        version = str(client.info("server")["redis_version"])  # type: ignore[index]
        client.close()
    except redis.RedisError as exc:
        return Check("redis", False, f"{config.redis_url}: {exc}")
    return Check("redis", True, f"Redis {version}")


def check_chain(config: EngineConfig, name: str) -> list[Check]:
    """Each provider of the chain on its own (the primary, then every backup): it answers and
    serves the configured chain id. A backup on another chain would sign for the wrong network."""
    chain = config.chains[name]
    checks = []
    for endpoint in chain.endpoints:
        label = f"chain:{name}" if endpoint.label == "primary" else f"chain:{name}:{endpoint.label}"
        client = RpcClient(name, [endpoint], timeout=5)
        try:
            chain_id = client.chain_id()
            head = client.block_number()
        except RpcError as exc:
            checks.append(Check(label, False, str(exc)))
            continue
        if chain_id != chain.chain_id:
            checks.append(
                Check(label, False, f"{endpoint.shown} serves chain id {chain_id}, configured {chain.chain_id}")
            )
        else:
            checks.append(Check(label, True, f"{endpoint.shown}: chain id {chain_id}, head {head}"))
    return checks


def check_keystore(config: EngineConfig) -> Check:
    try:
        account = load_account(config.keystore, config.secrets.keystore_password)
    except KeystoreError as exc:
        return Check("keystore", False, str(exc))
    if account.address.lower() == config.cold_wallet.lower():
        return Check("keystore", False, "the hot wallet is the cold wallet: withdrawals would go nowhere")
    return Check("keystore", True, f"hot wallet {account.address}")


def run_preflight(config: EngineConfig) -> list[Check]:
    checks = [check_postgres(config), check_redis(config)]
    for name in config.chains:
        checks += check_chain(config, name)
    checks.append(check_keystore(config))
    return checks


def report(checks: list[Check], prog: str) -> int:
    """Print one line per check (failures on stderr) and a summary naming the failed ones; 0 or 1."""
    for check in checks:
        stream = sys.stdout if check.ok else sys.stderr
        print(f"{'ok' if check.ok else 'FAILED'} {check.name}: {check.detail}", file=stream)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        print(f"{prog}: {len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def preflight(config_path: Path, env_file: Path | None, prog: str) -> int:
    """Load the configuration with every secret, run every check, report: the exit code (0 or 1)."""
    try:
        config = load_config(config_path, env_file, require_secrets=REQUIRED_SECRETS)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    return report(run_preflight(config), prog)
