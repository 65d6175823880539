"""Detection: new heads and pending transactions of every chain -> `mev:candidates`.

Per chain, over WebSocket when `ws_url` is set (one connection, `eth_subscribe`
newHeads and, when `pending_transactions` is on, newPendingTransactions), otherwise
by HTTP polling every `poll_interval_seconds` (eth_blockNumber + eth_getBlockByNumber
for heads, an eth_newPendingTransactionFilter polled with eth_getFilterChanges for
pending transactions). A chain may list backup providers after its primary (`backups`):
when the one followed fails (no connection, an error, or no pong to a ping within
PING_SECONDS), detection moves to the next at once and, from a backup, returns to the
primary as soon as it answers a probe; the provider followed is `mev_detection_endpoint`
and the `endpoint` field of `mev:chain:<name>`, which /health/ready reports as degraded.

Detection latency (`mev_detection_latency_seconds`) is measured from the moment the
node's notification is read off the socket (the WebSocket frame as the transport received
it, transport.py, not when the event loop took the message; or the HTTP poll's answer)
to the moment Redis acknowledged the candidate on the stream, on the monotonic clock.
Nodes do not say when they themselves saw a block, and block timestamps have one-second
resolution, so the node-to-engine hop is not in the histogram; with polling add up to
one poll interval. Each candidate carries `seen_at` (wall clock, same instant) so a
benchmark can measure end to end from when it sent a transaction. Heads carry the block's
`base_fee_per_gas` (wei, empty on a chain without one), also kept in `mev:chain:<name>`,
so execution prices a transaction without asking the node for the latest block again.
Head freshness is separate: `mev_chain_head_age_seconds` is now minus the newest block's
timestamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Coroutine
from typing import Any, cast

import aiohttp
import orjson
import redis.asyncio as aioredis
import websockets

from mev_engine import streams
from mev_engine.config import ChainConfig, Endpoint, shown_url
from mev_engine.runtime import Runtime
from mev_engine.transport import StampedConnection

log = logging.getLogger(__name__)

BATCH = 500  # candidates written per Redis pipeline at most
RETRY_SECONDS = 1.0  # pause after every provider of a chain failed in turn
CONNECT_SECONDS = 5.0  # WebSocket opening handshake / one HTTP poll request
PING_SECONDS = 5.0  # WebSocket ping interval and pong timeout: a silent provider is dropped within 10 s
CLOSE_SECONDS = 1.0  # a dropped connection's closing handshake: a silent provider never completes it
PRIMARY_PROBE_SECONDS = 15.0  # while a backup serves, how often the primary is asked for its head
PROBE_TIMEOUT_SECONDS = 3.0
# mev:chain:<name>; `endpoint` is the provider detection follows (primary, backup1, ...)
HEAD_FIELDS = ("block_number", "block_hash", "block_timestamp", "base_fee_per_gas", "seen_at", "endpoint")


class Detector:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.config = runtime.config
        self.metrics = runtime.metrics
        self.queue: asyncio.Queue[tuple[float, dict[str, str]]] = asyncio.Queue(maxsize=100_000)
        self.redis: Any = None
        self.head_timestamps: dict[str, int] = {}
        self.following: dict[str, str] = {}  # chain -> label of the provider detection follows
        self.polled: dict[str, int] = {}  # chain -> newest block polled (kept across providers)
        self.stopping = asyncio.Event()
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}

    def child(self, name: str, *values: str) -> Any:
        """The metric's child for these label values, resolved once (`.labels()` is slow per event)."""
        key = (name, values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = self.metrics[name].labels(*values)
        return found

    # ---------------------------------------------------------------- publishing

    async def publisher(self) -> None:
        maxlen = self.config.stream_maxlen
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            pipe = self.redis.pipeline(transaction=False)
            for _arrival, fields in batch:
                pipe.xadd(streams.CANDIDATES, fields, maxlen=maxlen, approximate=True)
                if fields["kind"] == "head":
                    pipe.hset(
                        streams.CHAIN_HEAD.format(chain=fields["chain"]),
                        mapping={k: fields[k] for k in HEAD_FIELDS},
                    )
            try:
                await pipe.execute()
            except Exception as exc:
                log.error("cannot publish %d candidates to Redis: %s", len(batch), exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            done = time.monotonic()
            for arrival, fields in batch:
                self.child("mev_detection_latency_seconds", fields["chain"]).observe(done - arrival)
                self.child("mev_candidates_total", fields["chain"], fields["kind"]).inc()

    def _head(self, chain: ChainConfig, header: dict[str, Any], arrival: float, seen_at: float) -> None:
        number = int(header["number"], 16)
        timestamp = int(header["timestamp"], 16)
        self.head_timestamps[chain.name] = timestamp
        self.child("mev_chain_head_block", chain.name).set(number)
        self.child("mev_chain_head_age_seconds", chain.name).set(max(0.0, time.time() - timestamp))
        base_fee = header.get("baseFeePerGas")
        self._enqueue(
            arrival,
            {
                "chain": chain.name,
                "kind": "head",
                "block_number": str(number),
                "block_hash": header.get("hash") or "",
                "block_timestamp": str(timestamp),
                "base_fee_per_gas": str(int(base_fee, 16)) if base_fee else "",
                "seen_at": f"{seen_at:.6f}",
                "endpoint": self.following.get(chain.name, "primary"),
            },
        )

    def _pending(self, chain: ChainConfig, tx_hash: str, arrival: float, seen_at: float) -> None:
        self._enqueue(
            arrival, {"chain": chain.name, "kind": "pending_tx", "tx_hash": tx_hash, "seen_at": f"{seen_at:.6f}"}
        )

    def _enqueue(self, arrival: float, fields: dict[str, str]) -> None:
        try:
            self.queue.put_nowait((arrival, fields))
        except asyncio.QueueFull:
            log.error(
                "candidate queue full (Redis too slow?): dropping a %s candidate of %s", fields["kind"], fields["chain"]
            )

    # ---------------------------------------------------------------- sources

    def _count(self, chain: str, method: str, status: str) -> None:
        self.child("mev_rpc_requests_total", chain, method, status).inc()

    async def follow(self, chain: ChainConfig) -> None:
        """The chain's providers in turn: the primary, and on its failure the next backup at once
        (then the next, and after a full round a pause of RETRY_SECONDS). While a backup serves,
        the primary is probed every PRIMARY_PROBE_SECONDS and taken back as soon as it answers."""
        endpoints = chain.endpoints
        index = 0
        while True:
            endpoint = endpoints[index]
            self._following(chain, endpoint)
            source = self.websocket(chain, endpoint) if endpoint.ws_url else self.polling(chain, endpoint)
            try:
                if index == 0:
                    await source
                elif await self._until_primary_answers(chain, source):
                    log.warning("%s: primary %s answers again: following it", chain.name, endpoints[0].shown)
                    index = 0
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("%s: %s %s failed: %s", chain.name, endpoint.label, endpoint.shown, exc)
            index = (index + 1) % len(endpoints)
            if index == 0:
                await asyncio.sleep(RETRY_SECONDS)
            else:
                log.warning("%s: failing over to %s %s", chain.name, endpoints[index].label, endpoints[index].shown)

    async def _until_primary_answers(self, chain: ChainConfig, source: Coroutine[Any, Any, None]) -> bool:
        """Run a backup's source until the primary answers a probe (True); its failure raises."""
        session = asyncio.ensure_future(source)
        probe = asyncio.ensure_future(self._probe_primary(chain))
        try:
            done, _pending = await asyncio.wait([session, probe], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (session, probe):
                task.cancel()
            for task in (session, probe):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if session in done:
            session.result()  # raises the backup's failure
            return False
        return True

    async def _probe_primary(self, chain: ChainConfig) -> None:
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            while True:
                await asyncio.sleep(PRIMARY_PROBE_SECONDS)
                with contextlib.suppress(ConnectionError):
                    await self._rpc(session, chain, chain.endpoints[0], "eth_blockNumber", [])
                    return

    def _following(self, chain: ChainConfig, endpoint: Endpoint) -> None:
        self.following[chain.name] = endpoint.label
        for other in chain.endpoints:
            self.child("mev_detection_endpoint", chain.name, other.label).set(1 if other.label == endpoint.label else 0)

    async def websocket(self, chain: ChainConfig, endpoint: Endpoint) -> None:
        """One connection to the endpoint; returns or raises when it ends. A silent connection
        (a blackholed provider) is found by the WebSocket ping within 2 x PING_SECONDS, and left
        after CLOSE_SECONDS more."""
        if endpoint.ws_url is None:
            raise ValueError(f"{chain.name}: {endpoint.label} has no ws_url")
        try:
            async with websockets.connect(
                endpoint.ws_url,
                max_size=2**24,
                ping_interval=PING_SECONDS,
                ping_timeout=PING_SECONDS,
                open_timeout=CONNECT_SECONDS,
                close_timeout=CLOSE_SECONDS,
                proxy=None,
                create_connection=StampedConnection,
            ) as socket:
                await self._subscribed(chain, endpoint, socket)
        except Exception:
            self._count(chain.name, "eth_subscribe", "unreachable")
            raise
        raise ConnectionError("the node closed the connection")

    async def _subscribed(self, chain: ChainConfig, endpoint: Endpoint, socket: Any) -> None:
        stamped = cast(StampedConnection, socket)  # create_connection above
        await socket.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
        if chain.pending_transactions:
            await socket.send(
                json.dumps({"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe", "params": ["newPendingTransactions"]})
            )
        # The current head as well: ready at once, and strategies see the state at start.
        await socket.send(
            json.dumps({"jsonrpc": "2.0", "id": 3, "method": "eth_getBlockByNumber", "params": ["latest", False]})
        )
        subscriptions: dict[str, str] = {}
        log.info("%s: subscribed over %s %s", chain.name, endpoint.label, shown_url(endpoint.ws_url or ""))
        async for raw in socket:
            arrival, seen_at = stamped.next_arrival()
            # orjson: node messages carry quantities as hex strings (orjson reads integers past
            # 64 bits as floats, so stream payloads with wei amounts keep the json module).
            message = orjson.loads(raw)
            if message.get("id") == 3:
                self._count(chain.name, "eth_getBlockByNumber", "error" if "error" in message else "ok")
                if message.get("result"):
                    self._head(chain, message["result"], arrival, seen_at)
                continue
            if "id" in message:
                kind = "newHeads" if message["id"] == 1 else "newPendingTransactions"
                if "error" in message:
                    self._count(chain.name, "eth_subscribe", "error")
                    log.warning("%s: %s subscription refused: %s", chain.name, kind, message["error"])
                else:
                    self._count(chain.name, "eth_subscribe", "ok")
                    subscriptions[message["result"]] = kind
                continue
            params = message.get("params") or {}
            source = subscriptions.get(params.get("subscription", ""))
            if source == "newHeads":
                self._head(chain, params["result"], arrival, seen_at)
            elif source == "newPendingTransactions":
                result = params["result"]
                self._pending(chain, result if isinstance(result, str) else result["hash"], arrival, seen_at)

    async def _rpc(
        self, session: aiohttp.ClientSession, chain: ChainConfig, endpoint: Endpoint, method: str, params: list[Any]
    ) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        try:
            async with session.post(endpoint.http_url, json=body) as response:
                response.raise_for_status()
                answer = await response.json(content_type=None, loads=orjson.loads)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self._count(chain.name, method, "unreachable")
            raise ConnectionError(f"{chain.name} {endpoint.label} {endpoint.shown}: {type(exc).__name__}") from exc
        if "error" in answer:
            self._count(chain.name, method, "error")
            raise ConnectionError(f"{chain.name} {method}: {answer['error'].get('message')}")
        self._count(chain.name, method, "ok")
        return answer["result"]

    async def polling(self, chain: ChainConfig, endpoint: Endpoint) -> None:
        """Poll the endpoint until a request fails (raises)."""
        timeout = aiohttp.ClientTimeout(total=CONNECT_SECONDS)
        pending_filter: str | None = None  # filters live in one node: a new one per session
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            log.info(
                "%s: polling %s %s every %gs", chain.name, endpoint.label, endpoint.shown, chain.poll_interval_seconds
            )
            while True:
                number = int(await self._rpc(session, chain, endpoint, "eth_blockNumber", []), 16)
                last = self.polled.get(chain.name, number - 1)
                for block in range(max(last + 1, number - 15), number + 1):
                    header = await self._rpc(session, chain, endpoint, "eth_getBlockByNumber", [hex(block), False])
                    if header:
                        self._head(chain, header, time.monotonic(), time.time())
                self.polled[chain.name] = max(last, number)
                if chain.pending_transactions:
                    if pending_filter is None:
                        pending_filter = await self._rpc(
                            session, chain, endpoint, "eth_newPendingTransactionFilter", []
                        )
                    hashes = await self._rpc(session, chain, endpoint, "eth_getFilterChanges", [pending_filter])
                    arrival, seen_at = time.monotonic(), time.time()
                    for tx_hash in hashes:
                        self._pending(chain, tx_hash, arrival, seen_at)
                await asyncio.sleep(chain.poll_interval_seconds)

    async def head_age(self) -> None:
        gauge = self.metrics["mev_chain_head_age_seconds"]
        while True:
            now = time.time()
            for chain, timestamp in self.head_timestamps.items():
                gauge.labels(chain=chain).set(max(0.0, now - timestamp))
            await asyncio.sleep(1)

    # ---------------------------------------------------------------- main

    async def run(self) -> None:
        self.redis = aioredis.from_url(self.config.redis_url_with_password(), socket_connect_timeout=5)
        loop = asyncio.get_running_loop()
        tasks = [asyncio.create_task(self.publisher()), asyncio.create_task(self.head_age())]
        self.runtime.ready()
        for chain in self.config.chains.values():
            tasks.append(asyncio.create_task(self.follow(chain)))
        stop_waiter: asyncio.Future[Any] = asyncio.ensure_future(loop.run_in_executor(None, self.runtime.stop.wait))
        done, _running = await asyncio.wait([*tasks, stop_waiter], return_when=asyncio.FIRST_COMPLETED)
        crashed = [task for task in tasks if task in done and not task.cancelled() and task.exception()]
        self.runtime.stop.set()  # releases the waiter thread when a task ended on its own
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.redis.aclose()
        if crashed:
            raise RuntimeError(f"detection task failed: {crashed[0].exception()}")


def run(runtime: Runtime) -> None:
    asyncio.run(Detector(runtime).run())
