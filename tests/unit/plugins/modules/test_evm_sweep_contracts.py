"""evm_sweep with owned contracts against real anvil and the reference executor (compiled with
solc-js, as the engine's tests do): emptied into the cold wallet before the sweep, handed over
to a new key with owner() read back, idempotent re-runs, and a contract this key does not own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from eth_account import Account
from harness import ModuleFailed
from scriptload import load_script

from ansible_collections.mevops.infra.plugins.modules import evm_sweep

TOP = Path(__file__).resolve().parents[4]
PASSWORD = "unit-test-contracts-password"
ETH = 10**18
DUST = 10**14


@pytest.fixture(scope="module")
def scenario():
    """The mev_engine scenario's helper: compile the contracts, deploy them with the engine's Devnet."""
    sys.path.insert(0, str(TOP / "files" / "mev_engine" / "tests"))
    try:
        helper = load_script(TOP / "molecule" / "mev_engine" / "devnet.py", "sweep_contracts_devnet")
        return helper, helper.compile_contracts()
    finally:
        sys.path.remove(str(TOP / "files" / "mev_engine" / "tests"))


@pytest.fixture
def setup(anvil, scenario, tmp_path):
    helper, compiled = scenario
    node = anvil(chain_id=8453, block_time=None, name="sweep-contracts", network="optimism")
    devnet = helper.Devnet(node.url, compiled)
    devnet.op_stack_predeploys()  # a Base chain id: the L1 data fee is quoted and charged
    account = Account.create()
    keystore = tmp_path / "hot.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, PASSWORD, kdf="scrypt", iterations=2**10)))
    devnet.fund(account.address, 3 * ETH)
    pools = devnet.setup_pools(account.address)
    devnet.fund(pools.executor.address, ETH)
    return devnet, pools, account, keystore


def params(devnet, keystore, pools, **more):
    contract = {"chain": "base", "address": pools.executor.address, "tokens": [pools.base.address]}
    return {"keystore": str(keystore), "password": PASSWORD, "chains": [{"name": "base", "url": devnet.url}],
            "contracts": [contract], **more}  # fmt: skip


def test_emergency_empties_the_executor_then_the_hot_wallet(run_module, setup):
    devnet, pools, account, keystore = setup
    eth = devnet.w3.eth
    cold = Account.create().address
    inventory = pools.base.functions.balanceOf(pools.executor.address).call()
    first = run_module(evm_sweep, params(devnet, keystore, pools, to=cold, allowed_to=[cold], contracts_withdraw=True))
    assert first["changed"]
    [chain] = first["chains"]
    moved = {(c["action"], c["token"]): c["amount_wei"] for c in chain["contracts"]}
    assert moved == {("withdraw_token", pools.base.address): inventory, ("withdraw_eth", None): ETH}
    assert all(eth.get_transaction_receipt(c["tx_hash"])["status"] == 1 for c in chain["contracts"])
    assert pools.base.functions.balanceOf(cold).call() == inventory
    assert pools.base.functions.balanceOf(pools.executor.address).call() == 0
    assert eth.get_balance(pools.executor.address) == 0
    assert eth.get_balance(cold) == ETH + chain["swept_wei"]  # read from the chain
    assert eth.get_balance(account.address) == chain["remaining_wei"] <= DUST
    again = run_module(evm_sweep, params(devnet, keystore, pools, to=cold, contracts_withdraw=True))
    assert not again["changed"] and again["chains"][0]["contracts"] == []


def test_rotation_hands_the_executor_over_and_reads_owner(run_module, setup):
    devnet, pools, account, keystore = setup
    new = Account.create().address
    checked = run_module(evm_sweep, params(devnet, keystore, pools, to=new, contracts_new_owner=new), check_mode=True)
    assert [c["action"] for c in checked["chains"][0]["contracts"]] == ["transfer_ownership"]
    assert pools.executor.functions.owner().call() == account.address  # check mode sent nothing
    done = run_module(evm_sweep, params(devnet, keystore, pools, to=new, contracts_new_owner=new))
    [item] = done["chains"][0]["contracts"]
    assert item["action"] == "transfer_ownership" and item["owner"] == new.lower()
    assert pools.executor.functions.owner().call() == new
    assert pools.base.functions.balanceOf(pools.executor.address).call() > 0  # the inventory stays with it
    again = run_module(evm_sweep, params(devnet, keystore, pools, to=new, contracts_new_owner=new))
    assert not again["changed"]
    assert again["chains"][0]["contracts"] == [
        {"contract": pools.executor.address, "action": "owned_by_new_owner", "owner": new, "tx_hash": None}
    ]
    # The old key no longer owns it: an emergency withdraw with it fails and names the owner.
    cold = Account.create().address
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_sweep, params(devnet, keystore, pools, to=cold, contracts_withdraw=True))
    assert f"owner() of {pools.executor.address} on base is {new.lower()}, not {account.address}" in str(failed.value)


def test_bad_entries_and_owners_are_refused_before_anything_is_read(run_module, setup):
    devnet, pools, _account, keystore = setup
    bad = params(devnet, keystore, pools, to=Account.create().address)
    bad["contracts"][0]["withdraw_eth"] = "withdrawETH(uint256)"
    with pytest.raises(ModuleFailed, match=r"contracts\[0\]\.withdraw_eth must be a function signature taking"):
        run_module(evm_sweep, bad)
    burn = params(devnet, keystore, pools, to=Account.create().address, contracts_new_owner="0x" + "0" * 40)
    with pytest.raises(ModuleFailed, match="refusing to hand the contracts to 0x0000"):
        run_module(evm_sweep, burn)
