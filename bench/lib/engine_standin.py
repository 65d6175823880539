"""Not a benchmark (bench/lib): a STAND-IN for the engine's API, for the fleet-wide stop benchmark.

The real API (files/mev_engine, components/monitoring.py) keeps the trading state in Redis and
needs PostgreSQL, a chain and the engine's virtualenv; 24 of those on a 2-core machine would
measure the box, not the playbook. An emergency stop touches only the API and the trading state,
so each light bench host runs this instead: the same paths, bearer token, JSON shapes and
status codes for what the stop uses, and a trading state that survives a restart of the
process (a file standing in for the Redis hash):

    GET  /health/live                  200 {"status": "alive"}
    GET  /api/v1/status                {"trading": {...}, "instance": ...}
    POST /api/v1/trading/enable        state -> enabled      {"trading", "changed", "previous"}
    POST /api/v1/trading/disable       state -> disabled
    POST /api/v1/emergency/stop        state -> emergency_stop

/api/v1 without `Authorization: Bearer <MEV_API_TOKEN>` is 401, as in the real API.
Standard library only (the base image's python3):

    MEV_API_TOKEN=... engine_standin.py --host 10.79.0.11 --port 8090 --state /var/lib/mev-standin/trading.json
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STATES = {"/api/v1/trading/enable": "enabled", "/api/v1/trading/disable": "disabled",
          "/api/v1/emergency/stop": "emergency_stop"}  # fmt: skip


class TradingState:
    """The trading state in a JSON file, written atomically (a stand-in for Redis' `mev:trading`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"state": "disabled", "enabled": False, "reason": "cold start: no trading state stored yet",
                    "updated_at": 0.0, "cold_start": True}  # fmt: skip
        return {**stored, "enabled": stored["state"] == "enabled", "cold_start": False}

    def write(self, state: str, reason: str) -> tuple[dict[str, Any], str]:
        with self.lock:
            previous = self.read()["state"]
            stored = {"state": state, "reason": reason, "updated_at": time.time()}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, encoding="utf-8") as handle:
                json.dump(stored, handle)
            os.replace(handle.name, self.path)
            return self.read(), previous


def handler(token: bytes, trading: TradingState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            pass

        def answer(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def authorised(self) -> bool:
            scheme, _space, presented = self.headers.get("Authorization", "").partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token)

        def do_GET(self) -> None:
            if self.path == "/health/live":
                return self.answer(200, {"status": "alive"})
            if not self.authorised():
                return self.answer(401, {"error": "missing or wrong bearer token"})
            if self.path == "/api/v1/status":
                return self.answer(200, {"trading": trading.read(), "instance": socket.gethostname(),
                                         "stand_in": True})  # fmt: skip
            return self.answer(404, {"error": "not found"})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.authorised():
                return self.answer(401, {"error": "missing or wrong bearer token"})
            if self.path not in STATES:
                return self.answer(404, {"error": "not found"})
            try:
                reason = str((json.loads(raw) if raw else {}).get("reason", ""))
            except (ValueError, AttributeError):
                return self.answer(400, {"error": "body must be a JSON object"})
            state = STATES[self.path]
            after, previous = trading.write(state, reason or f"set through the API to {state}")
            return self.answer(200, {"trading": after, "changed": previous != state, "previous": previous})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args()
    token = os.environ["MEV_API_TOKEN"].encode()
    server = ThreadingHTTPServer((args.host, args.port), handler(token, TradingState(args.state)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
