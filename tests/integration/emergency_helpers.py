"""Helpers of the emergency and key-rotation integration tests (test_4*): the hot wallet's key,
pending transactions made on purpose, a miner that mines only once they were replaced, balances,
and putting the devnet's wallet back as it was."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from conftest import ENGINE_HOST, Devnet
from eth_account import Account

KEYSTORE = "/etc/mev/keystore/hot.json"
WEI = 10**18


def keystore_document(devnet: Devnet) -> dict[str, Any]:
    return json.loads(devnet.exec(ENGINE_HOST, "cat", KEYSTORE).stdout)


def hot_account(devnet: Devnet) -> Any:
    """The engine's hot key, decrypted in the test (to send transactions and to grep outputs for it)."""
    password = devnet.hostvars(ENGINE_HOST, "mev_engine_keystore_password")["mev_engine_keystore_password"]
    return Account.from_key(Account.decrypt(keystore_document(devnet), password))


def balance(devnet: Devnet, chain: str, address: str) -> int:
    return int(devnet.rpc(chain, "eth_getBalance", [address, "latest"]), 16)


def nonces(devnet: Devnet, chain: str, address: str) -> tuple[int, int]:
    latest = int(devnet.rpc(chain, "eth_getTransactionCount", [address, "latest"]), 16)
    pending = int(devnet.rpc(chain, "eth_getTransactionCount", [address, "pending"]), 16)
    return latest, pending


def set_balance(devnet: Devnet, address: str, wei: int) -> None:
    for chain in devnet.chains():
        devnet.rpc(chain["name"], "anvil_setBalance", [address, hex(wei)])


def send_pending(devnet: Devnet, chain: str, account: Any, count: int) -> list[str]:
    """`count` transfers from the hot wallet priced just above the base fee, left pending (mining paused)."""
    chain_id = int(devnet.rpc(chain, "eth_chainId"), 16)
    base = int(devnet.rpc(chain, "eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
    first = nonces(devnet, chain, account.address)[1]
    hashes = []
    for nonce in range(first, first + count):
        tx = {"chainId": chain_id, "nonce": nonce, "to": Account.create().address, "value": WEI // 10,
              "gas": 21000, "gasPrice": base + base // 10}  # fmt: skip
        signed = Account.sign_transaction(tx, account.key)
        raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
        hashes.append(devnet.rpc(chain, "eth_sendRawTransaction", ["0x" + bytes(raw).hex()]))
    return hashes


class Miner(threading.Thread):
    """With `chain`'s interval mining paused: mines a block whenever the pool holds transactions
    and none of `originals` is among them (they were replaced), so a test sees replacement, not a race."""

    def __init__(self, devnet: Devnet, chain: str, originals: list[str]) -> None:
        super().__init__(daemon=True)
        self.devnet, self.chain, self.originals = devnet, chain, {h.lower() for h in originals}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                pool = self.devnet.rpc(self.chain, "txpool_content")
                hashes = {tx["hash"].lower() for txs in pool["pending"].values() for tx in txs.values()}
                if hashes and not hashes & self.originals:
                    self.devnet.rpc(self.chain, "evm_mine")
            except (AssertionError, ValueError, KeyError):
                pass  # a slow docker exec; try again
            time.sleep(0.3)


class PausedMining:
    """Context: `chain`'s interval mining off, a Miner on, and both restored on exit."""

    def __init__(self, devnet: Devnet, chain: str) -> None:
        self.devnet, self.chain, self.miner = devnet, chain, None

    def __enter__(self) -> PausedMining:
        self.devnet.rpc(self.chain, "evm_setIntervalMining", [0])
        return self

    def mine_when_replaced(self, originals: list[str]) -> None:
        self.miner = Miner(self.devnet, self.chain, originals)
        self.miner.start()

    def __exit__(self, *_exc: object) -> None:
        if self.miner:
            self.miner.halt.set()
            self.miner.join(timeout=10)
        self.devnet.rpc(self.chain, "evm_setIntervalMining", [1])


def wait_ready(devnet: Devnet, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not devnet.engine_ready():
        assert time.monotonic() < deadline, f"engine not ready after {timeout:g} s"
        time.sleep(1)


def restore_engine(devnet: Devnet, keystore: str | None = None, funds: dict[str, int] | None = None) -> None:
    """Put the hot wallet back (keystore text, balances per address), start every unit, trading disabled."""
    if keystore is not None:
        devnet.exec(ENGINE_HOST, "sh", "-c", f"cat > {KEYSTORE} && chown mev:mev {KEYSTORE} && chmod 0600 {KEYSTORE}",
                    input=keystore)  # fmt: skip
    for address, wei in (funds or {}).items():
        set_balance(devnet, address, wei)
    devnet.systemctl(ENGINE_HOST, "start", "mev-monitoring.service")
    deadline = time.monotonic() + 60
    while devnet.api("GET", "/health/live")[0] != 200:
        assert time.monotonic() < deadline, "mev-monitoring did not come back"
        time.sleep(1)
    # Disable before execution starts again: with the API down, the stored state stayed as it was.
    status, body = devnet.api("POST", "/api/v1/trading/disable", {"reason": "integration test restore"})
    assert status == 200, body
    if keystore is not None:
        devnet.systemctl(ENGINE_HOST, "restart", "mev-execution.service")
    devnet.systemctl(ENGINE_HOST, "start", "mev-execution.service", "mev-detection.service", "mev-calculation.service")
    wait_ready(devnet)
