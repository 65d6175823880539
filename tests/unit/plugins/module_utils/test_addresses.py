"""The withdrawal-target checks shared by validate_inventory, the roles' cold wallet checks
and evm_sweep (plugins/module_utils/addresses.py), and their agreement with the engine's."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ansible_collections.mevops.infra.plugins.module_utils.addresses import (
    BURN_ADDRESSES,
    is_burn_address,
    wallet_problem,
)

ENGINE_CONFIG = Path(__file__).resolve().parents[4] / "files/mev_engine/src/mev_engine/config.py"


@pytest.mark.parametrize(
    ("wallet", "words"),
    [
        ("", "is empty"),
        ("0x1234", "is not a 0x-prefixed 20-byte address"),
        ("0x0000000000000000000000000000000000000000", "zero or a burn address"),
        ("0x000000000000000000000000000000000000dEaD", "zero or a burn address"),
        ("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "not EIP-55 checksummed"),
    ],
)
def test_wallet_problems(wallet, words):
    def checksum(address: str) -> str:
        return "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" if address.lower().endswith("79c8") else address

    assert words in wallet_problem("mev_engine_cold_wallet", wallet, checksum)
    assert wallet_problem("w", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", checksum) is None


def test_burn_addresses_in_any_case():
    assert is_burn_address("0x000000000000000000000000000000000000dEaD")
    assert is_burn_address("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")
    assert not is_burn_address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
    assert not is_burn_address(None)


def test_the_engine_refuses_the_same_burn_addresses():
    # The engine is its own package (it cannot import the collection): its list is read
    # from its source so that the two cannot drift apart.
    tree = ast.parse(ENGINE_CONFIG.read_text())
    assigned = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["BURN_ADDRESSES"]
    )
    assert set(ast.literal_eval(assigned.args[0])) == set(BURN_ADDRESSES)
