"""mev-cli, the runbooks' operator commands, against a running monitoring process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mev_engine.client import main


def test_mev_cli_commands_and_exit_codes(engine: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = engine(("monitoring",))
    env = tmp_path / "engine.env"
    env.write_text(f"MEV_API_TOKEN={api.token}\n")
    base = ["--url", api.api, "--env-file", str(env)]

    assert main([*base, "trading", "enable", "--reason", "cli test"]) == 0
    assert json.loads(capsys.readouterr().out)["trading"]["state"] == "enabled"
    assert main([*base, "status"]) == 0
    assert json.loads(capsys.readouterr().out)["trading"]["reason"] == "cli test"
    assert main([*base, "trading", "disable", "--graceful"]) == 0
    assert json.loads(capsys.readouterr().out)["trading"]["enabled"] is False
    assert main([*base, "transactions", "wait", "--timeout", "5"]) == 0
    assert "no transaction in flight" in capsys.readouterr().out
    assert main([*base, "transactions", "list", "--status", "pending", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main([*base, "emergency", "stop", "--reason", "drill"]) == 0
    assert json.loads(capsys.readouterr().out)["trading"]["state"] == "emergency_stop"
    # execution is not running: the engine says so instead of hanging
    assert main([*base, "transactions", "cancel", "--all", "--force"]) == 1
    assert "mev-execution is not running" in capsys.readouterr().err

    env.write_text("MEV_API_TOKEN=wrong\n")
    assert main([*base, "status"]) == 1
    assert "HTTP 401" in capsys.readouterr().err
    assert main(["--url", "http://127.0.0.1:9", "--env-file", str(env), "status"]) == 3
    assert "unreachable" in capsys.readouterr().err
