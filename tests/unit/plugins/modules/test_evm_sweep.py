"""evm_sweep against real anvil: sweep to zero, idempotent re-run, check mode, allow-list,
replacement of pending nonces, waiting for an interrupted run's sweep, and no key in results."""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.module_utils import evm_fees
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


# ---------------------------------------------------------------- fee families (issue 15, part 1)
# anvil's OP-stack mode (--network optimism) charges the L1 data fee; the engine's test helper
# (files/mev_engine/tests/devnet.py, as on the devnet) sets its L1 prices and places a stand-in
# GasPriceOracle answering getL1Fee with the L1 fee of a transfer. anvil with Arbitrum's chain
# id is a plain EVM (no L1 gas in its estimate): it shows the family's gas margin and what stays.


def _engine_devnet():
    path = Path(__file__).resolve().parents[4] / "files" / "mev_engine" / "tests" / "devnet.py"
    spec = importlib.util.spec_from_file_location("engine_test_devnet", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ENGINE_DEVNET = _engine_devnet()


def word(value):
    return "0x" + value.to_bytes(32, "big").hex()


def send_fields(node, account, nonce, to, value, **fields):
    tx = {"chainId": int(node.rpc("eth_chainId"), 16), "nonce": nonce, "to": to, "value": value, **fields}
    signed = Account.sign_transaction(tx, account.key)
    raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
    return node.rpc("eth_sendRawTransaction", ["0x" + bytes(raw).hex()])


@pytest.fixture
def op_stack(anvil):
    """Base's chain id in anvil's OP-stack mode, shaped as the devnet's: (node, L1 fee of a transfer).
    The stand-in oracle is taken away again: each test puts it back or not."""
    node = anvil(chain_id=8453, block_time=None, name="sweep-op", network="optimism")
    l1_fee = ENGINE_DEVNET.Devnet(node.url, {}).op_stack_predeploys()
    node.rpc("anvil_setCode", [evm_fees.GAS_PRICE_ORACLE, "0x"])
    return node, l1_fee


def with_oracle(node, l1_fee):
    node.rpc("anvil_setCode", [evm_fees.GAS_PRICE_ORACLE, ENGINE_DEVNET.ORACLE_STAND_IN])
    node.rpc("anvil_setStorageAt", [evm_fees.GAS_PRICE_ORACLE, "0x0", word(l1_fee)])


def test_op_stack_sweep_pays_the_l1_fee_and_leaves_at_most_dust(run_module, op_stack, wallet):
    node, l1_fee = op_stack
    path, account = wallet
    target = Account.create().address
    fund(node, account.address, 2 * ONE_ETH)
    # The old sweep (a legacy transfer of balance - 21000 x gas price) cannot pay the L1 fee: op-geth's
    # pool refuses it; anvil takes it and drops it at execution. Either way the funds stay.
    price = 2 * int(node.rpc("eth_gasPrice"), 16)
    old = send_fields(node, account, 0, target, 2 * ONE_ETH - 21000 * price, gas=21000, gasPrice=price)
    node.rpc("evm_mine")
    assert node.rpc("eth_getTransactionReceipt", [old]) is None
    assert balance(node, account.address) == 2 * ONE_ETH
    with_oracle(node, l1_fee)
    result = run_module(evm_sweep, args(node, path, to=target))
    entry = result["chains"][0]
    assert (entry["state"], entry["fee_family"], entry["chain_id"]) == ("swept", "op-stack", 8453), entry
    assert entry["l1_fee_wei"] == evm_fees.with_margin(l1_fee, 25)
    left = balance(node, account.address)
    assert left == entry["remaining_wei"] <= 10**14, entry
    assert balance(node, target) == entry["swept_wei"] == 2 * ONE_ETH - entry["fee_wei"] - left
    assert len(entry["tx_hashes"]) == 1


def test_op_stack_without_the_oracle_sends_nothing(run_module, op_stack, wallet):
    node, _l1_fee = op_stack
    path, account = wallet
    fund(node, account.address, ONE_ETH)
    with pytest.raises(ModuleFailed, match=r"GasPriceOracle predeploy .* answered '0x'"):
        run_module(evm_sweep, args(node, path, to=Account.create().address))
    assert int(node.rpc("eth_getTransactionCount", [account.address, "pending"]), 16) == 0
    assert balance(node, account.address) == ONE_ETH


def test_a_remainder_above_dust_is_swept_again_then_named(run_module, op_stack, wallet):
    node, l1_fee = op_stack
    path, account = wallet
    with_oracle(node, l1_fee)
    fund(node, account.address, ONE_ETH)
    # dust_wei=0: the unspent L1 reserve (a quarter of the L1 fee) is too little to pay a second
    # transfer, so the module fails and says how much stays.
    with pytest.raises(ModuleFailed, match=r"but \d+ wei stays in .* above dust_wei 0"):
        run_module(evm_sweep, args(node, path, to=Account.create().address, dust_wei=0))
    assert 0 < balance(node, account.address) <= 10**14


def test_arbitrum_sweep_gets_a_gas_margin_and_leaves_at_most_dust(run_module, anvil, wallet):
    node = anvil(chain_id=42161, block_time=None, name="sweep-arbitrum")
    path, account = wallet
    target = Account.create().address
    fund(node, account.address, ONE_ETH)
    entry = run_module(evm_sweep, args(node, path, to=target))["chains"][0]
    assert (entry["state"], entry["fee_family"]) == ("swept", "arbitrum"), entry
    tx = node.rpc("eth_getTransactionByHash", [entry["tx_hash"]])
    assert int(tx["gas"], 16) == evm_fees.with_margin(21000, 25)
    assert int(tx["maxFeePerGas"], 16) == int(tx["maxPriorityFeePerGas"], 16)
    assert 0 < balance(node, account.address) == entry["remaining_wei"] <= 10**14
    assert balance(node, target) == entry["swept_wei"]


def test_ethereum_sweep_is_type_2_and_exact(run_module, anvil, wallet):
    node = anvil(chain_id=1, block_time=None, name="sweep-l1")
    path, account = wallet
    fund(node, account.address, ONE_ETH)
    entry = run_module(evm_sweep, args(node, path, to=Account.create().address))["chains"][0]
    assert (entry["state"], entry["fee_family"], entry["remaining_wei"]) == ("swept", "eip1559", 0), entry
    assert node.rpc("eth_getTransactionByHash", [entry["tx_hash"]])["type"] == "0x2"


# ---------------------------------------------------------------- the journal (issue 15, part 5)


def mine_later(node, seconds):
    timer = threading.Timer(seconds, lambda: node.rpc("evm_mine"))
    timer.start()
    return timer


def test_a_killed_sweep_is_waited_for_never_replaced(run_module, anvil, wallet, tmp_path):
    node = anvil(chain_id=1, block_time=None, name="sweep-journal")
    path, account = wallet
    target = Account.create().address
    journal = tmp_path / "sweeps.json"
    fund(node, account.address, ONE_ETH)
    node.rpc("evm_setAutomine", [False])
    try:
        # The run that dies with its sweep pending (here: no receipt in time, mining paused).
        with pytest.raises(ModuleFailed, match="no receipt for sweep"):
            run_module(evm_sweep, args(node, path, to=target, journal=str(journal), receipt_timeout=1))
        recorded = json.loads(journal.read_text())["transactions"]
        assert [(t["nonce"], t["kind"]) for t in recorded] == [(0, "sweep")]
        # The re-run, asked to replace what is pending, finds its own sweep in the journal.
        timer = mine_later(node, 1.5)
        result = run_module(evm_sweep, args(node, path, to=target, journal=str(journal), cancel_pending=True))
        timer.join()
    finally:
        node.rpc("evm_setAutomine", [True])
    entry = result["chains"][0]
    assert entry["cancelled"] == [] and entry["journaled_nonces"] == [0] == entry["waited_nonces"], entry
    assert entry["state"] == "empty"
    assert int(node.rpc("eth_getTransactionCount", [account.address, "latest"]), 16) == 1  # exactly one sweep
    assert node.rpc("eth_getTransactionReceipt", [recorded[0]["tx_hash"]])["status"] == "0x1"
    assert balance(node, target) > ONE_ETH - 10**15 and balance(node, account.address) == 0


def test_the_journal_keeps_the_read_access_granted_to_its_group(run_module, anvil, wallet, tmp_path):
    """The emergency role lets the engine's group read the journal (the wallet audit): each new
    entry rewrites the file and keeps that, never opening it further than 0640."""
    node = anvil(chain_id=1, block_time=None, name="sweep-journal-mode")
    path, account = wallet
    journal = tmp_path / "sweeps.json"
    journal.write_text(json.dumps({"transactions": []}))
    journal.chmod(0o644)
    fund(node, account.address, ONE_ETH)
    run_module(evm_sweep, args(node, path, to=Account.create().address, journal=str(journal)))
    assert [t["kind"] for t in json.loads(journal.read_text())["transactions"]] == ["sweep"]
    assert journal.stat().st_mode & 0o777 == 0o640


def test_a_sweep_journaled_but_never_broadcast_is_sent_by_the_re_run(run_module, anvil, wallet, tmp_path):
    node = anvil(chain_id=1, block_time=None, name="sweep-journal-lost")
    path, account = wallet
    target = Account.create().address
    fund(node, account.address, ONE_ETH)
    price = 4 * int(node.rpc("eth_gasPrice"), 16)
    tx = {"chainId": 1, "nonce": 0, "to": target, "value": ONE_ETH - 21000 * price, "gas": 21000, "type": 2,
          "maxFeePerGas": price, "maxPriorityFeePerGas": price}  # fmt: skip
    signed = Account.sign_transaction(tx, account.key)
    raw = bytes(getattr(signed, "raw_transaction", None) or signed.rawTransaction)
    journal = tmp_path / "sweeps.json"
    journal.write_text(json.dumps({"transactions": [
        {"address": account.address, "chain_id": 1, "nonce": 0, "tx_hash": "0x" + bytes(signed.hash).hex(),
         "raw": "0x" + raw.hex(), "kind": "sweep", "at": 0}]}))  # fmt: skip
    entry = run_module(evm_sweep, args(node, path, to=target, journal=str(journal), cancel_pending=True))["chains"][0]
    assert entry["journaled_nonces"] == [0] and entry["cancelled"] == [] and entry["state"] == "empty", entry
    assert balance(node, target) == ONE_ETH - 21000 * price
    assert int(node.rpc("eth_getTransactionCount", [account.address, "latest"]), 16) == 1


def test_an_unreadable_journal_stops_before_anything_is_sent(run_module, anvil, wallet, tmp_path):
    node = anvil(chain_id=31337, block_time=None, name="sweep")
    path, account = wallet
    fund(node, account.address, ONE_ETH)
    journal = tmp_path / "sweeps.json"
    journal.write_text("{not json")
    with pytest.raises(ModuleFailed, match=r"journal .* cannot be read"):
        run_module(evm_sweep, args(node, path, to=Account.create().address, journal=str(journal)))
    assert balance(node, account.address) == ONE_ETH


def test_a_run_holding_the_journal_lock_is_waited_for(run_module, anvil, wallet, tmp_path):
    node = anvil(chain_id=31337, block_time=None, name="sweep")
    path, account = wallet
    fund(node, account.address, ONE_ETH)
    journal = tmp_path / "sweeps.json"
    holder = os.open(f"{journal}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another run, still going
    try:
        with pytest.raises(ModuleFailed, match=r"another run holds .*sweeps.json.lock after 1 s"):
            run_module(evm_sweep, args(node, path, to=Account.create().address, journal=str(journal), lock_timeout=1))
        assert balance(node, account.address) == ONE_ETH
        threading.Timer(1, lambda: fcntl.flock(holder, fcntl.LOCK_UN)).start()
        entry = run_module(evm_sweep, args(node, path, to=Account.create().address, journal=str(journal)))["chains"][0]
        assert entry["state"] == "swept"
    finally:
        os.close(holder)
