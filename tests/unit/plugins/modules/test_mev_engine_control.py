"""mev_engine_control against a stub of the engine's API (the real API is exercised by the
mev_engine molecule scenario): honest changed, check mode, wait_inflight, errors by kind."""

from __future__ import annotations

import threading
import time

import pytest
from enginestub import TOKEN, EngineStub
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.modules import mev_engine_control


@pytest.fixture
def engine():
    stub = EngineStub()
    yield stub
    stub.server.shutdown()


def run(run_module, engine_url, action, check_mode=False, **args):
    return run_module(mev_engine_control, {"action": action, "api_url": engine_url, "api_token": TOKEN, **args},
                      check_mode=check_mode)  # fmt: skip


def test_enable_is_changed_once(run_module, engine):
    first = run(run_module, engine.url, "enable", reason="deploy")
    assert first["changed"] is True
    assert first["previous"] == "disabled"
    assert first["trading"]["state"] == "enabled"
    second = run(run_module, engine.url, "enable")
    assert second["changed"] is False
    assert engine.posts == ["/api/v1/trading/enable"]


def test_check_mode_reports_without_calling(run_module, engine):
    result = run(run_module, engine.url, "emergency_stop", check_mode=True)
    assert result["changed"] is True
    assert engine.posts == []
    assert engine.state == "disabled"
    assert run(run_module, engine.url, "disable", check_mode=True)["changed"] is False


def test_disable_and_emergency_stop(run_module, engine):
    engine.state = "enabled"
    assert run(run_module, engine.url, "disable")["changed"] is True
    assert engine.state == "disabled"
    assert run(run_module, engine.url, "emergency_stop")["changed"] is True
    assert run(run_module, engine.url, "emergency_stop")["changed"] is False
    assert engine.state == "emergency_stop"


def test_wait_inflight_polls_until_empty(run_module, engine):
    engine.pending = [{"chain": "ethereum", "tx_hash": "0x01", "nonce": 3}]
    threading.Timer(0.6, engine.pending.clear).start()
    started = time.monotonic()
    result = run(run_module, engine.url, "wait_inflight", timeout=10, poll_interval=0.1)
    assert result["changed"] is False
    assert 0.5 < time.monotonic() - started < 3
    assert result["pending"] == []


def test_wait_inflight_times_out_naming_the_transactions(run_module, engine):
    engine.pending = [{"chain": "ethereum", "tx_hash": "0x01", "nonce": 3}]
    with pytest.raises(ModuleFailed) as failed:
        run(run_module, engine.url, "wait_inflight", timeout=0.5, poll_interval=0.1)
    assert failed.value.result["error_state"] == "pending"
    assert "ethereum:0x01 (nonce 3)" in failed.value.result["msg"]


def test_cancel_pending(run_module, engine):
    # Nothing listed: the engine is still asked (it also replaces the node's pending nonce range).
    assert run(run_module, engine.url, "cancel_pending")["changed"] is False
    assert engine.posts == ["/api/v1/transactions/cancel"]
    engine.posts.clear()
    engine.pending = [{"chain": "ethereum", "tx_hash": "0x01", "nonce": 3}]
    assert run(run_module, engine.url, "cancel_pending", check_mode=True)["changed"] is True
    assert engine.posts == []
    result = run(run_module, engine.url, "cancel_pending")
    assert result["changed"] is True
    assert result["cancelled"][0]["replaces"] == "0x01"


def test_cancel_reports_refused_nonces(run_module, engine):
    engine.pending = [{"chain": "ethereum", "tx_hash": "0x01", "nonce": 3}]
    engine.cancel_failed = [{"chain": "ethereum", "nonce": 4, "error": "replacement underpriced"}]
    with pytest.raises(ModuleFailed) as failed:
        run(run_module, engine.url, "cancel_pending")
    assert "nonce 4: replacement underpriced" in failed.value.result["msg"]


def test_withdraw(run_module, engine):
    with pytest.raises(ModuleFailed) as failed:
        run(run_module, engine.url, "withdraw")
    assert "chain is required" in failed.value.result["msg"]
    assert run(run_module, engine.url, "withdraw", chain="ethereum", check_mode=True)["changed"] is True
    assert engine.posts == []
    assert run(run_module, engine.url, "withdraw", chain="ethereum")["withdrawal"]["tx_hash"] == "0xab"
    engine.state = "enabled"
    with pytest.raises(ModuleFailed) as failed:
        run(run_module, engine.url, "withdraw", chain="ethereum")
    assert failed.value.result["error_state"] == "refused"
    assert "409" in failed.value.result["msg"]


def test_wrong_token_is_unauthorized(run_module, engine):
    with pytest.raises(ModuleFailed) as failed:
        run_module(mev_engine_control, {"action": "status", "api_url": engine.url, "api_token": "wrong"})
    assert failed.value.result["error_state"] == "unauthorized"
    assert "401" in failed.value.result["msg"]
    assert "wrong" not in failed.value.result["msg"].replace("missing or wrong", "")


def test_api_down_is_connection_refused(run_module, closed_url):
    with pytest.raises(ModuleFailed) as failed:
        run(run_module, closed_url, "status")
    assert failed.value.result["error_state"] == "unreachable"
    assert "connection refused (is mev-monitoring running?)" in failed.value.result["msg"]


@pytest.mark.parametrize(("code", "state"), [(503, "unavailable"), (500, "server_error"), (404, "http_error")])
def test_server_errors_are_named(run_module, code, state):
    stub = EngineStub(status_code=code)
    try:
        with pytest.raises(ModuleFailed) as failed:
            run(run_module, stub.url, "status")
    finally:
        stub.server.shutdown()
    assert failed.value.result["error_state"] == state
    assert f"HTTP {code}: execution is not running" in failed.value.result["msg"]
