#!/usr/bin/python
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Ansible module evm_keystore: create or rotate an encrypted V3 keystore; returns the address only."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: evm_keystore
short_description: Create or rotate an encrypted EVM V3 keystore, returning its address only
version_added: "0.1.0"
description:
  - With O(state=present), creates a new random key encrypted as a V3 keystore (scrypt, n=262144,
    r=8, p=1, AES-128-CTR) at O(path) when there is none, mode 0600. When the file exists it is
    decrypted with O(password) and left alone (not changed); a file that does not decrypt, or is
    not a V3 keystore, fails with a message saying which.
  - With O(state=rotated), checks that the current keystore decrypts, moves it to
    C(<path>.<unix time>.<old address>) (kept, never deleted) and writes a new key at O(path).
    Always changed.
  - Returns the checksummed address, never the key. Decryption needs about 256 MiB of memory.
requirements:
  - eth_account (and its pycryptodome) on the managed host. The C(mev_engine) role runs this
    module with C(ansible_python_interpreter) set to the engine's virtualenv, which has it.
    The standard library has scrypt and AES is not in it, and Keccak-256 (the address and the
    V3 MAC) is not SHA3-256, so the module does not reimplement the format.
author:
  - mevops.infra developers (@mevops)
extends_documentation_fragment:
  - mevops.infra.attributes
  - mevops.infra.attributes.no_diff
options:
  path:
    description: Keystore file on the managed host.
    type: str
    required: true
  password:
    description: Password that encrypts (and must decrypt) the keystore (never logged).
    type: str
    required: true
  state:
    description: C(present) creates when absent and checks otherwise; C(rotated) replaces the key.
    type: str
    choices: [present, rotated]
    default: present
  owner:
    description: Owner of the keystore file (created or rotated).
    type: str
  group:
    description: Group of the keystore file (created or rotated).
    type: str
attributes:
  check_mode:
    support: full
    details:
      - Decrypts an existing keystore as in a real run and reports whether it would be created or rotated,
        writing nothing; RV(address) is then null for a key not created yet.
"""

EXAMPLES = r"""
- name: Create the hot wallet's keystore when there is none
  mevops.infra.evm_keystore:
    path: /etc/mev/keystore/hot.json
    password: "{{ vault_keystore_password }}"
    owner: mev
    group: mev
  vars:
    ansible_python_interpreter: /opt/mev/current/venv/bin/python
  register: hot

- name: Rotate the hot key (the old file is kept beside it)
  mevops.infra.evm_keystore:
    path: /etc/mev/keystore/hot.json
    password: "{{ vault_keystore_password }}"
    state: rotated
  vars:
    ansible_python_interpreter: /opt/mev/current/venv/bin/python
"""

RETURN = r"""
address:
  description: Checksummed address at O(path) after the run (null in check mode when it would be created).
  returned: always
  type: str
previous_address:
  description: Address of the key that was rotated out.
  returned: when O(state=rotated)
  type: str
backup_file:
  description: Where the rotated-out keystore was moved.
  returned: when O(state=rotated) and not in check mode
  type: str
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from eth_account import Account

    HAS_ETH_ACCOUNT = True
except ImportError:
    HAS_ETH_ACCOUNT = False

SCRYPT_N = 262144


def read_address(path, password):
    """Decrypt the keystore at path; return (address, None) or (None, readable error)."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        return None, f"cannot read keystore {path}: {exc.strerror}"
    except ValueError as exc:
        return None, f"keystore {path} is not JSON: {exc}"
    if not isinstance(document, dict) or document.get("version") != 3 or "crypto" not in document:
        return None, f"keystore {path} is not a V3 keystore"
    try:
        key = Account.decrypt(document, password)
    except ValueError:
        return None, f"keystore {path} does not decrypt with the given password (MAC mismatch)"
    except (KeyError, TypeError) as exc:
        return None, f"keystore {path} is not a V3 keystore: missing {exc}"
    return Account.from_key(key).address, None


def write_keystore(path, password):
    """Write a new keystore durably: a temporary file in the same folder, fsynced, then linked to
    `path` (which must not exist: never overwrites a key) and the folder fsynced, so that a crash
    leaves either no keystore or a whole one - funds are sent to its address right after."""
    account = Account.create()
    document = Account.encrypt(account.key, password, kdf="scrypt", iterations=SCRYPT_N)
    folder = os.path.dirname(path) or "."
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # fails when path exists
    finally:
        os.unlink(temporary)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return account.address


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "state": {"type": "str", "choices": ["present", "rotated"], "default": "present"},
            "owner": {"type": "str"},
            "group": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if not HAS_ETH_ACCOUNT:
        module.fail_json(msg=missing_required_lib("eth_account") + " (run the module with the engine venv's python)")
    path = module.params["path"]
    password = module.params["password"]
    if not password:
        module.fail_json(msg="password is empty")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        module.fail_json(msg=f"folder {folder} of the keystore does not exist")

    result = {"changed": False, "address": None}
    exists = os.path.exists(path)
    if exists:
        address, error = read_address(path, password)
        if error:
            module.fail_json(msg=error)
        result["address"] = address

    if module.params["state"] == "present":
        if not exists:
            result["changed"] = True
            if not module.check_mode:
                result["address"] = write_keystore(path, password)
    else:
        if not exists:
            module.fail_json(msg=f"no keystore at {path} to rotate (use state=present to create one)")
        result["changed"] = True
        result["previous_address"] = result["address"]
        result["address"] = None
        if not module.check_mode:
            backup = f"{path}.{int(time.time())}.{result['previous_address']}"
            os.rename(path, backup)
            result["backup_file"] = backup
            result["address"] = write_keystore(path, password)

    if os.path.exists(path):
        file_args = module.load_file_common_arguments(
            {"path": path, "mode": "0600", "owner": module.params["owner"], "group": module.params["group"]}
        )
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
