"""The hot wallet audit on real parts (PostgreSQL, Redis, anvil, execution as a process): a
transaction signed with the hot key outside the engine is counted in
mev_wallet_unrecorded_transactions and logged at CRITICAL; the wallet's history before the
engine first saw it, the engine's own transactions and the emergency fallback's journaled ones
are not."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from devnet import Devnet, wait_for
from test_crash_safety import enable_trading, order, rows, start_execution, transactions, unrecorded_gauge

from mev_engine import streams
from mev_engine.components.execution import AUDIT_SECONDS

ALARM = "did not send"


def unrecorded(redis: Any, address: str) -> float | None:
    """The gauge's value for the hot wallet on the test chain, None before the audit's first round."""
    text = redis.get("mev:metrics:execution")
    return unrecorded_gauge(text.decode() if text else "", address)


def outside(devnet: Devnet, account: Any, nonce: int) -> str:
    """A transfer signed with the hot key, not by the engine, mined at once (anvil's automine)."""
    tx = {"to": devnet.w3.eth.account.create().address, "value": 1000, "gas": 21000,
          "gasPrice": devnet.w3.eth.gas_price * 2, "nonce": nonce, "chainId": 31337}  # fmt: skip
    tx_hash = devnet.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    devnet.wait(tx_hash)
    return "0x" + bytes(tx_hash).hex()


def quiet(redis: Any, api: Any, address: str) -> None:
    """Two audit rounds after the last transaction: the gauge is there and 0, no alarm logged."""
    time.sleep(2 * AUDIT_SECONDS + 0.5)
    assert unrecorded(redis, address) == 0, api.log("execution")
    assert ALARM not in api.log("execution")


def test_a_transaction_signed_outside_the_engine_is_critical(
    engine: Any, devnet: Devnet, funded_hot: Any, db: Any, redis_client: Any
) -> None:
    address = funded_hot.address
    outside(devnet, funded_hot, 0)  # history before the engine: below the baseline, not judged
    api = start_execution(engine, redis_client)
    wait_for(lambda: unrecorded(redis_client, address) == 0, 30, "the audit's first round", api)
    assert rows(db, "SELECT chain, address, baseline_nonce FROM mev.wallet_audit") == [("ethereum", address.lower(), 1)]

    outside(devnet, funded_hot, 1)  # the same key, used by someone else while the engine runs
    wait_for(lambda: unrecorded(redis_client, address) == 1, 30, "the unrecorded transaction counted", api)
    wait_for(lambda: ALARM in api.log("execution"), 10, "the CRITICAL line", api)
    (line,) = [entry for entry in api.log("execution").splitlines() if ALARM in entry]
    assert "CRITICAL" in line and "ethereum" in line and address in line and "nonce(s) 1 " in line
    time.sleep(2 * AUDIT_SECONDS)
    assert api.log("execution").count(ALARM) == 1  # once, not at every round

    # A restart does not clear it: the audit starts again from the stored baseline.
    assert api.stop("execution") == 0
    redis_client.delete("mev:metrics:execution")
    api.start("execution")
    wait_for(lambda: unrecorded(redis_client, address) == 1, 60, "the count after a restart", api)
    assert rows(db, "SELECT baseline_nonce FROM mev.wallet_audit") == [(1,)]


def test_the_engines_own_orders_leave_the_audit_quiet(
    engine: Any, devnet: Devnet, funded_hot: Any, db: Any, redis_client: Any
) -> None:
    enable_trading(redis_client)
    outside(devnet, funded_hot, 0)  # history
    api = start_execution(engine, redis_client)
    target = devnet.w3.eth.account.create().address
    items = [order(db, data, target) for data in ("0x01", "0x02", "0x03")]
    for item in items:
        redis_client.xadd(streams.ORDERS, item)
    for item in items:
        wait_for(lambda item=item: [t[0] for t in transactions(db, item)] == ["confirmed"], 30, "confirmed", api)
    assert devnet.w3.eth.get_transaction_count(funded_hot.address) == 4
    quiet(redis_client, api, funded_hot.address)


def test_the_emergency_fallbacks_journaled_transactions_are_recorded(
    engine: Any, devnet: Devnet, funded_hot: Any, db: Any, redis_client: Any, tmp_path: Path
) -> None:
    """evm_sweep's journal (the emergency role's host-side fallback, signing with the keystore
    while mev-execution is stopped) beside the stop file: its mined nonces are the collection's."""
    api = start_execution(engine, redis_client)
    wait_for(lambda: unrecorded(redis_client, funded_hot.address) == 0, 30, "the audit's first round", api)
    assert api.stop("execution") == 0
    tx_hash = outside(devnet, funded_hot, 0)
    journal = {"transactions": [{"address": funded_hot.address, "chain_id": 31337, "nonce": 0, "tx_hash": tx_hash,
                                 "raw": "0x", "kind": "sweep", "at": int(time.time())}]}  # fmt: skip
    (tmp_path / "emergency-sweeps.json").write_text(json.dumps(journal))
    redis_client.delete("mev:metrics:execution")
    api.start("execution")
    wait_for(lambda: unrecorded(redis_client, funded_hot.address) is not None, 60, "the audit after the restart", api)
    quiet(redis_client, api, funded_hot.address)
    # Without the journal the same nonce is someone else's.
    assert api.stop("execution") == 0
    (tmp_path / "emergency-sweeps.json").unlink()
    redis_client.delete("mev:metrics:execution")
    api.start("execution")
    wait_for(lambda: unrecorded(redis_client, funded_hot.address) == 1, 60, "the unjournaled nonce counted", api)
