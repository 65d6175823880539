"""The devnet's stand-in for a hosted RPC provider (Alchemy, Infura, QuickNode): the chains'
backup endpoints (`engine.backups` in the devnet's chain catalogue).

A hosted provider is another route to the same chain. Here that is a plain TCP relay on the
engine host's loopback, run as its own user, to the node host's JSON-RPC/WebSocket port: the
same anvil by another route, so the engine's own route to the node can be blackholed (nftables,
`meta skuid`) while the backup still answers (tests/integration/test_41_provider_failover.py).

    python3 devnet_provider.py LISTEN_ADDRESS:PORT=UPSTREAM_ADDRESS:PORT [...]
"""

from __future__ import annotations

import asyncio
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def relay(upstream: tuple[str, int]):
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            node_reader, node_writer = await asyncio.wait_for(asyncio.open_connection(*upstream), 5)
        except (OSError, TimeoutError) as exc:
            print(f"cannot reach {upstream[0]}:{upstream[1]}: {exc}", file=sys.stderr, flush=True)
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, node_writer), pipe(node_reader, client_writer))

    return handle


def endpoint(text: str) -> tuple[str, int]:
    host, _colon, port = text.rpartition(":")
    return host.strip("[]"), int(port)


async def main(pairs: list[str]) -> None:
    servers = []
    for pair in pairs:
        listen, _equals, upstream = pair.partition("=")
        servers.append(await asyncio.start_server(relay(endpoint(upstream)), *endpoint(listen)))
        print(f"relaying {listen} to {upstream}", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    if len(sys.argv) < 2 or any("=" not in arg for arg in sys.argv[1:]):
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1:]))
