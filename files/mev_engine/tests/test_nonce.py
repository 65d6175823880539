"""Nonce manager under concurrent orders: unique, gap-free, and accepted by a real node."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devnet import ETH

from mev_engine.nonce import NonceManager
from mev_engine.rpc import RpcClient, RpcError


def test_concurrent_allocations_are_unique_and_contiguous() -> None:
    calls = []
    manager = NonceManager(lambda: calls.append(1) or 7)
    barrier = threading.Barrier(16)

    def grab(_worker: int) -> list[int]:
        barrier.wait()
        return [manager.allocate() for _round in range(250)]

    with ThreadPoolExecutor(16) as pool:
        got = [n for chunk in pool.map(grab, range(16)) for n in chunk]
    assert sorted(got) == list(range(7, 7 + 4000))
    assert len(calls) == 1  # the node is asked once, not per allocation


def test_released_nonces_are_reused_lowest_first() -> None:
    manager = NonceManager(lambda: 0)
    nonces = [manager.allocate() for _round in range(5)]  # 0..4
    manager.release(1)
    manager.release(3)
    assert manager.allocate() == 1
    assert manager.allocate() == 3
    assert manager.allocate() == 5
    manager.release(5)  # the last one given out: the counter steps back
    assert manager.peek() == 5
    assert nonces == [0, 1, 2, 3, 4]
    manager.resync()
    assert manager.peek() is None


def test_gaps_are_claimed_once_and_never_while_in_hand() -> None:
    manager = NonceManager(lambda: 0)
    assert not manager.is_gap(0)  # nothing allocated yet: the node's count is the truth
    nonces = [manager.allocate() for _round in range(3)]  # 0..2, in hand until done()
    assert not manager.is_gap(0)  # being sent right now
    for nonce in nonces:
        manager.done(nonce)
    assert manager.is_gap(0) and not manager.is_gap(3)  # the node stops at 0, the engine handed out 0..2
    assert manager.claim(0)
    assert not manager.claim(0)  # the filler has it
    manager.release(1)  # a released nonce below the next one is a gap as well
    assert manager.claim(1)
    assert manager.allocate() == 3  # neither 0 nor 1 again
    fresh = NonceManager(lambda: 5)
    assert fresh.claim(7)  # nothing allocated since start: the node's pending count (7) is taken
    assert fresh.allocate() == 8


def test_concurrent_orders_all_land_on_anvil(node: Any, devnet: Any, funded_hot: Any) -> None:
    """24 transfers signed and sent from 8 threads at once: every one mined, nonces 0..23."""
    client = RpcClient("ethereum", node.url)
    account = funded_hot
    manager = NonceManager(lambda: client.nonce(account.address, "pending"))
    target = devnet.w3.eth.account.create().address
    gas_price = int(client.call("eth_gasPrice"), 16) * 2
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def send(_worker: int) -> list[tuple[int, str]]:
        barrier.wait()
        sent = []
        for _round in range(3):
            nonce = manager.allocate()
            tx = {"to": target, "value": 1000, "gas": 21000, "gasPrice": gas_price, "nonce": nonce, "chainId": 31337}
            raw = account.sign_transaction(tx).raw_transaction
            try:
                sent.append((nonce, client.call("eth_sendRawTransaction", ["0x" + raw.hex().removeprefix("0x")])))
            except RpcError as exc:
                manager.release(nonce)
                errors.append(exc)
        return sent

    with ThreadPoolExecutor(8) as pool:
        sent = [item for chunk in pool.map(send, range(8)) for item in chunk]
    assert not errors
    assert sorted(n for n, _tx_hash in sent) == list(range(24))
    for _nonce, tx_hash in sent:
        receipt = devnet.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1
    assert client.nonce(account.address, "latest") == 24
    assert client.balance(target) == 24 * 1000
    assert client.balance(account.address) < 100 * ETH
