"""playbooks/emergency.yml --tags stop_trading routes each engine: the controller calls every API it
reaches at once (no SSH to those hosts), and only the engines whose API did not answer it, or that it
cannot reach (an API on loopback), go to the stop on the host over SSH - here a closed SSH port on
loopback, so they are reported UNREACHABLE and the run fails, which proves the fallback was taken.
Stubs of the engine's API listen on loopback addresses (127.0.0.2, ...), which the topology treats as
the hosts' private addresses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from anvilnode import free_port
from enginestub import TOKEN, EngineStub

from tests.unit.playbook import run_playbook


def inventory(tmp_path: Path, engines: dict[str, dict[str, Any]]) -> Path:
    """Engine hosts whose SSH is a closed port on loopback (reaching them over SSH fails at once)."""
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_host": "127.0.0.1", "ansible_port": free_port(), "ansible_user": "nobody",
                 "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                 "mev_engine_api_token": TOKEN, "firewall_management_networks": ["127.0.0.1/32"]},
        "children": {"engines": {"hosts": engines}},
    }}))  # fmt: skip
    return path


def stop_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hosts: Path, *args: str
) -> tuple[int, list[str], dict]:
    """(exit code, the summary's lines, the recap's stats) of emergency.yml --tags stop_trading."""
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.builtin.json")
    monkeypatch.setenv("MEVOPS_AUDIT_LOG_PATH", str(tmp_path / "audit.jsonl"))
    run = run_playbook(["-i", str(hosts), "--tags", "stop_trading", *args, "playbooks/emergency.yml"])
    report = json.loads(run.stdout[run.stdout.index("{") :])
    tasks = [task for play in report["plays"] for task in play["tasks"]]
    (shown,) = [t for t in tasks if t["task"]["name"].endswith("Show what was done on every host")]
    return run.returncode, shown["hosts"]["localhost"]["msg"], report["stats"]


@pytest.fixture
def engine() -> Any:
    stub = EngineStub(host="127.0.0.2")
    stub.state = "enabled"
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


def test_the_controller_stops_what_it_reaches_and_the_rest_goes_to_the_host(tmp_path, monkeypatch, engine):
    hosts = inventory(tmp_path, {
        "up": {"mev_engine_api_host": "127.0.0.2", "mev_engine_api_port": engine.port},
        "down": {"mev_engine_api_host": "127.0.0.3", "mev_engine_api_port": free_port()},
        "looped": {"mev_engine_api_host": "127.0.0.1"},  # only the host itself reaches it
    })  # fmt: skip
    code, lines, stats = stop_trading(tmp_path, monkeypatch, hosts)
    assert "up stop_trading: API: trading enabled -> emergency_stop (called from the controller)" in lines
    assert engine.posts == ["/api/v1/emergency/stop"] and engine.state == "emergency_stop"
    # Never contacted over SSH (its closed port would have made it unreachable).
    assert stats.get("up", {}).get("unreachable", 0) == 0 and stats.get("up", {}).get("ignored", 0) == 0
    (down,) = [line for line in lines if line.startswith("down ")]
    (looped,) = [line for line in lines if line.startswith("looped ")]
    assert down.startswith("down stop_trading: FAILED UNREACHABLE:"), down
    assert "(from the controller: engine API at http://127.0.0.3" in down and "connection refused" in down, down
    assert looped.startswith("looped stop_trading: FAILED UNREACHABLE:"), looped
    assert "from the controller" not in looped, looped  # the controller cannot reach it: not tried
    assert code != 0


def test_without_the_controller_every_host_stops_its_own(tmp_path, monkeypatch, engine):
    hosts = inventory(tmp_path, {"up": {"mev_engine_api_host": "127.0.0.2", "mev_engine_api_port": engine.port}})
    code, lines, _stats = stop_trading(tmp_path, monkeypatch, hosts, "-e", "emergency_stop_from_controller=false")
    (up,) = lines
    assert up.startswith("up stop_trading: FAILED UNREACHABLE:"), up
    assert engine.posts == [] and code != 0


def test_a_call_that_cannot_be_made_leaves_every_engine_to_its_host(tmp_path, monkeypatch, engine):
    hosts = inventory(tmp_path, {
        "up": {"mev_engine_api_host": "127.0.0.2", "mev_engine_api_port": engine.port},
        "broken": {"mev_engine_api_host": "{{ no_such_variable }}"},
    })  # fmt: skip
    code, lines, _stats = stop_trading(tmp_path, monkeypatch, hosts)
    by_host = dict(line.split(" stop_trading: ", 1) for line in lines)
    # The controller's call failed as a whole: every engine went to its host (here unreachable), and
    # the one whose API address does not template cannot report at all - named, not forgotten.
    assert by_host["up"].startswith("FAILED UNREACHABLE:"), lines
    assert by_host["broken"].startswith("NO REPORT"), lines
    assert engine.posts == [] and code != 0
