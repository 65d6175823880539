"""evm_sweep against real anvil: sweep to zero, idempotent re-run, check mode, allow-list,
replacement of pending nonces, waiting for an interrupted run's sweep, and no key in results."""

from __future__ import annotations

import json
import threading
import time

import pytest
from eth_account import Account
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.modules import evm_sweep

PASSWORD = "unit-test-sweep-password"
ONE_ETH = 10**18


@pytest.fixture
def wallet(tmp_path):
    """A fresh key in a keystore (cheap scrypt so the tests stay fast) and its key."""
    account = Account.create()
    path = tmp_path / "hot.json"
    path.write_text(json.dumps(Account.encrypt(account.key, PASSWORD, kdf="scrypt", iterations=2**10)))
    return path, account


def fund(node, address, wei):
    node.rpc("anvil_setBalance", [address, hex(wei)])


def balance(node, address):
    return int(node.rpc("eth_getBalance", [address, "latest"]), 16)


def args(node, path, **more):
    return {"keystore": str(path), "password": PASSWORD, "chains": [{"name": "dev", "url": node.url}], **more}


def send_raw(node, account, nonce, to, value, *, gas_price):
    tx = {"chainId": int(node.rpc("eth_chainId"), 16), "nonce": nonce, "to": to, "value": value, "gas": 21000,
          "gasPrice": gas_price}  # fmt: skip
    signed = Account.sign_transaction(tx, account.key)
    raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
    return node.rpc("eth_sendRawTransaction", ["0x" + bytes(raw).hex()])


def test_sweeps_to_zero_once(run_module, anvil, wallet):
    node = anvil(chain_id=31337, block_time=None, name="sweep")
    path, account = wallet
    target = Account.create().address
    fund(node, account.address, 3 * ONE_ETH)
    first = run_module(evm_sweep, args(node, path, to=target, allowed_to=[target.lower()]))
    assert first["changed"] is True
    entry = first["chains"][0]
    assert entry["state"] == "swept"
    assert balance(node, account.address) == 0 == entry["remaining_wei"]
    assert balance(node, target) == entry["swept_wei"] == 3 * ONE_ETH - entry["fee_wei"]
    assert account.key.hex().removeprefix("0x") not in json.dumps(first)
    again = run_module(evm_sweep, args(node, path, to=target))
    assert again["changed"] is False
    assert again["chains"][0]["state"] == "empty"


def test_check_mode_sends_nothing(run_module, anvil, wallet):
    node = anvil(chain_id=31337, block_time=None, name="sweep")
    path, account = wallet
    fund(node, account.address, ONE_ETH)
    result = run_module(evm_sweep, args(node, path, to=Account.create().address), check_mode=True)
    assert result["changed"] is True
    assert result["chains"][0]["state"] == "would_sweep"
    assert balance(node, account.address) == ONE_ETH


def test_dust_is_not_a_change(run_module, anvil, wallet):
    node = anvil(chain_id=31337, block_time=None, name="sweep")
    path, account = wallet
    fund(node, account.address, 1000)
    result = run_module(evm_sweep, args(node, path, to=Account.create().address))
    assert result["changed"] is False
    assert result["chains"][0]["state"] == "dust"
    assert balance(node, account.address) == 1000


def test_refuses_an_address_outside_the_allow_list(run_module, anvil, wallet):
    node = anvil(chain_id=31337, block_time=None, name="sweep")
    path, account = wallet
    fund(node, account.address, ONE_ETH)
    cold, other = Account.create().address, Account.create().address
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_sweep, args(node, path, to=other, allowed_to=[cold]))
    assert f"refusing to send to {other}" in failed.value.result["msg"]
    assert balance(node, account.address) == ONE_ETH


@pytest.mark.parametrize("burn", ["0x" + "0" * 40, "0x000000000000000000000000000000000000dEaD"])
def test_refuses_the_zero_and_burn_addresses_even_when_allowed(run_module, anvil, wallet, burn):
    node = anvil(chain_id=31337, block_time=None, name="sweep")
    path, account = wallet
    fund(node, account.address, ONE_ETH)
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_sweep, args(node, path, to=burn, allowed_to=[burn]))
    assert "the zero or a burn address" in failed.value.result["msg"]
    assert balance(node, account.address) == ONE_ETH


def test_wrong_password_fails_without_sending(run_module, anvil, wallet):
    node = anvil(chain_id=31337, block_time=None, name="sweep")
    path, account = wallet
    fund(node, account.address, ONE_ETH)
    with pytest.raises(ModuleFailed) as failed:
        run_module(evm_sweep, {**args(node, path, to=Account.create().address), "password": "wrong-password"})
    assert "does not decrypt" in failed.value.result["msg"]
    assert balance(node, account.address) == ONE_ETH


class Miner(threading.Thread):
    """Mines (automine is off) once none of the `originals` is left in the pool: they were replaced."""

    def __init__(self, node, originals):
        super().__init__(daemon=True)
        self.node, self.originals, self.stop = node, set(originals), threading.Event()

    def run(self):
        while not self.stop.is_set():
            pool = self.node.rpc("txpool_content")
            hashes = {tx["hash"] for txs in pool["pending"].values() for tx in txs.values()}
            if hashes and not hashes & self.originals:
                self.node.rpc("evm_mine")
            time.sleep(0.1)


def test_replaces_every_pending_nonce_then_sweeps(run_module, anvil, wallet):
    node = anvil(chain_id=31337, block_time=None, name="sweep-pending")
    path, account = wallet
    elsewhere, target = Account.create().address, Account.create().address
    fund(node, account.address, 2 * ONE_ETH)
    price = int(node.rpc("eth_gasPrice"), 16) * 2
    node.rpc("evm_setAutomine", [False])
    miner = None
    try:
        originals = [send_raw(node, account, n, elsewhere, ONE_ETH // 4, gas_price=price) for n in (0, 1)]
        miner = Miner(node, originals)
        miner.start()
        result = run_module(evm_sweep, args(node, path, to=target, cancel_pending=True, receipt_timeout=30))
    finally:
        if miner:
            miner.stop.set()
            miner.join()
        node.rpc("evm_setAutomine", [True])
    entry = result["chains"][0]
    assert [c["nonce"] for c in entry["cancelled"]] == [0, 1]
    assert [c["replaced"] for c in entry["cancelled"]] == originals
    for original in originals:
        assert node.rpc("eth_getTransactionReceipt", [original]) is None
    assert balance(node, elsewhere) == 0
    assert balance(node, account.address) == 0
    assert int(node.rpc("eth_getTransactionCount", [account.address, "latest"]), 16) == 3


def test_waits_for_an_interrupted_sweep_instead_of_sending_twice(run_module, anvil, wallet):
    node = anvil(chain_id=31337, block_time=1, name="sweep-interval")
    path, account = wallet
    target = Account.create().address
    fund(node, account.address, ONE_ETH)
    price = int(node.rpc("eth_gasPrice"), 16) * 2
    # What a killed run leaves: its sweep sent, not yet mined.
    send_raw(node, account, 0, target, ONE_ETH - 21000 * price, gas_price=price)
    result = run_module(evm_sweep, args(node, path, to=target, receipt_timeout=30))
    entry = result["chains"][0]
    assert entry["waited_nonces"] == [0]
    assert entry["state"] == "empty"
    assert result["changed"] is False
    assert balance(node, target) == ONE_ETH - 21000 * price
