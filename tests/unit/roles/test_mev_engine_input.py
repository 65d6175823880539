"""Bad input to the mev_engine role fails in preflight, naming the variable.

Runs the role for real with ansible-playbook against localhost in check mode, limited to its
preflight tag (argument specs are validated first, whatever the tags)."""

from __future__ import annotations

import pytest
from preflight import run_preflight

TOKEN = "x" * 40
OK = {
    "mev_engine_api_token": TOKEN,
    "mev_engine_keystore_password": "a-keystore-password",
    "mev_engine_cold_wallet": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "mev_engine_chains": [{"name": "ethereum", "http_url": "http://127.0.0.1:8545"}],
}


def test_good_input_passes_preflight(tmp_path):
    result = run_preflight(tmp_path, "mev_engine", OK)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mev_engine_api_token": "short"}, "mev_engine_api_token must be set (at least 32 characters)"),
        ({"mev_engine_keystore_password": "1234"}, "mev_engine_keystore_password"),
        ({"mev_engine_chains": []}, "mev_engine_chains must list at least one chain"),
        ({"mev_engine_chains": [{"name": "ethereum"}]}, "each with name and http_url"),
        ({"mev_engine_cold_wallet": "0x12"}, "mev_engine_cold_wallet '0x12' is not a 0x-prefixed 20-byte address"),
        ({"mev_engine_api_port": 70000}, "mev_engine_api_port must be 1..65535 (got 70000)"),
        ({"mev_engine_log_level": "verbose"}, "mev_engine_log_level"),
        ({"mev_engine_stop_file": "/etc/mev/stop.json"}, "must be an absolute path inside mev_engine_state_dir"),
    ],
)
def test_bad_input_fails_naming_the_variable(tmp_path, change, message):
    result = run_preflight(tmp_path, "mev_engine", {**OK, **change})
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
