"""Redis replies are parsed by hiredis (a C parser) in both the synchronous and asyncio clients."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis._parsers import _AsyncHiredisParser, _HiredisParser

from mev_engine.runtime import connect_redis


def test_the_sync_client_parses_with_hiredis(redis_server: Any) -> None:
    class Config:  # the two fields connect_redis reads
        redis_url = redis_server.url

        def redis_url_with_password(self) -> str:
            return self.redis_url

    config: Any = Config()
    client = connect_redis(config)
    connection = client.connection_pool.get_connection()
    try:
        assert isinstance(connection._parser, _HiredisParser)
    finally:
        client.connection_pool.release(connection)
        client.close()


def test_the_asyncio_client_parses_with_hiredis(redis_server: Any) -> None:
    async def parser() -> Any:
        client = aioredis.from_url(redis_server.url)  # as detection makes it
        try:
            await client.ping()
            connection = await client.connection_pool.get_connection()
            found = connection._parser
            await client.connection_pool.release(connection)
            return found
        finally:
            await client.aclose()

    assert isinstance(asyncio.run(parser()), _AsyncHiredisParser)
