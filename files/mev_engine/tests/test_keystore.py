"""The hot-wallet keystore: scrypt n=262144, mode 0600, and errors that say what is wrong."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from mev_engine.keystore import SCRYPT_N, KeystoreError, load_account

PASSWORD = "correct horse battery staple"


def test_keystore_is_scrypt_262144_and_private(hot_wallet: tuple[Path, Any]) -> None:
    path, account = hot_wallet
    document = json.loads(path.read_text())
    assert document["crypto"]["kdf"] == "scrypt"
    assert document["crypto"]["kdfparams"]["n"] == SCRYPT_N == 262144
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_account(path, PASSWORD).address == account.address


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong password", "does not decrypt with MEV_KEYSTORE_PASSWORD"),
        ("empty password", "MEV_KEYSTORE_PASSWORD is empty"),
        ("missing file", "cannot read keystore"),
        ("not json", "is not JSON"),
        ("not a keystore", "is not a V3 keystore"),
    ],
)
def test_keystore_errors_say_what_is_wrong(
    hot_wallet: tuple[Path, Any], tmp_path: Path, case: str, message: str
) -> None:
    path, password = hot_wallet[0], "wrong"
    if case == "empty password":
        password = ""
    elif case == "missing file":
        path = tmp_path / "absent.json"
    elif case == "not json":
        path = tmp_path / "k.json"
        path.write_text("{")
    elif case == "not a keystore":
        path = tmp_path / "k.json"
        path.write_text('{"version": 3}')
    with pytest.raises(KeystoreError, match=message):
        load_account(path, password)
