"""Execution: orders -> signed transactions -> receipts, plus cancel and withdraw.

* The hot key comes from the V3 keystore (`wallet.keystore`), decrypted once at start
  with MEV_KEYSTORE_PASSWORD.
* Orders are read from `mev:orders` (group `execution`) and handled by a small thread
  pool. Each order is submitted only if, at the moment of sending: trading is enabled
  (Redis state, see state.py) and was already enabled when the order was made, no
  emergency stop has been broadcast, the order is younger than
  trading.order_ttl_seconds, an eth_call of it from the hot wallet does not revert,
  and the fee (2 x base fee + priority fee) is within trading.max_gas_price_gwei. The base
  fee is the newest head's that detection recorded (mev:chain:<name>), read from the node
  only when that head is missing or older than HEAD_FEE_MAX_AGE_SECONDS.
  Otherwise the opportunity is marked 'expired'.
* Every submitted transaction gets a mev.transactions row ('submitted') and is followed
  to its receipt ('confirmed' / 'failed'); a transaction whose nonce was consumed by a
  replacement becomes 'cancelled' (replaced by a cancel) or 'replaced'; one without a
  receipt after trading.receipt_timeout_seconds becomes 'dropped'. Open transactions
  are reloaded from PostgreSQL at start, so a restart keeps following them.
* Commands from `mev:commands` (sent by the monitoring API):
  - cancel: for every pending nonce of the hot wallet (the node's `latest`..`pending`
    range plus every open transaction the engine knows), a 0-value transfer to itself
    with the same nonce and fees raised by trading.fee_bump_percent over the highest
    fee already used for that nonce, its gas from eth_estimateGas (Arbitrum's includes the
    L1 calldata). The max-gas-price cap does not apply to cancels.
  - withdraw: refused while trading is enabled and to any address but wallet.cold_wallet.
    First empties the contracts the hot wallet owns on the chain (config owned_contracts: the
    executor and the desk's own, owned.py): each listed token's whole balance and the ETH balance,
    moved by the contract's owner calls straight to the cold wallet, whose receipts it waits for
    (OWNER_CALL_WAIT_SECONDS; each call's status is in the answer). Then sends
    balance - (gas limit x max fee + value of every open transaction) - the transfer's
    fee, priced by the chain's fee family (fees.py, by chain id): gas from eth_estimateGas, a
    type-2 transaction whose max fee equals its priority fee (exact on Ethereum-like chains),
    the L1 data fee quoted by the GasPriceOracle predeploy on OP-stack chains and the gas
    margin on Arbitrum reserved with fees.MARGIN_PERCENT on top. The hot wallet keeps the open
    transactions' reserve and what the margin did not spend.

Crash safety and nonces:
* Orders and commands are acknowledged once handled; entries delivered before a crash are read
  again (streams.GroupReader). A redelivered order whose opportunity already has a transaction
  (or is no longer 'active') is not sent again; a redelivered command already answered is not
  run again. An order's mev.transactions row is written ('pending') between signing and
  broadcasting, so a crash right after the broadcast leaves a row that the restart follows.
* A broadcast without an answer (timeout, connection lost) is resolved from the node
  (resolve_unknown): the transaction known by its hash is followed as sent; unknown, with the
  account's nonce not past it, its nonce is free again; a node that does not answer leaves the
  nonce used and the transaction followed, and the gap filler replaces it if it never arrived.
* Gaps (fill_gaps): when the node's `pending` count stops below the engine's next nonce at a
  nonce nobody is sending and none of the engine's transactions for it is known to the node
  (dropped from its pool) for GAP_GRACE_SECONDS, a zero-value transfer to itself takes it, fees
  raised by trading.fee_bump_percent over what that nonce had, so the later nonces can be mined.
* An order without a receipt after trading.resend_after_seconds is sent again with the same
  nonce and fees raised by trading.fee_bump_percent (10 % at least: nodes' minimum replacement
  bump), at most trading.max_resends times, only while trading is enabled and within
  trading.max_gas_price_gwei; whichever version is mined, the others become 'replaced'.
* Every one of these says so in the log (WARNING) and in mev_recoveries_total{chain,action}.

Wallet audit (audit_wallet, every AUDIT_SECONDS): every nonce of the hot wallet mined since the
audit's baseline (mev.wallet_audit: the confirmed nonce the first time the engine saw the wallet
on the chain) must be one the engine recorded in mev.transactions (rows are written before the
broadcast, send_recorded) or one the emergency role's host-side fallback journaled (SWEEP_JOURNAL).
A mined nonce that is neither was signed with the hot key outside the engine: it is counted in
mev_wallet_unrecorded_transactions{chain,address} and logged once at CRITICAL.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg
from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address

from mev_engine import owned, streams
from mev_engine.config import EngineConfig
from mev_engine.db import Database
from mev_engine.fees import (
    ARBITRUM,
    GAS_PRICE_ORACLE,
    MARGIN_PERCENT,
    OP_STACK,
    TransferFee,
    fee_family,
    get_l1_fee_calldata,
    price_per_gas,
    transfer_fee,
    with_margin,
)
from mev_engine.keystore import load_account
from mev_engine.nonce import NonceManager
from mev_engine.rpc import RpcClient, RpcError, RpcUnreachable
from mev_engine.runtime import Runtime
from mev_engine.state import CONTROL_CHANNEL, EMERGENCY, TradingStateCache, read_state

log = logging.getLogger(__name__)

GROUP = "execution"
GWEI = 10**9
WEI_PER_ETH = Decimal(10**18)
ARBITRAGE_TOPIC = (
    "0x"
    + event_abi_to_log_topic(
        {
            "type": "event",
            "name": "Arbitrage",
            "inputs": [
                {"type": "address", "indexed": True, "name": "pairBuy"},
                {"type": "address", "indexed": True, "name": "pairSell"},
                {"type": "address", "indexed": True, "name": "tokenIn"},
                {"type": "uint256", "indexed": False, "name": "amountIn"},
                {"type": "uint256", "indexed": False, "name": "profit"},
            ],
        }
    ).hex()
)


# An order's base fee comes from detection's newest head while its block is at most this old: the
# max fee is twice the base fee, enough for about five full blocks of rising base fee (12.5 % each)
# on a 12 s chain; an older head means detection stalled, and the node is asked instead.
HEAD_FEE_MAX_AGE_SECONDS = 15.0


class CommandError(Exception):
    """A command refused for a reason the caller must hear (HTTP status in `code`)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class FeeTooHigh(Exception):
    """The network's fee is above trading.max_gas_price_gwei."""


@dataclass
class Sent:
    chain: str
    tx_hash: str
    nonce: int
    gas_limit: int
    max_fee: int
    priority_fee: int
    value: int
    kind: str  # order | cancel | withdraw
    sent_at: float
    opportunity_id: int | None = None
    detected_at: str | None = None
    strategy: str = ""
    key: str = ""  # orders for the same trade share it: one in flight at a time
    to: str = ""  # an order's call, to send it again with a fee bump
    data: str = ""
    resends: int = 0


def order_key(order: dict[str, str]) -> str:
    """What makes two orders the same trade: chain, contract and, for the arbitrage, the pools."""
    details = json.loads(order.get("details") or "{}")
    pools = sorted(str(details[k]) for k in ("pool_buy", "pool_sell") if k in details)
    return ":".join([order["chain"], order["to"].lower(), *pools] if pools else [order["chain"], order["data"]])


class Wallet:
    """The hot wallet on one chain."""

    def __init__(self, chain: str, chain_id: int, client: RpcClient, address: str) -> None:
        self.chain = chain
        self.chain_id = chain_id
        self.client = client
        self.nonces = NonceManager(lambda: client.nonce(address, "pending"))


# How long a withdrawal waits for the owned contracts' withdrawals before the hot wallet's transfer:
# a few blocks, well within the API's command timeout (streams.COMMAND_TIMEOUT_SECONDS).
OWNER_CALL_WAIT_SECONDS = 30.0


