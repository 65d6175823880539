"""A tiny JSON-RPC node on 127.0.0.1 for the states anvil cannot show.

    with RpcStub(StubConfig(syncing=(1234, 5678))) as stub:
        probe_node(stub.url)

Every answer is computed from `stub.config` at request time, so a test may change the
config while the stub runs. Requests run in their own threads (a slow answer does not
hold up the others) and `stub.calls` counts the methods asked.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

METHOD_NOT_FOUND = -32601


@dataclass
class StubConfig:
    chain_id: int = 1
    client_version: str | None = "stub/v1.0.0"  # None: web3_clientVersion is "method not found"
    head_number: int = 100
    head_age: float = 2.0  # seconds between the latest block's timestamp and now
    syncing: tuple[int, int] | None = None  # (current, highest): eth_syncing reports progress
    syncing_object: dict[str, Any] | None = None  # raw eth_syncing object, overrides `syncing`
    syncing_for_calls: int = 0  # report syncing for the first N eth_syncing calls, then synced
    peer_count: int | None = 5  # None: net_peerCount is "method not found"
    errors: dict[str, tuple[int, str]] = field(default_factory=dict)  # method -> (code, message)
    latest_block_missing: bool = False  # eth_getBlockByNumber answers null
    http_status: int = 200  # other than 200: answer that status with a plain-text body
    delay: float = 0.0  # seconds to wait before answering each request
    garbage: bytes | None = None  # answer this body (HTTP 200) instead of JSON-RPC
    drop: bool = False  # close the connection without answering
    batch: bool = True  # False: reject batch requests with one error object
    reverse_batch: bool = False  # answer batches in reverse order (allowed by JSON-RPC)


class RpcStub:
    def __init__(self, config: StubConfig | None = None) -> None:
        self.config = config or StubConfig()
        self.calls: Counter[str] = Counter()
        self.requests = 0
        self.last_headers: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.stub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="rpcstub", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RpcStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that are sleeping out a delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RpcStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers ---------------------------------------------------------------------

    def answer(self, request: Any) -> Any:
        if not isinstance(request, dict) or "method" not in request:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid request"}}
        method = request["method"]
        with self._lock:
            self.calls[method] += 1
            count = self.calls[method]
        try:
            result = self._result(method, count)
        except _Error as exc:
            return {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": exc.code, "message": exc.message}}
        return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}

    def _result(self, method: str, count: int) -> Any:
        config = self.config
        if method in config.errors:
            raise _Error(*config.errors[method])
        answers = {
            "eth_chainId": lambda: hex(config.chain_id),
            "web3_clientVersion": lambda: config.client_version,
            "net_peerCount": lambda: hex(config.peer_count or 0),
            "eth_blockNumber": lambda: hex(config.head_number),
            "eth_getBlockByNumber": self._latest_block,
            "eth_syncing": lambda: self._syncing(count),
        }
        missing = {"web3_clientVersion"} if config.client_version is None else set()
        if config.peer_count is None:
            missing.add("net_peerCount")
        if method not in answers or method in missing:
            raise _Error(METHOD_NOT_FOUND, "Method not found")
        return answers[method]()

    def _latest_block(self) -> dict[str, str] | None:
        config = self.config
        if config.latest_block_missing:
            return None
        return {
            "number": hex(config.head_number),
            "hash": "0x" + f"{config.head_number:064x}",
            "timestamp": hex(int(time.time() - config.head_age)),
        }

    def _syncing(self, count: int) -> Any:
        config = self.config
        if config.syncing_object is not None:
            return config.syncing_object
        progress = config.syncing
        if progress is None and count <= config.syncing_for_calls:
            progress = (config.head_number, config.head_number + 10)
        if progress is None:
            return False
        return {"startingBlock": "0x0", "currentBlock": hex(progress[0]), "highestBlock": hex(progress[1])}


class _Error(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:
        pass  # quiet: pytest shows failures, not access logs

    def do_POST(self) -> None:
        stub: RpcStub = self.server.stub  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with stub._lock:
            stub.requests += 1
            stub.last_headers = dict(self.headers.items())
        if stub.config.delay and stub._stopping.wait(stub.config.delay):
            return  # the stub is stopping
        if stub.config.drop:
            self.close_connection = True
            return
        self._send(*self._reply(stub, body))

    def _reply(self, stub: RpcStub, body: bytes) -> tuple[int, bytes, str]:
        config = stub.config
        if config.http_status != 200:
            return config.http_status, b"upstream node not ready\n", "text/plain"
        if config.garbage is not None:
            return 200, config.garbage, "text/html"
        try:
            request = json.loads(body)
        except ValueError:
            answer: Any = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
        else:
            answer = self._answer(stub, request)
        return 200, json.dumps(answer).encode(), "application/json"

    def _answer(self, stub: RpcStub, request: Any) -> Any:
        if not isinstance(request, list):
            return stub.answer(request)
        if not stub.config.batch:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch not supported"}}
        answers = [stub.answer(item) for item in request]
        return answers[::-1] if stub.config.reverse_batch else answers

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer
