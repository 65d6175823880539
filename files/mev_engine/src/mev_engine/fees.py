# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""What a transfer costs on each chain family, so that a sweep leaves at most dust behind.

The family comes from the chain id (the chain catalogue's, which the node must report), never
from a chain's name:

- ``eip1559`` (ethereum, polygon, avalanche, any chain not listed): gas from ``eth_estimateGas``;
  a type-2 transaction whose max fee equals its priority fee, so the fee charged is exactly
  gas used x that price (the part above the base fee goes to the block producer) and a sweep of
  ``balance - gas x price`` leaves nothing. A chain without a base fee gets a legacy transaction,
  exact in the same way.
- ``op-stack`` (optimism, base): the same L2 execution fee, plus the L1 data fee, which the
  GasPriceOracle predeploy quotes for the signed transaction (``getL1Fee(bytes)``) and which is
  charged at inclusion at the L1 price of that moment: it is reserved with ``margin_percent`` on
  top, and the unspent part of the reserve stays behind.
- ``arbitrum``: ``eth_estimateGas`` of an Arbitrum node includes the gas that pays for the L1
  calldata at the current L1 price (Arbitrum's own estimate), so the gas limit gets
  ``margin_percent`` on top; Arbitrum charges the base fee only (no priority fee), so what was
  reserved above gas used x base fee stays behind.

What stays behind is reported by the callers and checked against their dust limit.

The engine carries the same file as mev_engine/fees.py (it cannot import the collection);
tests/unit/plugins/module_utils/test_evm_fees.py fails when the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass

EIP1559, OP_STACK, ARBITRUM = "eip1559", "op-stack", "arbitrum"

# Chain id -> fee family, mainnets and their public testnets. Every other chain id is eip1559.
FEE_FAMILY_BY_CHAIN_ID = {
    10: OP_STACK,  # OP Mainnet
    11155420: OP_STACK,  # OP Sepolia
    8453: OP_STACK,  # Base
    84532: OP_STACK,  # Base Sepolia
    42161: ARBITRUM,  # Arbitrum One
    42170: ARBITRUM,  # Arbitrum Nova
    421614: ARBITRUM,  # Arbitrum Sepolia
}

# OP-stack predeploy quoting the L1 data fee of a signed transaction, and its getL1Fee(bytes).
GAS_PRICE_ORACLE = "0x420000000000000000000000000000000000000F"
GET_L1_FEE_SELECTOR = "49948e0e"

# Defaults of the margin on the fee parts known only at inclusion, and of the most a sweep may
# leave behind (0.0001 ETH): evm_sweep's options, the engine's withdraw.
MARGIN_PERCENT = 25
DUST_WEI = 10**14


def fee_family(chain_id: int) -> str:
    return FEE_FAMILY_BY_CHAIN_ID.get(int(chain_id), EIP1559)


def with_margin(value: int, percent: int) -> int:
    """value + percent %, rounded up."""
    return -(-int(value) * (100 + int(percent)) // 100)


def get_l1_fee_calldata(signed_tx: bytes) -> str:
    """ABI call data of GasPriceOracle.getL1Fee(bytes) for a serialized transaction."""
    data = bytes(signed_tx)
    padded = data + b"\0" * (-len(data) % 32)
    return (
        "0x" + GET_L1_FEE_SELECTOR + (32).to_bytes(32, "big").hex() + len(data).to_bytes(32, "big").hex() + padded.hex()
    )


@dataclass(frozen=True)
class TransferFee:
    """The fee reserved for one transfer: gas x price_per_gas + l1_fee (all wei)."""

    family: str
    gas: int
    price_per_gas: int
    l1_fee: int = 0
    legacy: bool = False

    @property
    def reserved(self) -> int:
        return self.gas * self.price_per_gas + self.l1_fee

    def fields(self) -> dict[str, int]:
        """The transaction's gas and fee fields (max fee = priority fee: the fee is exact)."""
        if self.legacy:
            return {"gas": self.gas, "gasPrice": self.price_per_gas}
        return {
            "type": 2,
            "gas": self.gas,
            "maxFeePerGas": self.price_per_gas,
            "maxPriorityFeePerGas": self.price_per_gas,
        }


def price_per_gas(base_fee: int | None, priority_fee: int, gas_price: int) -> tuple[int, bool]:
    """(price per gas, legacy): twice the latest base fee plus the priority fee, so the price holds
    through a few blocks of rising base fee; twice the node's gas price on a chain without base fee."""
    if base_fee is None:
        return 2 * int(gas_price), True
    return 2 * int(base_fee) + max(int(priority_fee), 0), False


def transfer_fee(
    family: str, estimate: int, price: int, *, legacy: bool, margin_percent: int, l1_fee: int = 0
) -> TransferFee:
    """The reservation for a transfer whose gas estimate, price and (OP-stack) quoted L1 fee are known."""
    gas = with_margin(estimate, margin_percent) if family == ARBITRUM else int(estimate)
    reserve_l1 = with_margin(l1_fee, margin_percent) if family == OP_STACK else 0
    return TransferFee(family, gas, int(price), reserve_l1, legacy)
