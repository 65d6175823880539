# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Exact conversions between wei and ETH (Decimal, never float), standard library only.
Used by the evm_balance module on managed hosts and by the evm_units filters."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

WEI_PER_ETH = 10**18


def wei_to_eth(wei: Any) -> str:
    """'1.5' for 1500000000000000000; exact, no exponent, no trailing zeros ('0' for 0)."""
    if isinstance(wei, bool) or not isinstance(wei, (int, str)):
        raise ValueError(f"wei must be an integer, got {wei!r}")
    value = int(wei, 0) if isinstance(wei, str) else wei
    with localcontext() as context:
        context.prec = 100
        text = format(Decimal(value) / WEI_PER_ETH, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def eth_to_wei(eth: Any) -> int:
    """Wei in an ETH amount given as a number or a decimal string; more than 18 decimals is an error."""
    if isinstance(eth, bool):
        raise ValueError(f"not an ETH amount: {eth!r}")
    try:
        with localcontext() as context:
            context.prec = 100
            wei = Decimal(str(eth)) * WEI_PER_ETH
    except InvalidOperation:
        raise ValueError(f"not an ETH amount: {eth!r}") from None
    if wei != wei.to_integral_value():
        raise ValueError(f"{eth!r} ETH has more than 18 decimals")
    return int(wei)