def bump(value: int, percent: int) -> int:
    return -(-value * (100 + percent) // 100)  # ceiling: never below the node's minimum bump


# How often a broadcast without an answer is looked up on the node before it is left unresolved.
UNKNOWN_OUTCOME_TRIES = 3
# A nonce gap must be seen this long before it is filled (a transaction being broadcast right now).
GAP_GRACE_SECONDS = 2.0
GAP_CHECK_SECONDS = 1.0
# How often the hot wallet's mined nonces are checked against the record (audit_wallet).
AUDIT_SECONDS = 2.0
# The emergency role's host-side fallback (evm_sweep with the keystore, when the API does not
# answer) journals what it signs here, beside the stop file in mev_engine_state_dir
# (roles/emergency/vars/main.yml, _emergency_sweep_journal): those nonces are the collection's.
SWEEP_JOURNAL = "emergency-sweeps.json"


@dataclass
class WalletAudit:
    """The audit of the hot wallet on one chain: nonces below `floor` are judged (`unrecorded`
    holds those nobody recorded); from `floor` on, some wait for the receipt of the engine's own
    transaction, or were not mined yet."""

    floor: int
    unrecorded: set[int] = field(default_factory=set)


def nonce_ranges(nonces: set[int]) -> str:
    """'3-5, 9' for {3, 4, 5, 9}."""
    ranges: list[list[int]] = []
    for nonce in sorted(nonces):
        if ranges and ranges[-1][1] == nonce - 1:
            ranges[-1][1] = nonce
        else:
            ranges.append([nonce, nonce])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


class Executor:
    def __init__(self, runtime: Runtime, database: Database, account: LocalAccount) -> None:
        self.runtime = runtime
        self.config: EngineConfig = runtime.config
        self.redis = runtime.redis
        self.trading = TradingStateCache(self.redis)  # per order: read again only when mev:control announces
        self.metrics = runtime.metrics
        self.db = database
        self.account = account
        self.address = account.address
        self.wallets = {
            name: Wallet(
                name, chain.chain_id, RpcClient.for_chain(chain, runtime.metrics, component="execution"), self.address
            )
            for name, chain in self.config.chains.items()
        }
        self.inflight: dict[str, Sent] = {}
        self.busy: set[str] = set()  # order keys with a transaction in flight
        self.lock = threading.Lock()
        self.halted = threading.Event()
        self.outcomes: dict[str, deque[bool]] = {
            name: deque(maxlen=self.config.success_rate_window) for name in self.config.chains
        }
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="order")
        self.consumer = socket.gethostname()
        self.reader = streams.GroupReader(self.redis, (streams.COMMANDS, streams.ORDERS), GROUP, self.consumer,
                                          self.config.claim_idle_seconds, self.metrics)  # fmt: skip
        self.taken: set[str] = set()  # order entries being handled: not taken twice when reclaimed
        self.gaps: dict[str, tuple[int, float]] = {}  # chain -> (gap nonce, first seen)
        self.next_gap_check = 0.0
        self.audits: dict[str, WalletAudit] = {}  # chain -> the audit, from its baseline on
        self.journal_unreadable = False

    # ------------------------------------------------------------------ fees and sending

    def head_base_fee(self, chain: str) -> int | None:
        """The base fee of the newest head detection saw (mev:chain:<name>), or None when there is
        none or its block is older than HEAD_FEE_MAX_AGE_SECONDS (detection stalled: fees() asks the node)."""
        head = self.redis.hgetall(streams.CHAIN_HEAD.format(chain=chain))
        base_fee = head.get(b"base_fee_per_gas")
        if not base_fee or not head.get(b"block_timestamp"):
            return None
        age = time.time() - float(head[b"block_timestamp"])
        if age > HEAD_FEE_MAX_AGE_SECONDS:
            log.info("%s: detection's head is %.0fs old: fees from the node's latest block", chain, age)
            return None
        return int(base_fee)

    def fees(self, chain: str, capped: bool = True, base_fee: int | None = None) -> tuple[int, int]:
        """(max fee, priority fee) per gas for a transaction in the next block; from `base_fee` when
        the caller has the newest head's, else from the node's latest block."""
        if base_fee is not None:
            base = base_fee
        else:
            block = self.wallets[chain].client.call("eth_getBlockByNumber", ["latest", False])
            base = int(block.get("baseFeePerGas", "0x0"), 16)
        priority = int(self.config.priority_fee_gwei * GWEI)
        max_fee = 2 * base + priority
        if capped and max_fee > self.config.max_gas_price_gwei * GWEI:
            raise FeeTooHigh(
                f"{chain}: fee {Decimal(max_fee) / GWEI} gwei is above trading.max_gas_price_gwei "
                f"{self.config.max_gas_price_gwei}"
            )
        return max_fee, priority

    def quote(self, chain: str, to: str, value: int, nonce: int, l1_fee: bool = True, data: str = "0x") -> TransferFee:
        """What a transfer of `value` to `to` (a call with `data`) costs on `chain` (fees.py); the
        OP-stack L1 data fee is quoted for the signed transaction unless not `l1_fee` (a cancel moves
        no value)."""
        wallet = self.wallets[chain]
        client = wallet.client
        family = fee_family(wallet.chain_id)
        request = {"from": self.address, "to": to, "value": hex(min(value, 1)), "data": data}
        estimate = int(client.call("eth_estimateGas", [request]), 16)
        block = client.call("eth_getBlockByNumber", ["latest", False])
        base = block.get("baseFeePerGas")
        gas_price = int(client.call("eth_gasPrice"), 16) if base is None else 0
        priority = int(self.config.priority_fee_gwei * GWEI)
        price, legacy = price_per_gas(None if base is None else int(base, 16), priority, gas_price)
        fee = transfer_fee(family, estimate, price, legacy=legacy, margin_percent=MARGIN_PERCENT)
        if family != OP_STACK or not l1_fee:
            return fee
        unsigned: dict[str, Any] = {
            "to": to,
            "value": value,
            "data": data,
            "nonce": nonce,
            "chainId": wallet.chain_id,
            **fee.fields(),
        }
        draft = self.account.sign_transaction(unsigned)
        answer = client.call(
            "eth_call", [{"to": GAS_PRICE_ORACLE, "data": get_l1_fee_calldata(draft.raw_transaction)}, "latest"]
        )
        if not isinstance(answer, str) or len(answer) < 66:
            raise CommandError(
                f"{chain}: chain id {wallet.chain_id} is an OP-stack chain but the GasPriceOracle predeploy "
                f"{GAS_PRICE_ORACLE} answered {answer!r} to getL1Fee: the L1 data fee is unknown, nothing sent",
                502,
            )
        return transfer_fee(
            family, estimate, price, legacy=legacy, margin_percent=MARGIN_PERCENT, l1_fee=int(answer[2:66], 16)
        )

    def send(self, chain: str, tx: dict[str, Any], nonce: int | None = None, before: Any = None) -> tuple[str, int]:
        """Sign and broadcast; a nonce is allocated unless given. Returns (hash, nonce).

        `before(tx_hash, nonce)` runs between signing and broadcasting (an order writes its row).
        A broadcast without an answer is resolved from the node (resolve_unknown), never by giving
        the nonce back blindly: only a transaction the node does not have frees its nonce."""
        wallet = self.wallets[chain]
        allocated = nonce is None
        use = wallet.nonces.allocate() if nonce is None else nonce
        signed = self.account.sign_transaction({**tx, "nonce": use, "chainId": wallet.chain_id})
        tx_hash = "0x" + bytes(signed.hash).hex()
        try:
            if before is not None:
                before(tx_hash, use)
            try:
                wallet.client.call("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
            except RpcUnreachable as exc:
                outcome = self.resolve_unknown(chain, tx_hash, use)
                self.metrics["mev_recoveries_total"].labels(chain=chain, action=f"unknown_outcome_{outcome}").inc()
                log.warning("%s: broadcast of %s (nonce %d) got no answer (%s): %s", chain, tx_hash, use, exc,
                            {"sent": "the node has it, following it", "not_sent": "the node does not have it",
                             "unresolved": "cannot tell, nonce kept, following it"}[outcome])  # fmt: skip
                if outcome == "not_sent":
                    raise
        except RpcError as exc:
            if "nonce" in str(exc).lower() and "low" in str(exc).lower():
                wallet.nonces.resync()
            elif allocated:
                wallet.nonces.release(use)
            raise
        except Exception:
            if allocated:
                wallet.nonces.release(use)
            raise
        if allocated:
            wallet.nonces.done(use)
        return tx_hash, use

    def send_recorded(
        self,
        chain: str,
        tx: dict[str, Any],
        to: str,
        max_fee: int,
        priority: int,
        nonce: int | None = None,
        opportunity_id: int | None = None,
    ) -> tuple[str, int]:
        """send() with the transaction's mev.transactions row written between signing and
        broadcasting ('pending', 'submitted' once the node has it, 'dropped' when it refused it).
        Every nonce the engine uses has its row before it can be mined: the wallet audit counts a
        mined nonce without one as signed outside the engine, and a crash right after the
        broadcast leaves a row that the restart follows."""
        signed: list[str] = []

        def record(tx_hash: str, use: int) -> None:
            self.db.insert_transaction(chain, tx_hash, self.address, to, use, int(tx["gas"]), max_fee, priority,
                                       int(tx.get("value", 0)), opportunity_id, status="pending")  # fmt: skip
            signed.append(tx_hash)

        try:
            tx_hash, use = self.send(chain, tx, nonce=nonce, before=record)
        except Exception:
            for never_sent in signed:
                self.db.mark_transaction(never_sent, "dropped")
            raise
        self.db.mark_transaction(tx_hash, "submitted")
        return tx_hash, use

    def resolve_unknown(self, chain: str, tx_hash: str, nonce: int) -> str:
        """What became of a broadcast that got no answer, asked of the node: 'sent' when it knows the
        transaction by its hash, 'not_sent' when it does not and the account's pending nonce is not
        past it (nothing holds that nonce), else 'unresolved' (the node does not answer, or another
        transaction holds the nonce): the nonce stays used."""
        client = self.wallets[chain].client
        for attempt in range(UNKNOWN_OUTCOME_TRIES):
            try:
                if client.call("eth_getTransactionByHash", [tx_hash]) is not None:
                    return "sent"
                return "not_sent" if client.nonce(self.address, "pending") <= nonce else "unresolved"
            except RpcError as exc:
                log.warning("%s: cannot look up %s yet: %s", chain, tx_hash, exc)
                time.sleep(0.5 * 2**attempt)
        return "unresolved"

    def replacement_fees(self, chain: str, previous: list[Sent], capped: bool) -> tuple[int, int]:
        """(max fee, priority fee) of a transaction replacing `previous` (same nonce): both raised by
        trading.fee_bump_percent over the highest already used, and not below the current fees."""
        max_fee, priority = self.fees(chain, capped=capped)
        prev_max = max((s.max_fee for s in previous), default=max_fee)
        prev_priority = max((s.priority_fee for s in previous), default=priority)
        new_priority = max(bump(prev_priority, self.config.fee_bump_percent), priority)
        return max(bump(prev_max, self.config.fee_bump_percent), max_fee, new_priority), new_priority

    def track(self, sent: Sent) -> None:
        with self.lock:
            self.inflight[sent.tx_hash] = sent

    # ------------------------------------------------------------------ orders

    def _skip(self, order: dict[str, str], status: str, reason: str) -> None:
        self.metrics["mev_executions_total"].labels(
            chain=order["chain"], strategy=order["strategy"], status=status
        ).inc()
        self.db.set_opportunity_status(int(order["opportunity_id"]), order["detected_at"], "expired")
        log.info("%s order for opportunity %s not sent: %s", order["chain"], order["opportunity_id"], reason)

    def execute(self, order: dict[str, str], redelivered: bool = False) -> str | None:
        """Submit one order if every condition holds; return the transaction hash or None.

        While a transaction for the same trade (order_key) waits for its receipt, later
        orders for it are skipped: the first one closes the gap, the rest would revert. An
        order read again after a crash is dropped when it was handled before.
        """
        if redelivered and self.db.order_handled(int(order["opportunity_id"]), order["detected_at"]):
            self.metrics["mev_recoveries_total"].labels(chain=order["chain"], action="duplicate_skipped").inc()
            log.warning("%s: order for opportunity %s was handled before the restart: not again",
                        order["chain"], order["opportunity_id"])  # fmt: skip
            return None
        key = order_key(order)
        with self.lock:
            busy = key in self.busy
            self.busy.add(key)
        if busy:
            self._skip(order, "skipped", "a transaction for the same trade is still in flight")
            return None
        tx_hash = None
        try:
            tx_hash = self._submit(order, key)
        finally:
            if tx_hash is None:
                with self.lock:
                    self.busy.discard(key)
        return tx_hash

    def _submit(self, order: dict[str, str], key: str) -> str | None:
        chain = order["chain"]
        if chain not in self.wallets:
            self._skip(order, "error", f"chain {chain} is not configured")
            return None
        state = self.trading.current()
        if self.halted.is_set() or not state.enabled:
            self._skip(order, "skipped", "trading is not enabled")
            return None
        if float(order["created_at"]) < state.updated_at:
            self._skip(order, "skipped", "the order predates the moment trading was last enabled")
            return None
        age = time.time() - float(order["created_at"])
        if age > self.config.order_ttl_seconds:
            self._skip(order, "skipped", f"order is {age:.1f}s old (ttl {self.config.order_ttl_seconds}s)")
            return None
        client = self.wallets[chain].client
        try:
            client.call("eth_call", [{"from": self.address, "to": order["to"], "data": order["data"]}, "latest"])
        except RpcError as exc:
            self._skip(order, "dropped", f"simulation reverts: {exc}")
            return None
        try:
            max_fee, priority = self.fees(chain, base_fee=self.head_base_fee(chain))
        except FeeTooHigh as exc:
            self._skip(order, "skipped", str(exc))
            return None
        gas_limit = int(order["gas_limit"])
        tx = {
            "type": 2,
            "to": to_checksum_address(order["to"]),
            "data": order["data"],
            "value": 0,
            "gas": gas_limit,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority,
        }
        # Last check right before the point of no return: an emergency stop wins.
        if self.halted.is_set():
            self._skip(order, "skipped", "emergency stop")
            return None
        opportunity_id = int(order["opportunity_id"])
        signed: list[str] = []

        def record(tx_hash: str, nonce: int) -> None:  # before the broadcast: a crash leaves a row to follow
            signed.append(tx_hash)
            self.db.insert_transaction(chain, tx_hash, self.address, order["to"], nonce, gas_limit, max_fee, priority,
                                       0, opportunity_id, status="pending")  # fmt: skip

        try:
            tx_hash, nonce = self.send(chain, tx, before=record)
        except RpcError as exc:
            self.metrics["mev_executions_total"].labels(chain=chain, strategy=order["strategy"], status="error").inc()
            log.error("%s: sending order for opportunity %s failed: %s", chain, order["opportunity_id"], exc)
            for never_sent in signed:
                self.db.mark_transaction(never_sent, "dropped")
            self.db.set_opportunity_status(int(order["opportunity_id"]), order["detected_at"], "failed")
            return None
        self.track(
            Sent(
                chain,
                tx_hash,
                nonce,
                gas_limit,
                max_fee,
                priority,
                0,
                "order",
                time.time(),
                opportunity_id,
                order["detected_at"],
                order["strategy"],
                key,
                order["to"],
                order["data"],
            )
        )
        self.db.mark_transaction(tx_hash, "submitted")
        self.db.set_opportunity_status(opportunity_id, order["detected_at"], "submitted")
        log.info("%s: submitted %s (nonce %d) for opportunity %d", chain, tx_hash, nonce, opportunity_id)
        return tx_hash

    def _execute_logged(self, order: dict[str, str], entry_id: str, redelivered: bool) -> None:
        try:
            self.execute(order, redelivered)
        except Exception:
            log.exception("%s: order for opportunity %s failed", order.get("chain"), order.get("opportunity_id"))
        finally:  # handled (or failed for good): a crash before this line makes it read again
            self.redis.xack(streams.ORDERS, GROUP, entry_id)
            with self.lock:
                self.taken.discard(entry_id)

    # ------------------------------------------------------------------ receipts

    def poll_receipts(self) -> None:
        with self.lock:
            by_chain: dict[str, list[Sent]] = {}
            for sent in self.inflight.values():
                by_chain.setdefault(sent.chain, []).append(sent)
        for chain, sent_list in by_chain.items():
            client = self.wallets[chain].client
            try:
                receipts = client.batch([("eth_getTransactionReceipt", [s.tx_hash]) for s in sent_list])
            except RpcError as exc:
                log.warning("%s: cannot read receipts: %s", chain, exc)
                continue
            for sent, receipt in zip(sent_list, receipts, strict=True):
                if receipt:
                    self._finish(sent, receipt)
                    continue
                with self.lock:
                    newer = [s for s in self.inflight.values()
                             if s.chain == chain and s.nonce == sent.nonce and s.sent_at > sent.sent_at]  # fmt: skip
                if time.time() - sent.sent_at > self.config.receipt_timeout_seconds:
                    self._retire(sent, "replaced" if newer else "dropped")
                elif sent.kind == "order" and sent.data and not newer and self._overdue(sent):
                    self.resend(sent)
        if time.monotonic() >= self.next_gap_check:
            self.next_gap_check = time.monotonic() + GAP_CHECK_SECONDS
            self.fill_gaps()

    def _overdue(self, sent: Sent) -> bool:
        return time.time() - sent.sent_at > self.config.resend_after_seconds

    def resend(self, sent: Sent) -> None:
        """Send an order not mined in time again: same nonce and call, fees raised by
        trading.fee_bump_percent; at most trading.max_resends times, only while trading is enabled
        and within trading.max_gas_price_gwei."""
        if sent.resends >= self.config.max_resends or self.halted.is_set() or not self.trading.current().enabled:
            return
        sent.resends += 1  # counts a refused attempt too: the retries stay bounded
        try:
            max_fee, priority = self.replacement_fees(sent.chain, [sent], capped=True)
            if max_fee > self.config.max_gas_price_gwei * GWEI:
                raise FeeTooHigh(f"the bumped fee {Decimal(max_fee) / GWEI} gwei is above trading.max_gas_price_gwei")
            tx = {"type": 2, "to": to_checksum_address(sent.to), "data": sent.data, "value": 0,
                  "gas": sent.gas_limit, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": priority}  # fmt: skip
            tx_hash, _nonce = self.send_recorded(sent.chain, tx, sent.to, max_fee, priority, nonce=sent.nonce,
                                                 opportunity_id=sent.opportunity_id)  # fmt: skip
        except (RpcError, FeeTooHigh) as exc:
            log.warning("%s: not sending %s (nonce %d) again: %s", sent.chain, sent.tx_hash, sent.nonce, exc)
            return
        again = replace(sent, tx_hash=tx_hash, max_fee=max_fee, priority_fee=priority, sent_at=time.time())
        self.track(again)
        self.metrics["mev_recoveries_total"].labels(chain=sent.chain, action="fee_bump_resend").inc()
        log.warning("%s: order %s (nonce %d) not mined after %.0fs: sent again as %s, max fee %d -> %d wei (%d/%d)",
                    sent.chain, sent.tx_hash, sent.nonce, time.time() - sent.sent_at, tx_hash, sent.max_fee, max_fee,
                    again.resends, self.config.max_resends)  # fmt: skip

    def fill_gaps(self) -> None:
        """Fill a nonce the node lost, which blocks every later one: the node's `pending` count stops
        below the engine's next nonce (or at a nonce of a transaction the engine follows) at a nonce
        nobody is sending and none of the engine's transactions for it is known to the node, for
        GAP_GRACE_SECONDS. A zero-value transfer to itself takes it, fees bumped over that nonce's."""
        for chain, wallet in self.wallets.items():
            client = wallet.client
            try:
                pending = client.nonce(self.address, "pending")
                with self.lock:
                    known = [s for s in self.inflight.values() if s.chain == chain and s.nonce == pending]
                lost = (known or wallet.nonces.is_gap(pending)) and not any(
                    client.call("eth_getTransactionByHash", [s.tx_hash]) for s in known
                )
            except RpcError as exc:
                log.warning("%s: cannot check for a nonce gap: %s", chain, exc)
                continue
            seen = self.gaps.get(chain)
            if not lost:
                self.gaps.pop(chain, None)
                continue
            if seen is None or seen[0] != pending:
                self.gaps[chain] = (pending, time.monotonic())
                continue
            if time.monotonic() - seen[1] < GAP_GRACE_SECONDS or not wallet.nonces.claim(pending):
                continue
            try:
                max_fee, priority = self.replacement_fees(chain, known, capped=False)
                gas = self.quote(chain, self.address, 0, pending, l1_fee=False).gas
                tx = {"type": 2, "to": self.address, "value": 0, "gas": gas, "maxFeePerGas": max_fee,
                      "maxPriorityFeePerGas": priority}  # fmt: skip
                tx_hash, _nonce = self.send_recorded(chain, tx, self.address, max_fee, priority, nonce=pending)
            except (RpcError, CommandError) as exc:
                log.error("%s: cannot fill the nonce gap at %d: %s", chain, pending, exc)
                wallet.nonces.release(pending)
                continue
            wallet.nonces.done(pending)
            self.gaps.pop(chain, None)
            self.track(Sent(chain, tx_hash, pending, gas, max_fee, priority, 0, "filler", time.time()))
            self.metrics["mev_recoveries_total"].labels(chain=chain, action="gap_filled").inc()
            lost_hashes = ", ".join(s.tx_hash for s in known) or "no transaction sent for it"
            log.warning("%s: nonce %d was lost by the node (%s): filled with %s, later nonces can be mined",
                        chain, pending, lost_hashes, tx_hash)  # fmt: skip

    def _retire(self, sent: Sent, status: str) -> None:
        with self.lock:
            self.inflight.pop(sent.tx_hash, None)
            if not any(s.key == sent.key for s in self.inflight.values()):
                self.busy.discard(sent.key)
        self.db.mark_transaction(sent.tx_hash, status)
        if sent.kind == "order":
            self.metrics["mev_executions_total"].labels(chain=sent.chain, strategy=sent.strategy, status=status).inc()
            if sent.opportunity_id is not None and sent.detected_at and status == "dropped":
                self.db.set_opportunity_status(sent.opportunity_id, sent.detected_at, "failed")
        log.info("%s: %s %s (nonce %d)", sent.chain, sent.tx_hash, status, sent.nonce)

    def _finish(self, sent: Sent, receipt: dict[str, Any]) -> None:
        ok = int(receipt["status"], 16) == 1
        block = int(receipt["blockNumber"], 16)
        gas_used = int(receipt["gasUsed"], 16)
        price = int(receipt.get("effectiveGasPrice", "0x0"), 16)
        gas_cost = gas_used * price
        # Stop following it first: whatever fails below must not be repeated at the next poll.
        with self.lock:
            self.inflight.pop(sent.tx_hash, None)
            siblings = [s for s in self.inflight.values() if s.chain == sent.chain and s.nonce == sent.nonce]
            for done in (sent, *siblings):
                self.inflight.pop(done.tx_hash, None)
                self.busy.discard(done.key)
        profit: int | None = None
        if sent.kind == "order" and ok:
            gross = sum(
                int(entry["data"][-64:], 16)
                for entry in receipt.get("logs", [])
                if entry.get("topics") and entry["topics"][0].lower() == ARBITRAGE_TOPIC
            )
            profit = gross - gas_cost
            token = self._base_token(sent.chain)
            self.db.insert_profit(
                sent.chain, sent.strategy, sent.opportunity_id, sent.tx_hash, token, gross, gas_cost, block
            )
            # Counters only grow: a net loss (gas above the gross) is counted on its own.
            name = "mev_profit_eth_total" if profit >= 0 else "mev_loss_eth_total"
            self.metrics[name].labels(chain=sent.chain, strategy=sent.strategy).inc(
                float(Decimal(abs(profit)) / WEI_PER_ETH)
            )
        self.db.finish_transaction(
            sent.tx_hash, "confirmed" if ok else "failed", 1 if ok else 0, block, gas_used, price, profit
        )
        for sibling in siblings:
            outcome = "cancelled" if sent.kind in ("cancel", "filler") else "replaced"
            self.db.mark_transaction(sibling.tx_hash, outcome)
            if sibling.kind == "order":
                self.metrics["mev_executions_total"].labels(
                    chain=sibling.chain, strategy=sibling.strategy, status=outcome
                ).inc()
                if sibling.opportunity_id is not None and sibling.detected_at and sibling.key != sent.key:
                    self.db.set_opportunity_status(sibling.opportunity_id, sibling.detected_at, "failed")
        if sent.kind == "order":
            self.outcomes[sent.chain].append(ok)
            self.metrics["mev_executions_total"].labels(
                chain=sent.chain, strategy=sent.strategy, status="confirmed" if ok else "reverted"
            ).inc()
            if sent.opportunity_id is not None and sent.detected_at:
                self.db.set_opportunity_status(sent.opportunity_id, sent.detected_at, "executed" if ok else "failed")
        log.info("%s: %s %s in block %d", sent.chain, sent.tx_hash, "confirmed" if ok else "reverted", block)

    def _base_token(self, chain: str) -> str:
        arb = self.config.arb.get(chain)
        return arb.base_token if arb else self.address

    def reload_open(self) -> None:
        """Follow the transactions a previous run left without a receipt."""
        for row in self.db.open_transactions():
            if row["chain"] not in self.wallets or row["from_address"].lower() != self.address.lower():
                continue
            kind = "order" if row["opportunity_id"] is not None else "other"
            self.track(
                Sent(
                    row["chain"],
                    row["hash"],
                    int(row["nonce"]),
                    int(row["gas_limit"] or 0),
                    int(row["max_fee_per_gas"] or 0),
                    int(row["max_priority_fee_per_gas"] or 0),
                    int(row["value_wei"] or 0),
                    kind,
                    time.time(),
                    row["opportunity_id"],
                )
            )
        if self.inflight:
            log.info("following %d open transaction(s) from before the restart", len(self.inflight))

    # ------------------------------------------------------------------ commands

    def cancel(self, chain: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Replace every pending nonce; returns (replacements sent, nonces the node refused to replace)."""
        chains = [chain] if chain else list(self.wallets)
        for name in chains:
            if name not in self.wallets:
                raise CommandError(f"chain {name!r} is not configured", 400)
        done: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for name in chains:
            client = self.wallets[name].client
            latest = client.nonce(self.address, "latest")
            pending = client.nonce(self.address, "pending")
            with self.lock:
                known = [s for s in self.inflight.values() if s.chain == name and s.nonce >= latest]
            nonces = sorted(set(range(latest, pending)) | {s.nonce for s in known})
            gas = self.quote(name, self.address, 0, latest, l1_fee=False).gas if nonces else 0
            for nonce in nonces:
                previous = [s for s in known if s.nonce == nonce]
                new_max, new_priority = self.replacement_fees(name, previous, capped=False)
                tx = {
                    "type": 2,
                    "to": self.address,
                    "value": 0,
                    "gas": gas,
                    "maxFeePerGas": new_max,
                    "maxPriorityFeePerGas": new_priority,
                }
                try:
                    tx_hash, _signed = self.send_recorded(name, tx, self.address, new_max, new_priority, nonce=nonce)
                except RpcError as exc:  # one refused replacement must not stop the others
                    log.error("%s: cannot cancel nonce %d: %s", name, nonce, exc)
                    failed.append({"chain": name, "nonce": nonce, "error": str(exc)})
                    continue
                self.track(Sent(name, tx_hash, nonce, gas, new_max, new_priority, 0, "cancel", time.time()))
                done.append(
                    {
                        "chain": name,
                        "nonce": nonce,
                        "replaces": [s.tx_hash for s in previous],
                        "tx_hash": tx_hash,
                        "max_fee_per_gas": new_max,
                    }
                )
                log.warning("%s: cancelling nonce %d with %s", name, nonce, tx_hash)
        return done, failed

    def withdraw_owned(self, chain: str) -> tuple[list[dict[str, Any]], int]:
        """Empty the contracts the hot wallet owns on `chain` (owned.py: the executor, the desk's
        own) into the cold wallet: each listed token's balance and the ETH balance, one owner call
        each, sent and followed like any transaction. Returns (the calls, the fees they reserve)."""
        client = self.wallets[chain].client
        cold = self.config.cold_wallet

        def token_balance(token: str, data: str, what: str) -> int:
            return owned.word(client.call("eth_call", [{"to": token, "data": data}, "latest"]), f"{chain}: {what}")

        calls = [
            (contract["address"], token, amount, data)
            for contract in self.config.owned_contracts
            if contract["chain"] == chain
            for token, amount, data in owned.withdrawals(
                keccak, contract, cold, token_balance, partial(client.balance, contract["address"], "latest")
            )
        ]
        moved: list[dict[str, Any]] = []
        reserved = 0
        for address, token, amount, data in calls:
            fee = self.quote(chain, address, 0, client.nonce(self.address, "pending"), data=data)
            if fee.family != ARBITRUM:  # the estimate is exact for a transfer, not for a call
                fee = replace(fee, gas=with_margin(fee.gas, MARGIN_PERCENT))
            price = fee.price_per_gas
            tx = {"to": address, "value": 0, "data": data, **fee.fields()}
            tx_hash, nonce = self.send_recorded(chain, tx, address, price, price)
            self.track(Sent(chain, tx_hash, nonce, fee.gas, price, price, 0, "withdraw", time.time()))
            log.warning("%s: withdrawing %s %s from %s to cold wallet %s in %s", chain, amount,
                        token or "wei", address, cold, tx_hash)  # fmt: skip
            moved.append({"contract": address, "token": token, "amount": str(amount), "tx_hash": tx_hash})
            reserved += fee.l1_fee  # the L2 gas is in the open-transaction reserve, the L1 fee is not
        # Their receipts, so that the hot wallet's transfer is priced on what they really cost (a
        # call's gas limit has a margin); the ones not mined by then stay in the reserve.
        statuses = self._receipts(chain, [m["tx_hash"] for m in moved], OWNER_CALL_WAIT_SECONDS)
        for item in moved:
            item["status"] = statuses[item["tx_hash"]]
        if all(item["status"] != "pending" for item in moved):
            reserved = 0
        return moved, reserved

    def _receipts(self, chain: str, hashes: list[str], timeout: float) -> dict[str, str]:
        """hash -> mined, reverted, or pending when `timeout` passed without its receipt."""
        client = self.wallets[chain].client
        found = dict.fromkeys(hashes, "pending")
        deadline = time.monotonic() + timeout
        while True:
            for tx_hash in [h for h, status in found.items() if status == "pending"]:
                receipt = client.call("eth_getTransactionReceipt", [tx_hash])
                if receipt:
                    found[tx_hash] = "mined" if int(receipt.get("status", "0x1"), 16) == 1 else "reverted"
            if "pending" not in found.values() or time.monotonic() > deadline:
                return found
            time.sleep(0.25)

    def withdraw(self, chain: str, to: str | None) -> dict[str, Any]:
        if chain not in self.wallets:
            raise CommandError(f"chain {chain!r} is not configured", 400)
        cold = self.config.cold_wallet
        if to is not None and to.lower() != cold.lower():
            raise CommandError(f"withdrawals go only to the configured cold wallet {cold}, not {to}", 403)
        if read_state(self.redis).enabled:
            raise CommandError("trading is enabled: disable it (or emergency-stop) before withdrawing", 409)
        contracts, l1_reserve = self.withdraw_owned(chain)
        client = self.wallets[chain].client
        latest = client.nonce(self.address, "latest")
        with self.lock:
            reserve = l1_reserve + sum(
                s.gas_limit * s.max_fee + s.value
                for s in self.inflight.values()
                if s.chain == chain and s.nonce >= latest
            )
        balance = client.balance(self.address, "latest")
        fee = self.quote(chain, cold, max(balance - reserve, 0), client.nonce(self.address, "pending"))
        amount = balance - reserve - fee.reserved
        result: dict[str, Any] = {"chain": chain, "to": cold, "contracts": contracts, "fee_family": fee.family}
        if amount <= 0:
            if contracts:  # the contracts were emptied: only the hot wallet had nothing to give
                return {**result, "tx_hash": None, "amount_wei": "0", "fee_wei": "0", "l1_fee_wei": "0", "nonce": None}
            raise CommandError(
                f"{streams.NOTHING_TO_WITHDRAW} on {chain}: balance {balance} wei, "
                f"open-transaction reserve {reserve} wei, fee {fee.reserved} wei",
                409,
            )
        price = fee.price_per_gas
        tx_hash, nonce = self.send_recorded(chain, {"to": cold, "value": amount, **fee.fields()}, cold, price, price)
        self.track(Sent(chain, tx_hash, nonce, fee.gas, price, price, amount, "withdraw", time.time()))
        log.warning("%s: withdrawing %s wei to cold wallet %s in %s", chain, amount, cold, tx_hash)
        return {
            **result,
            "tx_hash": tx_hash,
            "amount_wei": str(amount),
            "fee_wei": str(fee.reserved),
            "l1_fee_wei": str(fee.l1_fee),
            "nonce": nonce,
        }

    def handle_command(self, fields: dict[str, str]) -> None:
        request_id = fields.get("id", "")
        command = fields.get("command", "")
        args = json.loads(fields.get("args", "{}"))
        age = time.time() - float(fields.get("sent_at", "0"))
        if age > streams.COMMAND_TIMEOUT_SECONDS:
            log.warning("ignoring a %s command sent %.0fs ago: its caller has given up", command, age)
            return
        try:
            if command == "cancel":
                cancelled, failed = self.cancel(args.get("chain"))
                result: Any = {"cancelled": cancelled, "failed": failed}
            elif command == "withdraw":
                result = self.withdraw(args["chain"], args.get("to"))
            else:
                raise CommandError(f"unknown command {command!r}", 400)
            reply = {"ok": True, "result": result}
        except CommandError as exc:
            reply = {"ok": False, "error": str(exc), "code": exc.code}
        except Exception as exc:
            log.exception("command %s failed", command)
            reply = {"ok": False, "error": f"{command} failed: {exc}", "code": 500}
        key = streams.REPLY.format(id=request_id)
        self.redis.rpush(key, json.dumps(reply))
        self.redis.expire(key, streams.REPLY_TTL_SECONDS)

    # ------------------------------------------------------------------ background loops

    def _loop(self, interval: float, step: Any, what: str) -> None:
        while not self.runtime.stop.is_set():
            try:
                step()
            except Exception as exc:
                log.error("%s: %s", what, exc)
            self.runtime.stop.wait(interval)

    def refresh_gauges(self) -> None:
        for name, wallet in self.wallets.items():
            balance = wallet.client.balance(self.address)
            self.metrics["mev_wallet_balance_eth"].labels(chain=name, address=self.address).set(
                float(Decimal(balance) / WEI_PER_ETH)
            )
            with self.lock:
                pending = sum(1 for s in self.inflight.values() if s.chain == name)
            self.metrics["mev_pending_transactions"].labels(chain=name).set(pending)
            outcomes = self.outcomes[name]
            if outcomes:
                self.metrics["mev_bundle_success_rate"].labels(chain=name).set(sum(outcomes) / len(outcomes))

    # ------------------------------------------------------------------ wallet audit

    def journaled(self) -> dict[tuple[int, int], list[str]]:
        """(chain id, nonce) -> hashes of the hot wallet's transactions that the emergency role's
        host-side fallback signed (SWEEP_JOURNAL beside the stop file; absent when it never ran)."""
        path = self.config.stop_file.parent / SWEEP_JOURNAL
        try:
            with open(path, encoding="utf-8") as handle:
                entries = json.load(handle)["transactions"]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if not self.journal_unreadable:  # once: it stays so until an operator acts
                log.error("cannot read the emergency sweep journal %s (%s): the nonces it holds count as "
                          "unrecorded", path, exc)  # fmt: skip
            self.journal_unreadable = True
            return {}
        self.journal_unreadable = False
        found: dict[tuple[int, int], list[str]] = {}
        for entry in entries:
            if isinstance(entry, dict) and str(entry.get("address", "")).lower() == self.address.lower():
                found.setdefault((int(entry["chain_id"]), int(entry["nonce"])), []).append(str(entry["tx_hash"]))
        return found

    def audit_wallet(self) -> None:
        """Check every chain's mined nonces against the record (see the module's docstring)."""
        journal: dict[tuple[int, int], list[str]] | None = None
        for name, wallet in self.wallets.items():
            try:
                confirmed = wallet.client.nonce(self.address, "latest")  # before the record is read
                audit = self.audits.get(name)
                if audit is None:
                    audit = self.audits[name] = WalletAudit(self.db.wallet_baseline(name, self.address, confirmed))
                if confirmed > audit.floor:
                    if journal is None:
                        journal = self.journaled()
                    self._audit_nonces(wallet, audit, confirmed, journal)
            except (RpcError, psycopg.Error) as exc:
                log.warning("%s: cannot audit the hot wallet's nonces: %s", name, exc)
                continue
            self.metrics["mev_wallet_unrecorded_transactions"].labels(chain=name, address=self.address).set(
                len(audit.unrecorded)
            )

    def _audit_nonces(
        self, wallet: Wallet, audit: WalletAudit, confirmed: int, journal: dict[tuple[int, int], list[str]]
    ) -> None:
        """Judge the nonces in [floor, confirmed): mined with a transaction the engine recorded (a
        row with a receipt, or one of its rows' hashes has a receipt: a transaction retired as
        dropped and mined later, or the one of several for a nonce that won), or one the emergency
        fallback journaled; else unrecorded. A nonce with a row still waiting for its receipt is
        judged again at the next round, and the floor stays below it."""
        chain = wallet.chain
        rows = self.db.recorded_nonces(chain, self.address, audit.floor, confirmed)
        found: set[int] = set()
        floor = None
        for nonce in range(audit.floor, confirmed):
            row = rows.get(nonce)
            if row is not None and row["mined"]:
                continue
            if row is not None and row["open"]:
                floor = nonce if floor is None else floor  # the engine's receipt poll gets there first
                continue
            hashes = [*(row["hashes"] if row else []), *journal.get((wallet.chain_id, nonce), [])]
            if not any(wallet.client.call("eth_getTransactionReceipt", [h]) for h in hashes):
                found.add(nonce)
        new = found - audit.unrecorded
        audit.unrecorded |= found
        audit.floor = confirmed if floor is None else floor
        if new:
            log.critical(
                "%s: hot wallet %s has %d mined transaction(s) the engine did not send, nonce(s) %s (%d in all): "
                "the key is used outside the engine, treat it as compromised (docs/alerts.md, "
                "HotWalletUnrecordedTransaction)",
                chain, self.address, len(new), nonce_ranges(new), len(audit.unrecorded),
            )  # fmt: skip

    def listen_control(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(CONTROL_CHANNEL)
        try:
            while not self.runtime.stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is None:
                    continue
                state = json.loads(message["data"]).get("state")
                if state == EMERGENCY:
                    self.halted.set()
                    log.warning("emergency stop: no further order is sent")
                else:
                    self.halted.clear()
        finally:
            pubsub.close()

    def run(self) -> None:
        if read_state(self.redis).state == EMERGENCY:
            self.halted.set()
        self.reload_open()
        threads = [
            threading.Thread(target=self._loop, args=(0.2, self.poll_receipts, "receipts and nonces"), daemon=True),
            threading.Thread(target=self._loop, args=(2.0, self.refresh_gauges, "balances"), daemon=True),
            threading.Thread(target=self._loop, args=(AUDIT_SECONDS, self.audit_wallet, "wallet audit"), daemon=True),
            threading.Thread(target=self.listen_control, daemon=True),
        ]
        for thread in threads:
            thread.start()
        log.info("hot wallet %s on %s", self.address, ", ".join(self.wallets))
        self.runtime.ready()
        try:
            while not self.runtime.stop.is_set():
                for name, entry_id, fields, redelivered in self.reader.read(count=100, block_ms=200):
                    if name == streams.COMMANDS:
                        if not (redelivered and self.redis.exists(streams.REPLY.format(id=fields.get("id", "")))):
                            self.handle_command(fields)
                        self.redis.xack(name, GROUP, entry_id)
                        continue
                    with self.lock:
                        if entry_id in self.taken:  # still in hand here: claimed back from ourselves
                            continue
                        self.taken.add(entry_id)
                    self.pool.submit(self._execute_logged, fields, entry_id, redelivered)
        finally:
            self.pool.shutdown(wait=True)  # graceful: orders already taken finish
            for thread in threads:
                thread.join(timeout=2)


def run(runtime: Runtime) -> None:
    account = load_account(runtime.config.keystore, runtime.config.secrets.keystore_password)
    database = Database(runtime.config.postgres_dsn_with_password(), "mev-execution")
    try:
        Executor(runtime, database, account).run()
    finally:
        database.close()
