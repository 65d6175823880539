"""Fixtures: real PostgreSQL, Redis and anvil on loopback, started here and stopped after."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis as redis_lib
from eth_account import Account

sys.path.insert(0, str(Path(__file__).resolve().parent))

import services
from devnet import ETH, Devnet, EngineProcesses, Pools, engine_config

from mev_engine.keystore import create_keystore

KEYSTORE_PASSWORD = "correct horse battery staple"
API_TOKEN = "t" * 16 + secrets.token_hex(16)


@pytest.fixture(scope="session")
def postgres() -> Iterator[services.Postgres]:
    server = services.start_postgres()
    try:
        services.apply_migrations(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[services.Redis]:
    server = services.start_redis()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: services.Redis) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def db(postgres: services.Postgres) -> Iterator[psycopg.Connection[Any]]:
    services.truncate(postgres)
    with psycopg.connect(postgres.admin_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def anvil_binary() -> str:
    return services.find_anvil()


@pytest.fixture
def node(anvil_binary: str) -> Iterator[services.AnvilNode]:
    started = services.start_anvil(anvil_binary, chain_id=31337)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def compiled() -> dict[str, dict[str, Any]]:
    return services.compile_contracts()


@pytest.fixture(scope="session")
def hot_wallet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """One encrypted keystore (scrypt n=262144) for the whole session: its KDF takes a second."""
    account = Account.create()
    path = tmp_path_factory.mktemp("keystore") / "hot.json"
    create_keystore(path, KEYSTORE_PASSWORD, account.key.hex())
    return path, account


@pytest.fixture
def devnet(node: services.AnvilNode, compiled: dict[str, dict[str, Any]]) -> Devnet:
    return Devnet(node.url, compiled)


@pytest.fixture
def cold_wallet() -> str:
    return Account.create().address


@pytest.fixture
def engine(
    tmp_path: Path,
    redis_client: redis_lib.Redis,
    redis_server: services.Redis,
    postgres: services.Postgres,
    db: psycopg.Connection[Any],
    node: services.AnvilNode,
    hot_wallet: tuple[Path, Any],
    cold_wallet: str,
) -> Iterator[Callable[..., EngineProcesses]]:
    """Factory: write engine.yml for this test's services and start the named components."""
    started: list[EngineProcesses] = []

    def make(components: tuple[str, ...], pools: Pools | None = None, **options: Any) -> EngineProcesses:
        api_port = services.free_port()
        config = engine_config(
            tmp_path,
            redis_url=redis_server.url,
            postgres_dsn=postgres.engine_dsn,
            chain_url=options.pop("chain_url", node.url),  # a test may put a proxy in front of the node
            chain_id=node.chain_id,
            keystore=hot_wallet[0],
            cold_wallet=cold_wallet,
            api_port=api_port,
            pools=pools,
            **options,
        )
        env = {
            "MEV_API_TOKEN": API_TOKEN,
            "MEV_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD,
            "MEV_DB_PASSWORD": services.ENGINE_DB_PASSWORD,
        }
        processes = EngineProcesses(config, env, f"http://127.0.0.1:{api_port}", API_TOKEN)
        started.append(processes)
        for component in components:
            processes.start(component)
        if "monitoring" in components:
            processes.wait_http()
        return processes

    yield make
    for processes in started:
        codes = processes.stop_all()
        bad = {c: code for c, code in codes.items() if code != 0}
        assert not bad, f"components did not exit cleanly on SIGTERM: {bad}\n" + "\n".join(
            processes.log(c) for c in bad
        )


@pytest.fixture
def funded_hot(devnet: Devnet, hot_wallet: tuple[Path, Any]) -> Any:
    account = hot_wallet[1]
    devnet.fund(account.address, 100 * ETH)
    return account
