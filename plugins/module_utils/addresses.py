# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Addresses funds must never be sent to, standard library only: the evm_sweep module on
managed hosts, and on the controller validate_inventory and the roles' cold wallet checks
(plugins/plugin_utils/topology.py). The engine refuses the same list as its cold wallet
(files/mev_engine/src/mev_engine/config.py; a unit test keeps the two equal)."""

from __future__ import annotations

import re
from typing import Any, Callable

# The zero address and the well-known burn addresses: nobody holds their keys.
BURN_ADDRESSES = frozenset(
    {
        "0x0000000000000000000000000000000000000000",
        "0x000000000000000000000000000000000000dead",
        "0xdead000000000000000042069420694206942069",
        "0xffffffffffffffffffffffffffffffffffffffff",
    }
)


def is_burn_address(value: Any) -> bool:
    """True for the zero address and the well-known burn addresses, in any case."""
    return isinstance(value, str) and value.lower() in BURN_ADDRESSES


def wallet_problem(variable: str, wallet: Any, checksum: Callable[[str], str]) -> str | None:
    """Why `wallet` cannot be a withdrawal target: empty, not an address, the zero or a burn
    address, or not EIP-55 checksummed (checksum: a function giving the EIP-55 form)."""
    if not wallet:
        return f"{variable} is empty (the only withdrawal target must be set)"
    text = str(wallet)
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        return f"{variable} {text!r} is not a 0x-prefixed 20-byte address"
    if is_burn_address(text):
        return f"{variable} {text} is the zero or a burn address: funds sent there are lost"
    expected = checksum(text)
    if text != expected:
        return f"{variable} {text} is not EIP-55 checksummed (expected {expected})"
    return None
