"""A small synchronous JSON-RPC client for a chain's provider pool, counting every request in
`mev_rpc_requests_total{chain,method,status}` (status: ok, error, unreachable), each endpoint's
circuit in `mev_rpc_endpoint_state{chain,endpoint}` (0 closed, 1 half-open, 2 open) and its
failures in `mev_rpc_endpoint_failures_total{chain,endpoint,reason}`."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import requests
import urllib3

from mev_engine.config import ChainConfig, Endpoint

log = logging.getLogger(__name__)


def _brief(exc: BaseException) -> str:
    """The error without the URL requests puts in it (a provider's key may be in its path)."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def _never_connected(exc: BaseException) -> bool:
    """True when the request cannot have reached the node: no TCP connection was made."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    inner = exc.args[0] if exc.args else None  # requests wraps urllib3's MaxRetryError(reason=...)
    return isinstance(getattr(inner, "reason", inner), urllib3.exceptions.NewConnectionError)


class RpcError(Exception):
    """The node answered with a JSON-RPC error, or could not be reached."""

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class RpcUnreachable(RpcError):
    """No answer (connection error, timeout, a non-JSON or HTTP-error reply): the node may or may
    not have acted on the request."""


# The circuit breaker of each endpoint (DESIGN: a provider pool per chain).
FAILURES_TO_OPEN = 3  # consecutive failures that open an endpoint's circuit
OPEN_SECONDS = 5.0  # first open period; doubled at each failed half-open probe ...
MAX_OPEN_SECONDS = 60.0  # ... up to this
# A provider that does not even accept the connection (blackholed) costs this much, not the whole
# request timeout; an answer may take up to the timeout.
CONNECT_SECONDS = 3.0
# Requests that must not be repeated elsewhere once a node may have received them: a timeout
# after sending leaves the outcome unknown, and execution resolves it from the node by hash and
# nonce (execution.py). They fail over only when the connection itself was never made.
SEND_METHODS = frozenset({"eth_sendRawTransaction"})

CLOSED, HALF_OPEN, OPEN = 0, 1, 2  # mev_rpc_endpoint_state


class RateLimited(Exception):
    """The provider answered 429."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"rate limited (HTTP 429{f', retry after {retry_after:g}s' if retry_after else ''})")
        self.retry_after = retry_after


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


class Breaker:
    """Closed while the endpoint answers; open for a while after FAILURES_TO_OPEN consecutive
    failures (or at once on a 429, for its Retry-After); then half-open: one request probes it,
    a success closes it, a failure opens it again for twice as long (at most MAX_OPEN_SECONDS)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.failures = 0
        self.open_for = OPEN_SECONDS
        self.open_until = 0.0
        self.probing = False
        self.lock = threading.Lock()

    @property
    def state(self) -> int:
        if self.failures < FAILURES_TO_OPEN and not self.open_until:
            return CLOSED
        return OPEN if self.clock() < self.open_until else HALF_OPEN

    def admit(self) -> bool:
        """Whether a request may go to this endpoint now (taking the half-open probe if it is)."""
        with self.lock:
            state = self.state
            if state == CLOSED:
                return True
            if state == HALF_OPEN and not self.probing:
                self.probing = True
                return True
            return False

    def succeeded(self) -> None:
        with self.lock:
            self.failures, self.open_until, self.open_for, self.probing = 0, 0.0, OPEN_SECONDS, False

    def failed(self, hold: float | None = None) -> None:
        with self.lock:
            self.failures += 1
            if hold is not None or self.probing or self.failures >= FAILURES_TO_OPEN:
                if hold is None:
                    hold = self.open_for
                    if self.probing:
                        hold = self.open_for = min(self.open_for * 2, MAX_OPEN_SECONDS)
                self.failures = max(self.failures, FAILURES_TO_OPEN)
                self.open_until = self.clock() + hold
            self.probing = False


class RpcClient:
    """JSON-RPC over HTTP to one chain's endpoints: the primary first, then the backups in
    order. A request that cannot be answered by one endpoint (no connection, timeout, HTTP 5xx,
    429) goes to the next available one within the same call; each endpoint has a Breaker, so
    a dead primary costs one failed attempt per open period, not one per request."""

    def __init__(
        self,
        chain: str,
        endpoints: str | Sequence[Endpoint],
        metrics: Any | None = None,
        timeout: float = 10.0,
        clock: Any = time.monotonic,
        component: str = "",
    ) -> None:
        self.chain = chain
        self.component = component
        self.endpoints = [Endpoint("primary", endpoints, None)] if isinstance(endpoints, str) else list(endpoints)
        if not self.endpoints:
            raise ValueError(f"{chain}: no endpoint")
        self.breakers = {e.label: Breaker(clock) for e in self.endpoints}
        self.timeout = timeout
        self.metrics = metrics
        self._ids = itertools.count(1)
        self._local = threading.local()  # one HTTP session per thread
        self.served_by = self.endpoints[0].label
        for endpoint in self.endpoints:
            self._state(endpoint)

    @classmethod
    def for_chain(
        cls, chain: ChainConfig, metrics: Any | None = None, timeout: float = 10.0, component: str = ""
    ) -> RpcClient:
        return cls(chain.name, chain.endpoints, metrics, timeout, component=component)

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

    def _state(self, endpoint: Endpoint) -> None:
        if self.metrics is not None:
            self.metrics["mev_rpc_endpoint_state"].labels(
                component=self.component, chain=self.chain, endpoint=endpoint.label
            ).set(self.breakers[endpoint.label].state)

    def _failed(self, endpoint: Endpoint, reason: str, hold: float | None = None) -> None:
        self.breakers[endpoint.label].failed(hold)
        self._state(endpoint)
        if self.metrics is not None:
            self.metrics["mev_rpc_endpoint_failures_total"].labels(
                chain=self.chain, endpoint=endpoint.label, reason=reason
            ).inc()

    def _candidates(self) -> Iterator[Endpoint]:
        """Endpoints admitted now, in priority order, each admitted only when the previous one
        failed; when every circuit is open, all of them (a request is never refused untried)."""
        tried = False
        for endpoint in self.endpoints:
            if self.breakers[endpoint.label].admit():
                tried = True
                yield endpoint
        if not tried:
            yield from self.endpoints

    def _post(self, body: Any, methods: list[str]) -> Any:
        may_repeat = not SEND_METHODS.intersection(methods)
        errors = []
        for endpoint in self._candidates():
            try:
                timeout = (min(CONNECT_SECONDS, self.timeout), self.timeout)
                response = self._session.post(endpoint.http_url, json=body, timeout=timeout)
                if response.status_code == 429:
                    raise RateLimited(_retry_after(response))
                response.raise_for_status()
                answer = response.json()
            except RateLimited as exc:
                self._failed(endpoint, "rate_limited", exc.retry_after if exc.retry_after else OPEN_SECONDS)
                errors.append(f"{endpoint.label} {endpoint.shown}: {exc}")
                continue  # a 429 is a refusal: nothing was done
            except (requests.RequestException, ValueError) as exc:
                reason = "timeout" if isinstance(exc, requests.Timeout) else "unreachable"
                self._failed(endpoint, reason)
                errors.append(f"{endpoint.label} {endpoint.shown}: {_brief(exc)}")
                if may_repeat or _never_connected(exc):
                    continue
                break
            self.breakers[endpoint.label].succeeded()
            self._state(endpoint)
            if endpoint.label != self.served_by:
                log.warning("%s: requests now served by %s (%s)", self.chain, endpoint.label, endpoint.shown)
                self.served_by = endpoint.label
            return answer
        for method in methods:
            self._count(method, "unreachable")
        raise RpcUnreachable(f"{self.chain} node unreachable: {'; '.join(errors)}")

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
