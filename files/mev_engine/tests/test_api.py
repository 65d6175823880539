"""The monitoring API as a real process: auth (401 + metric), health probes, trading state."""

from __future__ import annotations

import re
from typing import Any

from mev_engine.metrics import DEFINITIONS


def sample(metrics_text: str, name: str, labels: str = "") -> float | None:
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" ([0-9.e+-]+)$"
    match = re.search(pattern, metrics_text, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_auth_failures_are_refused_and_counted(engine: Any) -> None:
    api = engine(("monitoring",))
    assert api.call("GET", "/health/live", token="").status_code == 200  # probes need no token
    refused = [
        api.call("GET", "/api/v1/status", token=""),
        api.call("GET", "/api/v1/status", token="wrong"),
        api.call("POST", "/api/v1/trading/enable", token=api.token[:-1]),
        api.call("POST", "/api/v1/emergency/stop", token=api.token + "x"),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    assert refused[0].json() == {"error": "missing or wrong bearer token"}
    metrics = api.call("GET", "/metrics", token="").text
    assert sample(metrics, "mev_api_auth_failures_total") == 4.0
    assert sample(metrics, "mev_api_requests_total", 'code="401",path="/api/v1/status"') == 2.0
    # the failed enable did not enable anything
    status = api.call("GET", "/api/v1/status").json()
    assert status["trading"]["state"] == "disabled"
    assert status["trading"]["cold_start"] is True


def test_ready_names_the_failing_dependencies(engine: Any) -> None:
    api = engine(("monitoring",))
    assert api.call("GET", "/health/startup").status_code == 200  # Redis and PostgreSQL answer
    ready = api.call("GET", "/health/ready")
    assert ready.status_code == 503
    failing = ready.json()["failing"]
    assert set(failing) == {"component:detection", "component:calculation", "component:execution", "chain:ethereum"}
    assert "mev-execution has not reported" in failing["component:execution"]


def test_trading_switches_and_metrics_catalogue(engine: Any) -> None:
    api = engine(("monitoring",))
    enabled = api.call("POST", "/api/v1/trading/enable", {"reason": "test"}).json()
    assert enabled["trading"]["state"] == "enabled"
    assert enabled["changed"] is True
    assert api.call("POST", "/api/v1/trading/enable").json()["changed"] is False
    metrics = api.call("GET", "/metrics").text
    assert sample(metrics, "mev_trading_enabled") == 1.0
    assert sample(metrics, "mev_component_up", 'component="execution"') == 0.0
    assert api.call("POST", "/api/v1/trading/disable").json()["trading"]["enabled"] is False
    stopped = api.call("POST", "/api/v1/emergency/stop", {"reason": "drill"}).json()
    assert stopped["trading"]["state"] == "emergency_stop"
    assert sample(api.call("GET", "/metrics").text, "mev_trading_enabled") == 0.0
    # every metric monitoring owns is declared on /metrics
    for name in ("mev_api_request_duration_seconds", "mev_api_auth_failures_total", "mev_component_up"):
        assert f"# TYPE {name}" in metrics
    assert all(name.startswith("mev_") for name in DEFINITIONS)


def test_withdraw_only_to_the_cold_wallet(engine: Any) -> None:
    api = engine(("monitoring",))
    refused = api.call("POST", "/api/v1/wallet/withdraw", {"chain": "ethereum", "to": "0x" + "11" * 20})
    assert refused.status_code == 403
    assert "only to the configured cold wallet" in refused.json()["error"]
    assert api.call("GET", "/api/v1/transactions", status="pending").json() == {"transactions": [], "count": 0}
