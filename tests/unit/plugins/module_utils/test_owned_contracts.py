"""owned_contracts: entries checked and filled with the reference executor's calls, ABI calldata,
and the engine's copy of the file."""

from __future__ import annotations

from pathlib import Path

from eth_utils import keccak

from ansible_collections.mevops.infra.plugins.module_utils import owned_contracts

EXECUTOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def test_defaults_are_the_reference_executors_calls():
    entry, problems = owned_contracts.normalize({"chain": "base", "address": EXECUTOR, "tokens": [TOKEN]}, "x[0]")
    assert problems == []
    assert entry == {
        "chain": "base",
        "address": EXECUTOR,
        "tokens": [TOKEN],
        "withdraw_token": "withdrawToken(address,address,uint256)",
        "withdraw_eth": "withdrawETH(address,uint256)",
        "transfer_ownership": "transferOwnership(address)",
        "owner": "owner()",
    }


def test_a_desks_names_are_kept_and_no_eth_is_allowed():
    entry, problems = owned_contracts.normalize(
        {"chain": "arbitrum", "address": EXECUTOR, "withdraw_token": "sweep(address,address,uint256)",
         "withdraw_eth": "", "transfer_ownership": "setOwner(address)", "owner": "admin()"},
        "c",
    )  # fmt: skip
    assert problems == []
    assert (entry["withdraw_token"], entry["withdraw_eth"], entry["owner"]) == (
        "sweep(address,address,uint256)",
        "",
        "admin()",
    )


def test_problems_name_the_place_and_what_is_wrong():
    _entry, problems = owned_contracts.normalize(
        {"chain": "", "address": "0x12", "tokens": ["nope"], "withdraw_token": "withdraw(address,uint256)", "x": 1},
        "mev_engine_owned_contracts[1]",
    )
    text = "\n".join(problems)
    assert "mev_engine_owned_contracts[1] has unknown keys x" in text
    assert "mev_engine_owned_contracts[1].chain must name one of the chains" in text
    assert "mev_engine_owned_contracts[1].address must be 0x and 40 hex digits, got '0x12'" in text
    assert "mev_engine_owned_contracts[1].tokens[0] must be 0x and 40 hex digits" in text
    assert "withdraw_token must be a function signature taking (address, address, uint256)" in text
    assert owned_contracts.normalize("0x1", "y")[1] == [
        "y must be a mapping with chain, address, tokens, withdraw_token, withdraw_eth, transfer_ownership, owner"
    ]


def test_calldata_is_the_abi_encoding():
    data = owned_contracts.calldata(keccak, "withdrawToken(address,address,uint256)", TOKEN, EXECUTOR, 5)
    assert data[:10] == "0x" + keccak(text="withdrawToken(address,address,uint256)")[:4].hex()
    words = bytes.fromhex(data[10:])
    assert len(words) == 96
    assert words[12:32].hex() == TOKEN[2:].lower() and words[44:64].hex() == EXECUTOR[2:].lower()
    assert int.from_bytes(words[64:], "big") == 5
    assert owned_contracts.calldata(keccak, "owner()") == "0x8da5cb5b"


def test_answers_are_read_or_refused():
    assert owned_contracts.word_address("0x" + "0" * 24 + EXECUTOR[2:], "owner()") == EXECUTOR.lower()
    assert owned_contracts.word("0x" + "0" * 63 + "7", "balanceOf") == 7
    try:
        owned_contracts.word("0x", "owner()")
    except ValueError as exc:
        assert "owner() answered '0x'" in str(exc)
    else:
        raise AssertionError("an empty answer was read")


def test_the_engine_carries_the_same_file():
    top = Path(__file__).resolve().parents[4]
    collection = (top / "plugins" / "module_utils" / "owned_contracts.py").read_text()
    engine = (top / "files" / "mev_engine" / "src" / "mev_engine" / "owned.py").read_text()
    assert engine == collection, (
        "files/mev_engine/src/mev_engine/owned.py differs from plugins/module_utils/owned_contracts.py"
    )


def test_the_executors_are_owned_and_a_listed_entry_replaces_one():
    strategies = {"v2_cross_pool_arb": {"chains": {"base": {"executor": EXECUTOR, "base_token": TOKEN}}}}
    found, problems = owned_contracts.owned_contracts(strategies, None, "owned")
    assert problems == [] and [(c["chain"], c["address"], c["tokens"]) for c in found] == [("base", EXECUTOR, [TOKEN])]
    other = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
    listed = [
        {"chain": "base", "address": EXECUTOR.lower(), "tokens": [TOKEN, other]},
        {"chain": "optimism", "address": other},
    ]
    found, problems = owned_contracts.owned_contracts(strategies, listed, "owned")
    assert problems == []
    assert [(c["chain"], c["tokens"]) for c in found] == [("base", [TOKEN, other]), ("optimism", [])]
    assert owned_contracts.owned_contracts({}, {"a": 1}, "owned")[1] == ["owned must be a list, found dict"]
    assert owned_contracts.owned_contracts({}, [{"chain": "x"}], "owned")[1][0].startswith("owned[0].address")
