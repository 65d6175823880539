"""Every layer that moves funds refuses a cold wallet that cannot hold them (issue 15, bad input):
the mev_engine and key_rotation preflights and the emergency's withdraw entry point fail naming
the variable, before anything is sent. validate_inventory's check is in tests/unit/playbooks, the
engine's in the engine's own tests; all use plugins/module_utils/addresses.py's list.

Each runs the role for real with ansible-playbook against localhost in check mode."""

from __future__ import annotations

import json

import pytest
from playbook import run_playbook
from preflight import run_preflight

GOOD = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BAD = [
    ("0x0000000000000000000000000000000000000000", "is the zero or a burn address"),
    ("0x000000000000000000000000000000000000dEaD", "is the zero or a burn address"),
    (GOOD.lower(), f"is not EIP-55 checksummed (expected {GOOD})"),
]
ENGINE = {
    "mev_engine_api_token": "x" * 40,
    "mev_engine_keystore_password": "a-keystore-password",
    "mev_engine_chains": [{"name": "ethereum", "http_url": "http://127.0.0.1:8545"}],
}


@pytest.mark.parametrize("role", ["mev_engine", "key_rotation"])
@pytest.mark.parametrize(("wallet", "words"), BAD)
def test_role_preflight_refuses(tmp_path, role, wallet, words):
    result = run_preflight(tmp_path, role, {**ENGINE, "mev_engine_cold_wallet": wallet})
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert f"mev_engine_cold_wallet {wallet} {words}" in out


@pytest.mark.parametrize("role", ["mev_engine", "key_rotation"])
def test_role_preflight_takes_a_checksummed_wallet(tmp_path, role):
    result = run_preflight(tmp_path, role, {**ENGINE, "mev_engine_cold_wallet": GOOD})
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("wallet", "words"), BAD[:2])
def test_emergency_withdraw_refuses_before_calling_anything(tmp_path, wallet, words):
    play = tmp_path / "withdraw.yml"
    play.write_text(
        "---\n- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: mevops.infra.emergency\n        tasks_from: withdraw\n"
        "      vars:\n        emergency_api_url: http://127.0.0.1:9\n"
    )
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({**ENGINE, "mev_engine_cold_wallet": wallet}))
    result = run_playbook(["-i", "localhost,", "--check", "-e", f"@{extra}", str(play)])
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert f"emergency_cold_wallet {wallet} {words}" in out
    assert "Wait for the replacements" not in out
