"""The hot wallet: an encrypted V3 keystore (scrypt, n=262144) decrypted with the
password from the environment (MEV_KEYSTORE_PASSWORD)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

SCRYPT_N = 262144


class KeystoreError(Exception):
    """The keystore is missing, unreadable, malformed or the password does not open it."""


def create_keystore(path: Path, password: str, private_key: str | None = None) -> str:
    """Write a new keystore (mode 0600) and return its checksummed address."""
    account = Account.from_key(private_key) if private_key else Account.create()
    document = Account.encrypt(account.key, password, kdf="scrypt", iterations=SCRYPT_N)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle)
    return str(account.address)


def load_account(path: Path, password: str) -> LocalAccount:
    """Decrypt the keystore; errors say which of file, format or password is wrong."""
    if not password:
        raise KeystoreError("MEV_KEYSTORE_PASSWORD is empty: set it in the environment file")
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise KeystoreError(f"keystore {path} is not JSON: {exc}") from exc
    try:
        key = Account.decrypt(document, password)
    except ValueError as exc:
        raise KeystoreError(f"keystore {path} does not decrypt with MEV_KEYSTORE_PASSWORD: {exc}") from exc
    except (KeyError, TypeError) as exc:
        raise KeystoreError(f"keystore {path} is not a V3 keystore: missing {exc}") from exc
    account: LocalAccount = Account.from_key(key)
    return account
