# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""A small JSON-RPC 2.0 client over HTTP(S), standard library only.

Modules run on managed hosts whose Python may lack web3, so this client needs nothing
beyond the standard library (Python 3.8+, like ansible-core's targets).

    client = JsonRpcClient("http://127.0.0.1:8545", timeout=5)
    chain_id = hex_to_int(client.call("eth_chainId"))
    chain, block = client.batch([("eth_chainId", []), ("eth_getBlockByNumber", ["latest", False])])

Every failure is an `RpcFailure` whose class says what went wrong and whose `state`
is a short machine word for it:

    RpcFailure            base class
      RpcUnreachable      no HTTP conversation: connection refused, name not resolved, reset, TLS  state "unreachable"
        RpcTimeout        no connection or no answer within the timeout                           state "timeout"
      RpcHttpError        an HTTP status other than 2xx (`status`)                                 state "http_error"
      RpcError            a JSON-RPC error object (`code`, `message`, `data`, `method`)            state "rpc_error"
      RpcBadResponse      an answer that is not JSON-RPC (not JSON, no result, bad quantity)      state "bad_response"

`str(exc)` (and `exc.reason`) is a readable sentence without the URL; callers add it.
One HTTP connection per request, no proxies (nodes are reached directly), timeouts
apply to each socket operation (connect, send, every read).
"""

from __future__ import annotations

import base64
import errno
import http.client
import itertools
import json
import os
import socket
import ssl
from typing import Any, Callable, Optional, Sequence, Tuple
from urllib.parse import unquote, urlsplit

__all__ = [
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "JsonRpcClient",
    "RpcBadResponse",
    "RpcError",
    "RpcFailure",
    "RpcHttpError",
    "RpcTimeout",
    "RpcUnreachable",
    "display_url",
    "hex_to_int",
]

# JSON-RPC 2.0 error codes worth recognising.
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601

# How much of a non-JSON-RPC body goes into an error message.
_SNIPPET = 120

Call = Tuple[str, Any]  # (method, params): params a list, a tuple, a dict or None


class RpcFailure(Exception):
    """The endpoint gave no usable answer. Subclasses say why; `state` names the kind."""

    state = "error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RpcUnreachable(RpcFailure):
    """No HTTP conversation took place (refused, name not resolved, reset, TLS failure)."""

    state = "unreachable"


class RpcTimeout(RpcUnreachable):
    """No connection, or no complete answer, within the timeout."""

    state = "timeout"


class RpcHttpError(RpcFailure):
    """The server answered with an HTTP status other than 2xx."""

    state = "http_error"

    def __init__(self, status: int, phrase: str = "", body: str = "") -> None:
        reason = f"HTTP {status} {phrase}".rstrip()
        if body:
            reason += f": {body}"
        super().__init__(reason)
        self.status = status
        self.body = body


class RpcError(RpcFailure):
    """The server answered with a JSON-RPC error object."""

    state = "rpc_error"

    def __init__(self, code: Optional[int], message: str, data: Any = None, method: str = "") -> None:
        prefix = f"{method}: " if method else ""
        code_text = f" (code {code})" if code is not None else ""
        super().__init__(f"{prefix}{message}{code_text}")
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    @property
    def is_method_not_found(self) -> bool:
        """True when the client does not implement the method (code -32601)."""
        return self.code == METHOD_NOT_FOUND


class RpcBadResponse(RpcFailure):
    """The answer is not valid JSON-RPC: not JSON, neither result nor error, bad values."""

    state = "bad_response"


def hex_to_int(value: Any) -> int:
    """A JSON-RPC quantity ("0x1a", also a plain int or a decimal string) as an int.

    Raises ValueError for anything else (None, booleans, floats, junk strings).
    """
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if text[:2].lower() == "0x":
                return int(text[2:] or "0", 16)  # some clients send "0x" for zero
            if text.isdigit():
                return int(text, 10)
        except ValueError:
            pass
    raise ValueError(f"not a quantity: {value!r}")


def display_url(url: str) -> str:
    """`url` with the password of its credentials masked, for messages and results."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:********@{netloc}").geturl()


