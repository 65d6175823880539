"""rotate_keys.yml on the devnet: a scheduled rotation killed right after its sweep (fault injection)
completes on re-run, ending with the engine trading on the new address, the old one empty on every
chain, archived on the controller and gone from the host; no key or password in the -vvv output.
The devnet's original key and balance are put back afterwards (its contracts are owned by it)."""

from __future__ import annotations

import json

import pytest
from conftest import ENGINE_HOST
from emergency_helpers import KEYSTORE, WEI, balance, hot_account, keystore_document, restore_engine, set_balance
from eth_account import Account

STATE_DIR = "/var/lib/mevops/key-rotation"


@pytest.fixture
def original_key(devnet_ready):
    devnet = devnet_ready
    account = hot_account(devnet)
    text = json.dumps(keystore_document(devnet))
    before = max(balance(devnet, c["name"], account.address) for c in devnet.chains())
    set_balance(devnet, account.address, 5 * WEI)
    yield devnet, account
    restore_engine(devnet, keystore=text, funds={account.address: before})
    devnet.exec(ENGINE_HOST, "rm", "-rf", STATE_DIR, f"{KEYSTORE.rsplit('/', 1)[0]}/next.json")


def test_scheduled_rotation_interrupted_after_the_sweep_completes(original_key, tmp_path):
    devnet, old = original_key
    env = {"MEVOPS_KEY_ARCHIVE_DIR": str(tmp_path)}
    status, body = devnet.api("POST", "/api/v1/trading/enable", {"reason": "before rotation"})
    assert status == 200, body

    first = devnet.playbook("rotate_keys.yml", extra_vars={"_key_rotation_fault": "after_sweep"}, env=env)
    assert first.returncode != 0, "the fault injection did not stop the run"
    assert "fault injected after the sweep" in first.stdout
    state = json.loads(devnet.exec(ENGINE_HOST, "cat", f"{STATE_DIR}/state.json").stdout)
    assert state["phase"] == "stopped" and state["old_address"] == old.address and state["was_enabled"] is True
    new_address = state["new_address"]
    for chain in devnet.chains():
        assert balance(devnet, chain["name"], old.address) == 0, "the sweep did not empty the old key"
    assert hot_account(devnet).address == old.address, "the engine switched keys before the run finished"

    second = devnet.playbook("rotate_keys.yml", env=env, verbosity=3)
    assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-2000:]

    new = hot_account(devnet)
    assert new.address == new_address
    assert devnet.trading_state() == "enabled", "a scheduled rotation re-enables trading that was on"
    status, metrics = devnet.api("GET", "/metrics")
    assert f'address="{new_address}"' in str(metrics)
    for chain in devnet.chains():
        assert balance(devnet, chain["name"], old.address) == 0
        assert balance(devnet, chain["name"], new_address) > 4 * WEI
    archived = list((tmp_path / ENGINE_HOST).glob(f"{old.address}-*.json"))
    assert len(archived) == 1, "the old keystore is not in the key archive"
    password = devnet.hostvars(ENGINE_HOST, "mev_engine_keystore_password")["mev_engine_keystore_password"]
    assert Account.from_key(Account.decrypt(json.loads(archived[0].read_text()), password)).address == old.address
    left = devnet.exec(ENGINE_HOST, "ls", STATE_DIR).stdout.split()
    assert left == [f"done-{old.address}.json"], f"old keystore or state left on the host: {left}"

    output = first.stdout + first.stderr + second.stdout + second.stderr
    for name, value in [("keystore password", password), ("old key", old.key.hex().removeprefix("0x")),
                        ("new key", new.key.hex().removeprefix("0x"))]:  # fmt: skip
        assert value not in output, f"the {name} appears in the output"
