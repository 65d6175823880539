"""Trading state's cold-start rule, and `mev-engine preflight` naming each failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from configs import env_file, unreachable_config

from mev_engine.cli import main
from mev_engine.state import STATE_KEY, clear_stop_file, honour_stop_file, read_state, write_state


def test_state_defaults_to_disabled_and_survives_reads(redis_client: Any) -> None:
    cold = read_state(redis_client)
    assert (cold.state, cold.cold_start) == ("disabled", True)
    write_state(redis_client, "enabled", "test")
    warm = read_state(redis_client)
    assert (warm.state, warm.enabled, warm.cold_start) == ("enabled", True, False)


def test_state_written_under_another_redis_server_reads_disabled(redis_client: Any) -> None:
    write_state(redis_client, "enabled", "before the restart")
    # What a Redis restart with persistence looks like: same data, new run_id.
    redis_client.hset(STATE_KEY, "redis_run_id", "0" * 40)
    state = read_state(redis_client)
    assert (state.state, state.cold_start) == ("disabled", True)
    assert "Redis restarted" in state.reason


def test_state_changes_are_broadcast(redis_client: Any) -> None:
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("mev:control")
    write_state(redis_client, "emergency_stop", "drill")
    message = None
    for _round in range(20):
        message = pubsub.get_message(timeout=0.2)
        if message:
            break
    pubsub.close()
    assert message is not None
    assert json.loads(message["data"])["state"] == "emergency_stop"
    with pytest.raises(ValueError, match="trading state must be one of"):
        write_state(redis_client, "maybe", "")


def test_a_stop_recorded_on_the_host_wins_over_the_stored_state(redis_client: Any, tmp_path: Path) -> None:
    stop = tmp_path / "emergency-stop.json"
    write_state(redis_client, "enabled", "trading before the incident")
    assert honour_stop_file(redis_client, stop) is None  # no file: nothing changes
    assert read_state(redis_client).state == "enabled"
    stop.write_text(json.dumps({"reason": "API down during INC-1", "at": 1, "incident": "INC-1"}))
    honoured = honour_stop_file(redis_client, stop)
    assert honoured is not None and honoured.state == "emergency_stop"
    assert "recorded on the host" in honoured.reason and "API down during INC-1" in honoured.reason
    assert read_state(redis_client).state == "emergency_stop"
    # Honoured again at the next start: unchanged, not rewritten.
    assert honour_stop_file(redis_client, stop).updated_at == honoured.updated_at  # type: ignore[union-attr]
    # A file nobody can parse still stops trading.
    write_state(redis_client, "enabled", "again")
    stop.write_text("{not json")
    assert "unreadable stop file" in honour_stop_file(redis_client, stop).reason  # type: ignore[union-attr]
    assert clear_stop_file(stop) is True and not stop.exists()
    assert clear_stop_file(stop) is False


def test_preflight_passes_then_names_each_failure(
    engine: Any, funded_hot: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = engine(())
    env = env_file(tmp_path, api.env)
    assert main(["preflight", "--config", str(api.config), "--env-file", str(env)]) == 0
    out = capsys.readouterr().out
    for name in ("postgresql", "redis", "chain:ethereum", "keystore"):
        assert f"ok {name}" in out

    broken = unreachable_config(api.config, tmp_path, dbname="nosuchdb")
    bad_env = env_file(tmp_path, {**api.env, "MEV_KEYSTORE_PASSWORD": "wrong"})
    assert main(["preflight", "--config", str(broken), "--env-file", str(bad_env)]) == 1
    err = capsys.readouterr().err
    assert "FAILED postgresql" in err and "nosuchdb" in err
    assert "FAILED redis" in err
    assert "FAILED chain:ethereum" in err and "unreachable" in err
    assert "FAILED keystore" in err and "does not decrypt" in err
    assert "4 failed: postgresql, redis, chain:ethereum, keystore" in err
