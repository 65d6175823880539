"""The provider pool: each chain's primary, then its backups. The JSON-RPC client fails over
within one request and keeps a circuit breaker per endpoint; detection follows a backup when
the primary goes silent, /health/ready reads degraded meanwhile, and the primary is taken
back when it answers again."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from devnet import wait_for
from services import free_port

from mev_engine import rpc
from mev_engine.components import detection
from mev_engine.config import Endpoint, shown_url
from mev_engine.metrics import Metrics
from mev_engine.rpc import CLOSED, HALF_OPEN, OPEN, Breaker, RpcClient, RpcUnreachable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_probes_once_and_backs_off() -> None:
    clock = Clock()
    breaker = Breaker(clock)
    for _failure in range(rpc.FAILURES_TO_OPEN - 1):
        breaker.failed()
        assert breaker.state == CLOSED and breaker.admit()
    breaker.failed()
    assert breaker.state == OPEN and not breaker.admit()
    clock.now += rpc.OPEN_SECONDS
    assert breaker.state == HALF_OPEN
    assert breaker.admit() and not breaker.admit()  # one probe at a time
    breaker.failed()  # the probe failed: open twice as long
    clock.now += rpc.OPEN_SECONDS
    assert breaker.state == OPEN
    clock.now += rpc.OPEN_SECONDS
    assert breaker.admit()
    breaker.succeeded()
    assert breaker.state == CLOSED and breaker.admit() and breaker.admit()
    breaker.failed(hold=30)  # a 429's Retry-After opens it at once, for that long
    clock.now += 29
    assert not breaker.admit()
    clock.now += 1
    assert breaker.admit()


class StubNode(ThreadingHTTPServer):
    """A JSON-RPC endpoint answering eth_chainId with `chain_id`, or failing as `mode` says:
    "503", "429" (Retry-After: 30), "hang" (reads the request, never answers)."""

    daemon_threads = True

    def __init__(self, chain_id: int = 1) -> None:
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.chain_id = chain_id
        self.mode: str | None = None
        self.methods: list[str] = []
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class StubHandler(BaseHTTPRequestHandler):
    server: StubNode

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.methods.append(request["method"])
        if self.server.mode == "hang":
            self.server.release.wait(10)
            return
        if self.server.mode in ("503", "429"):
            self.send_response(int(self.server.mode))
            if self.server.mode == "429":
                self.send_header("Retry-After", "30")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        result = hex(self.server.chain_id) if request["method"] == "eth_chainId" else "0xabc"
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def stubs() -> Iterator[tuple[StubNode, StubNode]]:
    servers = (StubNode(), StubNode())
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield servers
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


def pool(primary: str, backup: str, clock: Any = time.monotonic) -> tuple[RpcClient, Any]:
    metrics = Metrics("execution")
    endpoints = [Endpoint("primary", primary, None), Endpoint("backup1", backup, None)]
    return RpcClient("ethereum", endpoints, metrics, timeout=1, clock=clock, component="execution"), metrics


def sample(metrics: Any, name: str, **labels: str) -> float:
    return float(metrics[name].labels(**labels)._value.get())


@pytest.mark.parametrize("failure", ["refused", "503", "hang"])
def test_a_failed_primary_is_replaced_within_the_request_then_skipped_while_open(
    failure: str, stubs: tuple[StubNode, StubNode]
) -> None:
    primary, backup = stubs
    clock = Clock()
    url = f"http://127.0.0.1:{free_port()}" if failure == "refused" else primary.url
    primary.mode = failure
    client, metrics = pool(url, backup.url, clock)
    for _request in range(rpc.FAILURES_TO_OPEN):
        assert client.chain_id() == 1  # answered by the backup, within the same call
    assert client.served_by == "backup1"
    attempts = len(primary.methods)
    assert attempts == (0 if failure == "refused" else rpc.FAILURES_TO_OPEN)
    reason = "timeout" if failure == "hang" else "unreachable"
    assert sample(metrics, "mev_rpc_endpoint_failures_total", chain="ethereum", endpoint="primary", reason=reason) == 3
    labels = {"component": "execution", "chain": "ethereum", "endpoint": "primary"}
    assert sample(metrics, "mev_rpc_endpoint_state", **labels) == OPEN
    client.block_number()  # open: the primary is not asked
    assert len(primary.methods) == attempts
    # Half-open after the open period: one probe; the primary answers again and takes back the traffic.
    primary.mode = None
    clock.now += rpc.OPEN_SECONDS
    if failure != "refused":
        assert client.chain_id() == 1
        assert client.served_by == "primary" and primary.methods[-1] == "eth_chainId"
        assert sample(metrics, "mev_rpc_endpoint_state", **labels) == CLOSED


def test_a_429_opens_the_endpoint_for_its_retry_after(stubs: tuple[StubNode, StubNode]) -> None:
    primary, backup = stubs
    clock = Clock()
    primary.mode = "429"
    client, metrics = pool(primary.url, backup.url, clock)
    assert client.chain_id() == 1
    labels = {"chain": "ethereum", "endpoint": "primary", "reason": "rate_limited"}
    assert sample(metrics, "mev_rpc_endpoint_failures_total", **labels) == 1
    clock.now += 29
    client.chain_id()
    assert primary.methods == ["eth_chainId"]  # not asked again before Retry-After
    primary.mode = None
    clock.now += 1
    client.chain_id()
    assert primary.methods == ["eth_chainId", "eth_chainId"] and client.served_by == "primary"


def test_a_send_is_not_repeated_elsewhere_once_the_node_may_have_it(stubs: tuple[StubNode, StubNode]) -> None:
    primary, backup = stubs
    primary.mode = "hang"  # took the request, no answer: the outcome is unknown
    client, _metrics = pool(primary.url, backup.url)
    with pytest.raises(RpcUnreachable, match=r"primary http://127\.0\.0\.1:[0-9]+: timed out"):
        client.call("eth_sendRawTransaction", ["0x00"])
    assert backup.methods == []  # execution resolves it from the node by hash and nonce
    # A connection that was never made cannot have delivered it: the backup sends it.
    client, _metrics = pool(f"http://127.0.0.1:{free_port()}", backup.url)
    assert client.call("eth_sendRawTransaction", ["0x00"]) == "0xabc"
    assert backup.methods == ["eth_sendRawTransaction"]


def test_every_endpoint_down_raises_naming_each_without_its_key() -> None:
    keyed = f"http://127.0.0.1:{free_port()}/v2/secret-provider-key"
    client, _metrics = pool(f"http://127.0.0.1:{free_port()}", keyed)
    with pytest.raises(RpcUnreachable) as raised:
        client.chain_id()
    assert "primary http://127.0.0.1:" in str(raised.value) and "backup1 http://127.0.0.1:" in str(raised.value)
    assert "secret-provider-key" not in str(raised.value)
    assert shown_url(keyed).endswith("/…")
    assert shown_url("https://user:pw@[::1]:8545") == "https://[::1]:8545/…"


class Blackhole:
    """A TCP relay in front of a node that can go silent, as a provider does behind a firewall's
    DROP: while `silent`, bytes in either direction are swallowed and new connections are
    accepted but never joined to the node."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.silent = False
        self.closed = False
        self.held: list[socket.socket] = []  # connections accepted while silent, never answered
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            if self.silent:
                self.held.append(client)  # open, never read: the handshake times out
                continue
            upstream = socket.create_connection(self.upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.silent:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                end.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        for held in self.held:
            held.close()


def test_detection_fails_over_to_the_backup_and_returns_to_the_primary(
    engine: Any, node: Any, redis_client: Any
) -> None:
    relay = Blackhole(node.port)
    try:
        api = engine(("detection", "monitoring"), chain_url=relay.url, backups=(node.url,))

        def ready() -> tuple[str | None, str | None]:
            """What /health/ready says of the chain (mev-calculation and mev-execution are not
            running here, so it is 503 for them): (degraded, failing)."""
            body = api.call("GET", "/health/ready").json()
            return body.get("degraded", {}).get("chain:ethereum"), body["failing"].get("chain:ethereum")

        def head_from(endpoint: str, after: int) -> int | None:
            node.mine(1)
            head = redis_client.hgetall("mev:chain:ethereum")
            number = int(head.get(b"block_number", b"-1"))
            return number if head.get(b"endpoint") == endpoint.encode() and number > after else None

        wait_for(lambda: head_from("primary", 0), 30, "a head through the primary", api)
        followed = 'mev_detection_endpoint{chain="ethereum",endpoint="primary"} 1.0'
        wait_for(lambda: followed in api.call("GET", "/metrics").text, 10, "the primary followed, as metrics say", api)
        assert ready() == (None, None)
        relay.silent = True
        silenced, before = time.monotonic(), node.head()
        wait_for(lambda: head_from("backup1", before), 30, "a new head through the backup", api)
        took = time.monotonic() - silenced
        # ping interval + pong timeout, the closing handshake, the backup's handshake, margin
        bound = 2 * detection.PING_SECONDS + detection.CLOSE_SECONDS + detection.CONNECT_SECONDS + 3
        assert took < bound, f"detection took {took:.1f}s to fail over (bound {bound:g}s)"
        degraded, failing = ready()
        assert failing is None and degraded is not None and degraded.startswith("detection follows backup1")
        metrics = api.call("GET", "/metrics").text
        assert 'mev_detection_endpoint{chain="ethereum",endpoint="backup1"} 1.0' in metrics
        assert 'mev_detection_endpoint{chain="ethereum",endpoint="primary"} 0.0' in metrics
        relay.silent = False
        back, before = time.monotonic(), node.head()
        wait_for(lambda: head_from("primary", before), 30, "a head through the primary again", api)
        print(f"failover {took:.1f}s, back to the primary {time.monotonic() - back:.1f}s")
        assert ready() == (None, None)
        assert "failing over to backup1" in api.log("detection")
        assert "primary http://127.0.0.1" in api.log("detection") and "answers again" in api.log("detection")
    finally:
        relay.close()


def test_preflight_checks_every_provider_s_chain_id(stubs: tuple[StubNode, StubNode]) -> None:
    from mev_engine.config import ChainConfig
    from mev_engine.preflight import check_chain

    primary, backup = stubs
    backup.chain_id = 10
    chain = ChainConfig(
        "ethereum", 1, primary.url, None, True, 1.0, 120.0, False, (Endpoint("backup1", backup.url, None),)
    )
    config = type("Config", (), {"chains": {"ethereum": chain}})()
    checks = check_chain(config, "ethereum")  # type: ignore[arg-type]
    assert [(c.name, c.ok) for c in checks] == [("chain:ethereum", True), ("chain:ethereum:backup1", False)]
    assert "serves chain id 10, configured 1" in checks[1].detail
