"""The fee arithmetic per chain family (module_utils/evm_fees.py), with fee values of the size
each family's nodes answer (Ethereum tens of gwei, OP-stack L2 fees of a few mwei with an L1 data
fee of about 1e11 wei, Arbitrum 0.01 gwei with the L1 calldata in the gas estimate)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from eth_utils import keccak

from ansible_collections.mevops.infra.plugins.module_utils import evm_fees

GWEI = 10**9


@pytest.mark.parametrize(
    ("chain_id", "family"),
    [(1, "eip1559"), (137, "eip1559"), (43114, "eip1559"), (31337, "eip1559"),
     (8453, "op-stack"), (10, "op-stack"), (84532, "op-stack"), (11155420, "op-stack"),
     (42161, "arbitrum"), (42170, "arbitrum"), (421614, "arbitrum")],
)  # fmt: skip
def test_family_comes_from_the_chain_id(chain_id, family):
    assert evm_fees.fee_family(chain_id) == family


def test_the_runbook_chains_ids_match_the_evm_node_defaults():
    """Every runbook chain's default chain id (evm_node_chain_defaults) has the family its client needs."""
    defaults = yaml.safe_load((Path(__file__).parents[4] / "roles/evm_node/defaults/main.yml").read_text())
    ids = {name: entry["chain_id"] for name, entry in defaults["evm_node_chain_defaults"].items()}
    expected = {"ethereum": "eip1559", "polygon": "eip1559", "avalanche": "eip1559",
                "base": "op-stack", "optimism": "op-stack", "arbitrum": "arbitrum"}  # fmt: skip
    assert {name: evm_fees.fee_family(ids[name]) for name in expected} == expected


def test_ethereum_transfer_is_exact():
    price, legacy = evm_fees.price_per_gas(base_fee=20 * GWEI, priority_fee=2 * GWEI, gas_price=22 * GWEI)
    fee = evm_fees.transfer_fee("eip1559", 21000, price, legacy=legacy, margin_percent=25)
    assert (price, legacy) == (42 * GWEI, False)
    assert fee.reserved == 21000 * 42 * GWEI
    # max fee = priority fee: the fee charged is gas used x price, nothing of the reserve stays.
    assert fee.fields() == {"type": 2, "gas": 21000, "maxFeePerGas": 42 * GWEI, "maxPriorityFeePerGas": 42 * GWEI}


def test_a_chain_without_base_fee_gets_a_legacy_transfer():
    price, legacy = evm_fees.price_per_gas(base_fee=None, priority_fee=0, gas_price=25 * GWEI)
    fee = evm_fees.transfer_fee("eip1559", 21000, price, legacy=legacy, margin_percent=25)
    assert fee.fields() == {"gas": 21000, "gasPrice": 50 * GWEI}


def test_op_stack_reserves_the_l1_fee_with_its_margin():
    price, legacy = evm_fees.price_per_gas(base_fee=5_000_000, priority_fee=1_000_000, gas_price=6_000_000)
    fee = evm_fees.transfer_fee("op-stack", 21000, price, legacy=legacy, margin_percent=25, l1_fee=123_456_789_012)
    assert fee.gas == 21000  # the L2 gas is exact
    assert fee.l1_fee == 154_320_986_265  # 123_456_789_012 x 1.25, rounded up
    assert fee.reserved == 21000 * 11_000_000 + 154_320_986_265


def test_arbitrum_pads_the_gas_estimate_not_the_l1_fee():
    price, legacy = evm_fees.price_per_gas(base_fee=10_000_000, priority_fee=0, gas_price=10_000_000)
    fee = evm_fees.transfer_fee("arbitrum", 96_311, price, legacy=legacy, margin_percent=25, l1_fee=999)
    assert (fee.gas, fee.l1_fee) == (120_389, 0)  # 96_311 x 1.25 rounded up; no L1 fee outside OP-stack
    assert fee.reserved == 120_389 * 20_000_000


def test_get_l1_fee_call_data_is_the_abi_encoding_of_bytes():
    assert keccak(text="getL1Fee(bytes)")[:4].hex() == evm_fees.GET_L1_FEE_SELECTOR
    data = evm_fees.get_l1_fee_calldata(b"\x02" + b"\xab" * 40)
    words = bytes.fromhex(data[2 + 8 :])
    assert data.startswith("0x49948e0e")
    assert int.from_bytes(words[:32], "big") == 32 and int.from_bytes(words[32:64], "big") == 41
    assert words[64:105] == b"\x02" + b"\xab" * 40 and words[105:] == b"\0" * 23


def test_margin_rounds_up():
    assert evm_fees.with_margin(1, 25) == 2 and evm_fees.with_margin(4, 25) == 5 and evm_fees.with_margin(0, 25) == 0


def test_the_engine_carries_the_same_file():
    top = Path(__file__).resolve().parents[4]
    collection = (top / "plugins" / "module_utils" / "evm_fees.py").read_text()
    engine = (top / "files" / "mev_engine" / "src" / "mev_engine" / "fees.py").read_text()
    assert engine == collection, "files/mev_engine/src/mev_engine/fees.py differs from plugins/module_utils/evm_fees.py"
