"""wei/ETH conversions (exact) and EIP-55 checksums (the EIP's own test vectors)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.filter.evm_units import checksum_address, eth_to_wei, wei_to_eth


@pytest.mark.parametrize(
    ("wei", "eth"),
    [(0, "0"), (1, "0.000000000000000001"), (10**18, "1"), (1_500_000_000_000_000_000, "1.5"),
     (123456789 * 10**18 + 1, "123456789.000000000000000001"), ("0x0de0b6b3a7640000", "1")],
)  # fmt: skip
def test_wei_to_eth(wei, eth):
    assert wei_to_eth(wei) == eth


@pytest.mark.parametrize(("eth", "wei"), [(0.5, 5 * 10**17), ("0.1", 10**17), (1, 10**18), ("1e-18", 1), (0, 0)])
def test_eth_to_wei(eth, wei):
    assert eth_to_wei(eth) == wei


def test_round_trip_is_exact():
    for wei in (1, 999_999_999_999_999_999, 10**30 + 7):
        assert eth_to_wei(wei_to_eth(wei)) == wei


@pytest.mark.parametrize("bad", ["0.0000000000000000001", "one", True])
def test_eth_to_wei_refuses(bad):
    with pytest.raises(AnsibleFilterError, match="eth_to_wei"):
        eth_to_wei(bad)


@pytest.mark.parametrize("bad", [1.5, None, "abc"])
def test_wei_to_eth_refuses(bad):
    with pytest.raises(AnsibleFilterError, match="wei_to_eth"):
        wei_to_eth(bad)


@pytest.mark.parametrize(
    "address",
    ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
     "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"],
)  # fmt: skip
def test_checksum_address_eip55_vectors(address):
    assert checksum_address(address.lower()) == address
    assert checksum_address(address.upper().replace("0X", "0x")) == address


@pytest.mark.parametrize("bad", ["0x123", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", 42])
def test_checksum_address_refuses(bad):
    with pytest.raises(AnsibleFilterError, match="checksum_address"):
        checksum_address(bad)


def test_owned_contracts_names_the_variable_of_a_bad_entry():
    from ansible_collections.mevops.infra.plugins.filter.evm_units import owned_contracts

    executor = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    strategies = {"v2_cross_pool_arb": {"chains": {"base": {"executor": executor}}}}
    assert [c["address"] for c in owned_contracts(strategies)] == [executor]
    with pytest.raises(AnsibleFilterError, match=r"mev_engine_owned_contracts\[0\]\.owner must be a function"):
        owned_contracts(strategies, [{"chain": "base", "address": executor, "owner": "owner(address)"}])
