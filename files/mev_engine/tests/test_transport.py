"""Arrival times are taken when the transport received a message, not when the consumer took it."""

from __future__ import annotations

import asyncio
import time

import websockets
from websockets.asyncio.server import ServerConnection, serve

from mev_engine.transport import StampedConnection


def test_arrival_is_stamped_at_the_transport() -> None:
    async def scenario() -> None:
        async def handler(connection: ServerConnection) -> None:
            await connection.send("first")
            await connection.send("second" * 10_000, text=True)  # more than one socket read
            await connection.wait_closed()

        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with websockets.connect(f"ws://127.0.0.1:{port}", create_connection=StampedConnection) as socket:
                assert isinstance(socket, StampedConnection)
                sent = time.monotonic()
                await asyncio.sleep(0.3)  # both messages wait in the library's queue meanwhile
                taken = []
                for _message in range(2):
                    await socket.recv()
                    taken.append((time.monotonic(), socket.next_arrival()))
                for took, (arrival, wall) in taken:
                    assert arrival - sent < 0.2  # arrived long before the consumer took it
                    assert took - arrival >= 0.25
                    assert abs(wall - time.time()) < 5
                assert taken[0][1][0] <= taken[1][1][0]
                assert not socket.arrivals

    asyncio.run(scenario())
