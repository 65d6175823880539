"""evm_keystore on real files: create, idempotent re-run, wrong password, not a keystore,
rotation keeping the old file, check mode, and no key in any result."""

from __future__ import annotations

import json
import os
import stat

import pytest
from eth_account import Account
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.modules import evm_keystore

PASSWORD = "unit-test-keystore-password"


def no_key_in(result, path):
    key = Account.decrypt(json.loads(path.read_text()), PASSWORD).hex()
    assert key.removeprefix("0x") not in json.dumps(result)


def test_creates_a_scrypt_v3_keystore_once(run_module, tmp_path):
    path = tmp_path / "hot.json"
    first = run_module(evm_keystore, {"path": str(path), "password": PASSWORD})
    assert first["changed"] is True
    assert first["address"] == Account.from_key(Account.decrypt(json.loads(path.read_text()), PASSWORD)).address
    document = json.loads(path.read_text())
    assert document["version"] == 3
    assert document["crypto"]["kdf"] == "scrypt"
    assert document["crypto"]["kdfparams"]["n"] == 262144
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    no_key_in(first, path)
    second = run_module(evm_keystore, {"path": str(path), "password": PASSWORD})
    assert second == {**second, "changed": False, "address": first["address"]}


def test_wrong_password_fails_clearly(run_module, tmp_path):
    path = tmp_path / "hot.json"
    run_module(evm_keystore, {"path": str(path), "password": PASSWORD})
    before = path.read_text()
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_keystore, {"path": str(path), "password": "another-password"})
    assert failed.value.result["msg"] == f"keystore {path} does not decrypt with the given password (MAC mismatch)"
    assert path.read_text() == before


@pytest.mark.parametrize(("content", "message"), [("{not json", "is not JSON"), ('{"version": 1}', "is not a V3")])
def test_not_a_keystore_fails(run_module, tmp_path, content, message):
    path = tmp_path / "hot.json"
    path.write_text(content)
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_keystore, {"path": str(path), "password": PASSWORD})
    assert message in failed.value.result["msg"]


def test_check_mode_writes_nothing(run_module, tmp_path):
    path = tmp_path / "hot.json"
    result = run_module(evm_keystore, {"path": str(path), "password": PASSWORD}, check_mode=True)
    assert result["changed"] is True
    assert result["address"] is None
    assert not path.exists()


def test_fixes_a_loose_mode(run_module, tmp_path):
    path = tmp_path / "hot.json"
    run_module(evm_keystore, {"path": str(path), "password": PASSWORD})
    os.chmod(path, 0o644)
    assert run_module(evm_keystore, {"path": str(path), "password": PASSWORD})["changed"] is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rotation_keeps_the_old_keystore(run_module, tmp_path):
    path = tmp_path / "hot.json"
    old = run_module(evm_keystore, {"path": str(path), "password": PASSWORD})["address"]
    rotated = run_module(evm_keystore, {"path": str(path), "password": PASSWORD, "state": "rotated"})
    assert rotated["changed"] is True
    assert rotated["previous_address"] == old
    assert rotated["address"] != old
    backup = tmp_path / os.path.basename(rotated["backup_file"])
    assert backup.name.endswith(f".{old}")
    assert Account.from_key(Account.decrypt(json.loads(backup.read_text()), PASSWORD)).address == old
    no_key_in(rotated, path)


def test_rotation_needs_a_keystore(run_module, tmp_path):
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_keystore, {"path": str(tmp_path / "none.json"), "password": PASSWORD, "state": "rotated"})
    assert "no keystore" in failed.value.result["msg"]