def _snippet(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    text = " ".join(text.split())  # one line
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


class JsonRpcClient:
    """JSON-RPC 2.0 over HTTP POST to one endpoint.

    `timeout` (seconds) bounds each socket operation of a request; `headers` are added
    to every request (for example an Authorization header). Credentials in the URL
    (http://user:secret@host/) become a Basic Authorization header. Safe to share
    between threads: every request opens its own connection.
    """

    def __init__(self, url: str, timeout: float = 5.0, headers: Optional[dict] = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL with a host, got {url!r}")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"bad port in URL {url!r}: {exc}") from exc
        if timeout is None or float(timeout) <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.url = url
        self.timeout = float(timeout)
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "mevops.infra-jsonrpc/1",
        }
        if parts.username is not None:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode("ascii")
        self._headers.update(headers or {})
        self._ids = itertools.count(1)  # next() on a count is atomic under the GIL
        self._ssl_context = ssl.create_default_context() if self._https else None

    def __repr__(self) -> str:
        return f"JsonRpcClient({self.url!r}, timeout={self.timeout:g})"

    def call(self, method: str, params: Any = None, timeout: Optional[float] = None) -> Any:
        """Call one method; return its result or raise an RpcFailure."""
        request_id = next(self._ids)
        answer = self._post(_request(request_id, method, params), timeout)
        if not isinstance(answer, dict):
            raise RpcBadResponse(f"{method}: expected a JSON object, got {type(answer).__name__}")
        return _result(answer, method)

    def batch(self, calls: Sequence[Call], return_errors: bool = False, timeout: Optional[float] = None) -> list:
        """Send several calls in one HTTP POST; return their results in the order asked.

        With `return_errors`, a call the server answered with a JSON-RPC error yields
        its RpcError instance in the list instead of raising it. A server that rejects
        batches outright (one error object for the whole request) raises RpcError.
        """
        if not calls:
            return []
        numbered = [(next(self._ids), method, params) for method, params in calls]
        answer = self._post([_request(request_id, method, params) for request_id, method, params in numbered], timeout)
        if isinstance(answer, dict):
            if answer.get("error") is not None:
                raise _error(answer["error"], "batch request")
            raise RpcBadResponse("batch request: expected a JSON list of answers, got one object")
        if not isinstance(answer, list):
            raise RpcBadResponse(f"batch request: expected a JSON list of answers, got {type(answer).__name__}")
        by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
        results = []
        for request_id, method, _params in numbered:
            item = by_id.get(request_id)
            if item is None:
                raise RpcBadResponse(f"batch request: no answer to {method} (id {request_id})")
            try:
                results.append(_result(item, method))
            except RpcError as exc:
                if not return_errors:
                    raise
                results.append(exc)
        return results

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._ssl_context)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _post(self, payload: Any, timeout: Optional[float]) -> Any:
        """POST the payload; return the decoded JSON answer or raise an RpcFailure."""
        limit = self.timeout if timeout is None else float(timeout)
        body = json.dumps(payload).encode("utf-8")
        connection = self._connection(limit)
        phase = "connect"
        try:
            connection.connect()
            phase = "answer"
            connection.request("POST", self._path, body=body, headers=self._headers)
            response = connection.getresponse()
            raw = response.read()
            status, phrase = response.status, response.reason
        except socket.timeout as exc:  # TimeoutError on 3.10+; a distinct class on 3.8/3.9
            what = "no connection" if phase == "connect" else "no answer"
            raise RpcTimeout(f"{what} within {limit:g} s") from exc
        except OSError as exc:  # before HTTPException: RemoteDisconnected is both
            raise RpcUnreachable(_transport_reason(exc, self._host)) from exc
        except http.client.HTTPException as exc:
            raise RpcBadResponse(f"not an HTTP answer ({type(exc).__name__}: {exc})") from exc
        finally:
            connection.close()
        return _decode(status, phrase, raw)


def _decode(status: int, phrase: str, raw: bytes) -> Any:
    """The JSON of an HTTP answer, or the RpcFailure it amounts to."""
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = _NOT_JSON
    if not 200 <= status < 300:
        # An error object is a JSON-RPC answer whatever the status (some servers send 4xx/5xx with it).
        if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
            return answer
        raise RpcHttpError(status, phrase, _snippet(raw))
    if answer is _NOT_JSON:
        shown = _snippet(raw)
        raise RpcBadResponse(f"body is not JSON: {shown!r}" if shown else "empty body")
    return answer


# Why no HTTP conversation took place, by exception class; subclasses before their bases.
_TRANSPORT_REASONS: Tuple[Tuple[type, Callable[[Any, str], str]], ...] = (
    (ConnectionRefusedError, lambda exc, host: "connection refused"),
    (http.client.RemoteDisconnected, lambda exc, host: "server closed the connection without answering"),
    (ConnectionResetError, lambda exc, host: "connection reset by peer"),
    (socket.gaierror, lambda exc, host: f"cannot resolve host {host}: {exc.strerror or exc}"),
    (ssl.SSLCertVerificationError, lambda exc, host: f"TLS certificate not trusted: {exc.verify_message or exc}"),
    (ssl.SSLError, lambda exc, host: f"TLS failure: {exc.reason or exc}"),
)


def _transport_reason(exc: OSError, host: str) -> str:
    for cls, reason in _TRANSPORT_REASONS:
        if isinstance(exc, cls):
            return reason(exc, host)
    if exc.errno is not None and exc.errno in errno.errorcode:
        return os.strerror(exc.errno).lower()  # "no route to host", "network is unreachable"
    return str(exc) or type(exc).__name__


_NOT_JSON = object()


def _request(request_id: int, method: str, params: Any) -> dict:
    if params is None:
        params = []
    elif isinstance(params, tuple):
        params = list(params)
    elif not isinstance(params, (list, dict)):
        raise TypeError(f"{method}: params must be a list, tuple, dict or None, got {type(params).__name__}")
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def _error(error: Any, method: str) -> RpcError:
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        return RpcError(
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            str(message) if message is not None else "error without a message",
            error.get("data"),
            method,
        )
    return RpcError(None, str(error), None, method)


def _result(answer: dict, method: str) -> Any:
    if answer.get("error") is not None:
        raise _error(answer["error"], method)
    if "result" not in answer:
        raise RpcBadResponse(f"{method}: answer has neither a result nor an error")
    return answer["result"]
