# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters for EVM amounts and addresses: wei <-> ETH (exact), EIP-55 checksummed addresses,
why an address cannot be a withdrawal target, and the contracts the hot wallet owns."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.module_utils import owned_contracts as _owned
from ansible_collections.mevops.infra.plugins.module_utils import units
from ansible_collections.mevops.infra.plugins.module_utils.addresses import wallet_problem as _wallet_problem
from ansible_collections.mevops.infra.plugins.plugin_utils.deps import require


def wei_to_eth(value: Any) -> str:
    """'0.5' for 500000000000000000 (a string: exact, no float rounding)."""
    try:
        return units.wei_to_eth(value)
    except ValueError as exc:
        raise AnsibleFilterError(f"wei_to_eth: {exc}") from None


def eth_to_wei(value: Any) -> int:
    """500000000000000000 for 0.5 or '0.5'."""
    try:
        return units.eth_to_wei(value)
    except ValueError as exc:
        raise AnsibleFilterError(f"eth_to_wei: {exc}") from None


def checksum_address(value: Any) -> str:
    """The EIP-55 form of a 0x-prefixed 40-hex-digit address (any case in, mixed case out)."""
    eth_utils = require("eth_utils", "the checksum_address filter")  # Keccak-256 is not in hashlib
    if not isinstance(value, str) or not value.startswith("0x") or not eth_utils.is_hex_address(value):
        raise AnsibleFilterError(f"checksum_address: {value!r} is not a 0x-prefixed 20-byte hex address")
    return str(eth_utils.to_checksum_address(value))


def wallet_problem(value: Any, variable: str) -> str:
    """'' when `value` can be a withdrawal target, else why not, naming `variable`: empty, not an
    address, the zero or a burn address, or not EIP-55 checksummed."""
    return _wallet_problem(str(variable), value, checksum_address) or ""


def owned_contracts(strategies: Any, listed: Any = None, variable: str = "mev_engine_owned_contracts") -> list:
    """Every contract the hot wallet owns: the reference strategy's executors in `strategies`
    (engine.yml's section) and the `listed` ones, each with its calls (module_utils/owned_contracts.py)."""
    found, problems = _owned.owned_contracts(strategies, listed, str(variable))
    if problems:
        raise AnsibleFilterError("owned_contracts: " + "; ".join(problems))
    return found


class FilterModule:
    """EVM unit and address filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "wei_to_eth": wei_to_eth,
            "eth_to_wei": eth_to_wei,
            "checksum_address": checksum_address,
            "wallet_problem": wallet_problem,
            "owned_contracts": owned_contracts,
        }
