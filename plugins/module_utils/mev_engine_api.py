# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""A client of the MEV engine's HTTP API (files/mev_engine/README.md, "HTTP API"), standard
library only, for the modules that operate the engine.

    api = EngineApi("http://127.0.0.1:8090", token, timeout=10)
    status = api.get("/api/v1/status")
    answer = api.post("/api/v1/trading/enable", {"reason": "deploy"})
    result = switch_trading(api, "emergency_stop", reason="incident", check_mode=False)

`switch_trading` is the one implementation of a trading state change, shared by the module
mev_engine_control (on the engine host) and the action mev_engine_trading (on the controller).

Every failure is an `EngineApiError` whose `state` says what went wrong, so a task fails
with a sentence an operator can act on:

    unreachable   no HTTP conversation (connection refused: the monitoring unit is down)
    timeout       no connection or no answer within the timeout
    unauthorized  401: the token is missing or wrong
    refused       403 / 409: the engine refuses (withdraw to another address, withdraw while trading)
    unavailable   503 / 504: mev-execution is not running or did not answer a command
    server_error  another 5xx
    http_error    another non-2xx
    bad_response  not JSON
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any, Optional, Tuple
from urllib.parse import urlencode, urlsplit

from ansible_collections.mevops.infra.plugins.module_utils.jsonrpc import _transport_reason

__all__ = ["STATE_ACTIONS", "EngineApi", "EngineApiError", "switch_trading"]

# action -> (endpoint, trading state it leads to)
STATE_ACTIONS = {
    "enable": ("/api/v1/trading/enable", "enabled"),
    "disable": ("/api/v1/trading/disable", "disabled"),
    "emergency_stop": ("/api/v1/emergency/stop", "emergency_stop"),
}


class EngineApiError(Exception):
    """The API gave no usable answer; `state` names the kind, `status` the HTTP status if any."""

    def __init__(self, state: str, reason: str, status: Optional[int] = None, body: Any = None) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason
        self.status = status
        self.body = body


_STATES = {401: "unauthorized", 403: "refused", 409: "refused", 503: "unavailable", 504: "unavailable"}


class EngineApi:
    """Bearer-token JSON calls to one engine; no proxies (the API is on loopback)."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineApiError("bad_url", f"api_url must be http(s)://host:port, got {url!r}")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self.token = token
        self.timeout = float(timeout)

    def get(self, path: str, timeout: Optional[float] = None, **query: Any) -> Any:
        return self.request("GET", path, None, timeout, query)[1]

    def post(self, path: str, body: Any = None, timeout: Optional[float] = None) -> Any:
        return self.request("POST", path, {} if body is None else body, timeout)[1]

    def request(
        self, method: str, path: str, body: Any = None, timeout: Optional[float] = None, query: Optional[dict] = None
    ) -> Tuple[int, Any]:
        """(status, decoded JSON) of a 2xx answer; an EngineApiError otherwise."""
        limit = self.timeout if timeout is None else float(timeout)
        target = self._prefix + path
        wanted = {k: v for k, v in (query or {}).items() if v is not None}
        if wanted:
            target += "?" + urlencode(wanted)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._https:
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(self._host, self._port, timeout=limit)
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=limit)
        phase = "connect"
        try:
            connection.connect()
            phase = "answer"
            connection.request(method, target, body=payload, headers=headers)
            response = connection.getresponse()
            raw, status = response.read(), response.status
        except socket.timeout as exc:
            what = "no connection" if phase == "connect" else "no answer"
            raise EngineApiError("timeout", f"{what} from the engine API at {self.url} within {limit:g} s") from exc
        except OSError as exc:
            reason = _transport_reason(exc, self._host)
            hint = " (is mev-monitoring running?)" if reason == "connection refused" else ""
            raise EngineApiError("unreachable", f"engine API at {self.url} unreachable: {reason}{hint}") from exc
        except http.client.HTTPException as exc:
            raise EngineApiError("bad_response", f"engine API at {self.url}: not an HTTP answer ({exc})") from exc
        finally:
            connection.close()
        return self._decode(method, path, status, raw)

    def _decode(self, method: str, path: str, status: int, raw: bytes) -> Tuple[int, Any]:
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = None
            if 200 <= status < 300:
                raise EngineApiError("bad_response", f"{method} {path}: answer is not JSON", status) from None
        if 200 <= status < 300:
            return status, answer
        detail = answer.get("error") if isinstance(answer, dict) else None
        detail = detail or raw[:120].decode("utf-8", "replace").strip() or "no body"
        if status == 401:
            message = f"{method} {path}: 401 unauthorized, the API token is missing or wrong"
        else:
            message = f"{method} {path}: HTTP {status}: {detail}"
        state = _STATES.get(status, "server_error" if status >= 500 else "http_error")
        raise EngineApiError(state, message, status, answer)


def switch_trading(api: EngineApi, action: str, reason: Optional[str] = None, check_mode: bool = False) -> dict:
    """Move trading to the state `action` leads to (STATE_ACTIONS): {changed, previous, trading}.

    Reads the state first: `changed` is honest (stopping what is already stopped is no change),
    and check mode reports what would change without calling the mutating endpoint."""
    path, wanted = STATE_ACTIONS[action]
    trading = api.get("/api/v1/status")["trading"]
    result = {"changed": trading["state"] != wanted, "previous": trading["state"], "trading": trading}
    if result["changed"] and not check_mode:
        answer = api.post(path, {"reason": reason} if reason else {})
        result.update(changed=bool(answer.get("changed", True)), trading=answer["trading"])
    return result
