"""evm_balance against anvil (balances set with anvil_setBalance) and stubs for failures."""

from __future__ import annotations

import pytest
from anvilnode import rpc
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.modules import evm_balance

RICH = "0x1000000000000000000000000000000000000001"
LOW = "0x1000000000000000000000000000000000000002"
EMPTY = "0x1000000000000000000000000000000000000003"


@pytest.fixture(scope="module")
def node(anvil):
    node = anvil(chain_id=31337, name="evm_balance")
    rpc(node.url, "anvil_setBalance", [RICH, hex(5 * 10**18)])
    rpc(node.url, "anvil_setBalance", [LOW, hex(7 * 10**17)])
    return node


@pytest.mark.anvil
def test_levels_in_wei_and_eth(run_module, node):
    result = run_module(evm_balance, {"chains": [{"name": "devnet", "url": node.url}], "addresses": [RICH, LOW, EMPTY],
                                      "warning_eth": "1", "critical_eth": "0.5"})  # fmt: skip
    assert result["changed"] is False
    by_address = {b["address"]: b for b in result["balances"]}
    assert by_address[RICH] == {"chain": "devnet", "address": RICH, "wei": 5 * 10**18, "eth": "5", "level": "ok"}
    assert (by_address[LOW]["eth"], by_address[LOW]["level"]) == ("0.7", "warning")
    assert (by_address[EMPTY]["wei"], by_address[EMPTY]["level"]) == (0, "critical")
    assert [b["address"] for b in result["critical"]] == [EMPTY]
    assert [b["address"] for b in result["warning"]] == [LOW]


@pytest.mark.anvil
def test_fail_on_critical_names_the_wallet(run_module, node):
    args = {"chains": [{"name": "devnet", "url": node.url, "addresses": [RICH, LOW]}], "critical_eth": "1",
            "warning_eth": "2", "fail_on": "critical"}  # fmt: skip
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_balance, args)
    assert failed.value.result["msg"] == f"1 balance(s) at critical or worse: devnet {LOW} 0.7 ETH (critical)"
    args["fail_on"] = "never"
    assert len(run_module(evm_balance, args)["critical"]) == 1


def test_unreachable_chain_fails(run_module, closed_url):
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_balance, {"chains": [{"name": "base", "url": closed_url}], "addresses": [RICH]})
    assert "base (" in failed.value.result["msg"]
    assert "connection refused" in failed.value.result["msg"]


def test_bad_answer_fails(run_module, rpc_stub):
    stub = rpc_stub(garbage=b"<html>")
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_balance, {"chains": [{"name": "eth", "url": stub.url}], "addresses": [RICH]})
    assert "cannot read balances: eth" in failed.value.result["msg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [({"addresses": ["0x12"]}, "not addresses"), ({"warning_eth": "0.1", "critical_eth": "1"}, "must not be above"),
     ({"warning_eth": "lots"}, "warning_eth/critical_eth")],
)  # fmt: skip
def test_input_errors(run_module, closed_url, args, message):
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_balance, {"chains": [{"name": "x", "url": closed_url}], "addresses": [RICH], **args})
    assert message in failed.value.result["msg"]
