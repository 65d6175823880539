"""mev_engine_trading (an action: runs on the controller) through ansible-playbook, against stubs of
the engine's API on loopback: every engine called at once, each result by name, the ones that did not
answer named (and the task failed), check mode calling nothing, the token never in the output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from enginestub import TOKEN, EngineStub

from tests.unit.playbook import run_playbook


@pytest.fixture
def stubs() -> Iterator[list[EngineStub]]:
    started: list[EngineStub] = []
    yield started
    for stub in started:
        stub.server.shutdown()
        stub.server.server_close()


def start(stubs: list[EngineStub], **kwargs: Any) -> EngineStub:
    stub = EngineStub(**kwargs)
    stubs.append(stub)
    return stub


def play(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *calls: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """(each task's result, ansible-playbook's whole output) of one mev_engine_trading task per call
    ({action, targets, check_mode?}) on localhost, in one run."""
    tasks = [{"name": f"call {index}", "check_mode": call.get("check_mode", False), "ignore_errors": True,
              "mevops.infra.mev_engine_trading": {"action": call["action"], "targets": call["targets"],
                                                  "reason": "unit test", "request_timeout": 3}}
             for index, call in enumerate(calls)]  # fmt: skip
    playbook = tmp_path / "trading.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Call the engines", "hosts": "localhost", "gather_facts": False,
                                         "tasks": tasks}]))  # fmt: skip
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.builtin.json")
    run = run_playbook(["-i", "localhost,", "-c", "local", str(playbook)])
    report = json.loads(run.stdout[run.stdout.index("{") :])
    return [task["hosts"]["localhost"] for task in report["plays"][0]["tasks"]], run.stdout + run.stderr


def test_every_engine_at_once_and_the_silent_ones_named(tmp_path, monkeypatch, stubs, closed_url):
    trading_one = start(stubs, delay=1)
    trading_one.state = "enabled"
    idle = start(stubs, delay=1)
    wrong_token = start(stubs)
    targets = [
        {"name": "e1", "api_url": trading_one.url, "api_token": TOKEN},
        {"name": "e2", "api_url": idle.url, "api_token": TOKEN},
        {"name": "e3", "api_url": closed_url, "api_token": TOKEN},
        {"name": "e4", "api_url": wrong_token.url, "api_token": "w" * 40},
    ]
    (result,), output = play(tmp_path, monkeypatch, {"action": "emergency_stop", "targets": targets})
    # Every engine at once: the two slow engines' calls (1 s each, a read then the stop) overlapped in
    # time. Read from the stubs' own clocks, not from the run's length, which a busy machine stretches.
    assert any(
        a_start < b_end and b_start < a_end for a_start, a_end in trading_one.spans for b_start, b_end in idle.spans
    ), (trading_one.spans, idle.spans)
    assert result["answered"] == ["e1", "e2"] and result["unanswered"] == ["e3", "e4"]
    assert result["failed"] is True and result["changed"] is True
    assert "2 of 4 engine API(s) did not answer" in result["msg"]
    assert "e3: engine API at http://127.0.0.1" in result["msg"] and "connection refused" in result["msg"]
    by_name = result["results"]
    assert by_name["e1"]["previous"] == "enabled" and by_name["e1"]["trading"]["state"] == "emergency_stop"
    assert by_name["e1"]["changed"] is True and by_name["e2"]["previous"] == "disabled"
    assert by_name["e3"]["error_state"] == "unreachable"
    assert by_name["e4"]["error_state"] == "unauthorized" and by_name["e4"]["http_status"] == 401
    assert by_name["e2"]["api_url"] == idle.url
    assert trading_one.posts == ["/api/v1/emergency/stop"] and idle.posts == ["/api/v1/emergency/stop"]
    assert wrong_token.posts == []
    assert TOKEN not in output and "w" * 40 not in output


def test_check_mode_no_change_status_and_names(tmp_path, monkeypatch, stubs):
    trading_one, stopped = start(stubs), start(stubs)
    trading_one.state, stopped.state = "enabled", "emergency_stop"
    one = [{"name": "e1", "api_url": trading_one.url, "api_token": TOKEN}]
    checked, unchanged, status, twice = play(
        tmp_path, monkeypatch,
        {"action": "emergency_stop", "targets": one, "check_mode": True},
        {"action": "emergency_stop", "targets": [{"name": "e2", "api_url": stopped.url, "api_token": TOKEN}]},
        {"action": "status", "targets": one},
        {"action": "disable", "targets": one + one},
    )[0]  # fmt: skip
    # Check mode reads the state and calls nothing.
    assert checked["changed"] is True and checked["results"]["e1"]["previous"] == "enabled"
    assert trading_one.posts == [] and trading_one.state == "enabled"
    # Stopping what is stopped is no change.
    assert unchanged["changed"] is False and not unchanged.get("failed") and stopped.posts == []
    assert status["changed"] is False and status["results"]["e1"]["trading"]["state"] == "enabled"
    assert status["results"]["e1"]["status"]["pending_transactions"] == 0
    assert twice["failed"] is True and "named more than once: e1" in twice["msg"]
