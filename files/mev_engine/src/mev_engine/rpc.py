"""A small synchronous JSON-RPC client for the nodes, counting every request in
`mev_rpc_requests_total{chain,method,status}` (status: ok, error, unreachable)."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import requests


class RpcError(Exception):
    """The node answered with a JSON-RPC error, or could not be reached."""

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class RpcUnreachable(RpcError):
    """No answer (connection error, timeout, a non-JSON or HTTP-error reply): the node may or may
    not have acted on the request."""


class RpcClient:
    def __init__(self, chain: str, url: str, metrics: Any | None = None, timeout: float = 10.0) -> None:
        self.chain = chain
        self.url = url
        self.timeout = timeout
        self.metrics = metrics
        self._ids = itertools.count(1)
        self._local = threading.local()  # one HTTP session per thread

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # nodes are on loopback or a private network: never through a proxy
            self._local.session = session
        return session

    def _count(self, method: str, status: str) -> None:
        if self.metrics is not None:
            self.metrics["mev_rpc_requests_total"].labels(chain=self.chain, method=method, status=status).inc()

    def _post(self, body: Any, methods: list[str]) -> Any:
        try:
            response = self._session.post(self.url, json=body, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            for method in methods:
                self._count(method, "unreachable")
            raise RpcUnreachable(f"{self.chain} node at {self.url} is unreachable: {exc}") from exc

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        answer = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []}, [method]
        )
        if "error" in answer:
            self._count(method, "error")
            error = answer["error"]
            raise RpcError(f"{self.chain} {method}: {error.get('message')}", error.get("code"), error.get("data"))
        self._count(method, "ok")
        return answer["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; raises on the first error, results in order."""
        if not calls:
            return []
        first = next(self._ids)
        body = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        for _call in calls[1:]:
            next(self._ids)
        answers = self._post(body, [m for m, _params in calls])
        if not isinstance(answers, list):
            raise RpcError(f"{self.chain}: batch request answered with {answers!r}")
        by_id = {a.get("id"): a for a in answers}
        results = []
        for i, (method, _params) in enumerate(calls):
            answer = by_id.get(first + i, {"error": {"message": "missing from the batch answer"}})
            if "error" in answer:
                self._count(method, "error")
                error = answer["error"]
                raise RpcError(f"{self.chain} {method}: {error.get('message')}", error.get("code"), error.get("data"))
            self._count(method, "ok")
            results.append(answer["result"])
        return results

    # conveniences
    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def balance(self, address: str, block: str = "latest") -> int:
        return int(self.call("eth_getBalance", [address, block]), 16)

    def nonce(self, address: str, block: str = "pending") -> int:
        return int(self.call("eth_getTransactionCount", [address, block]), 16)
