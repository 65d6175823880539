"""A stub of the engine's HTTP API on loopback (the real API is exercised by the mev_engine molecule
scenario): the trading state machine, pending transactions, cancel and withdraw, the bearer token;
every mutating call recorded in `posts`.

    stub = EngineStub()      # or EngineStub(host="127.0.0.2"), EngineStub(status_code=503), EngineStub(delay=1)
    run(api_url=stub.url, api_token=TOKEN)
    stub.server.shutdown()
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "t" * 40


class EngineStub:
    """The API's trading state machine and pending list; records every mutating call."""

    def __init__(self, status_code: int | None = None, host: str = "127.0.0.1", delay: float = 0) -> None:
        self.state = "disabled"
        self.pending: list[dict[str, Any]] = []
        self.posts: list[str] = []
        self.status_code = status_code  # force every answer to this status
        self.delay = delay  # seconds before each answer
        self.cancel_failed: list[dict[str, Any]] = []
        self.spans: list[tuple[float, float]] = []  # (start, end) of every request, time.monotonic()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def answer(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self.route("GET")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self.body = json.loads(self.rfile.read(length) or b"{}")
                self.route("POST")

            def route(self, method: str) -> None:
                began = time.monotonic()
                try:
                    self.endpoint(method)
                finally:
                    stub.spans.append((began, time.monotonic()))

            def endpoint(self, method: str) -> None:  # noqa: PLR0911 - one return per endpoint
                time.sleep(stub.delay)
                if stub.status_code:
                    return self.answer(stub.status_code, {"error": "execution is not running"})
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.answer(401, {"error": "missing or wrong bearer token"})
                url = urlsplit(self.path)
                trading = {"state": stub.state, "enabled": stub.state == "enabled"}
                if method == "GET" and url.path == "/api/v1/status":
                    return self.answer(200, {"trading": trading, "pending_transactions": len(stub.pending)})
                if method == "GET" and url.path == "/api/v1/transactions":
                    assert parse_qs(url.query)["status"] == ["pending"]
                    return self.answer(200, {"transactions": stub.pending, "count": len(stub.pending)})
                stub.posts.append(url.path)
                targets = {"/api/v1/trading/enable": "enabled", "/api/v1/trading/disable": "disabled",
                           "/api/v1/emergency/stop": "emergency_stop"}  # fmt: skip
                if url.path in targets:
                    previous, stub.state = stub.state, targets[url.path]
                    trading = {
                        "state": stub.state,
                        "enabled": stub.state == "enabled",
                        "reason": self.body.get("reason"),
                    }
                    return self.answer(
                        200, {"trading": trading, "changed": previous != stub.state, "previous": previous}
                    )
                if url.path == "/api/v1/transactions/cancel":
                    cancelled = [{**t, "replaces": t["tx_hash"]} for t in stub.pending]
                    stub.pending = []
                    return self.answer(200, {"cancelled": cancelled, "failed": stub.cancel_failed})
                if url.path == "/api/v1/wallet/withdraw":
                    if stub.state == "enabled":
                        return self.answer(409, {"error": "disable trading before withdrawing"})
                    return self.answer(200, {"chain": self.body["chain"], "tx_hash": "0xab", "amount_wei": 5})
                return self.answer(404, {"error": "not found"})

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
