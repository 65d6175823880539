#!/usr/bin/python
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Ansible module evm_sweep: replace a keystore's pending nonces and sweep its balance, signing on the host."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: evm_sweep
short_description: Cancel a hot wallet's pending nonces and sweep its balance, signing with its keystore
version_added: "0.1.0"
description:
  - Signs on the managed host with the V3 keystore at O(keystore) (decrypted in memory, never
    returned) and talks JSON-RPC to each chain in O(chains). This is the path that works without
    the engine - key rotation moves funds from the old key, and the emergency playbook cancels and
    withdraws with it when the engine's API does not answer. Run it only while C(mev-execution) is
    stopped or switched off, as two signers of one address race for its nonces.
  - With O(cancel_pending=true), every pending nonce of the address (the node's C(latest) ..
    C(pending) range) is replaced by a 0-value transfer to itself, priced O(fee_bump_percent) over
    the pending transaction's fee (read from C(txpool_content) when the node has it) and at least
    the price a new transfer gets; the module waits for the replacements' receipts.
  - With O(sweep=true), sends the whole balance minus the fee to O(to), waits for the receipt and
    reads the balance again. O(to) must be in O(allowed_to) when that is given.
  - The fee follows the chain's fee family, taken from the chain id the node reports (never from
    the chain's name; module_utils/evm_fees.py). Gas comes from C(eth_estimateGas) (a contract
    cold wallet costs what its code costs); the price is twice the latest base fee plus the
    priority fee, in a type-2 transaction whose max fee equals its priority fee, so the fee is
    exact and an Ethereum-like chain is left at zero (legacy and exact on a chain without a base
    fee). On OP-stack chains (chain ids 10, 8453 and their testnets) the L1 data fee quoted by the
    GasPriceOracle predeploy is reserved with O(fee_margin_percent) on top; on Arbitrum (42161,
    42170, 421614) the node's estimate (which includes the L1 calldata gas) gets
    O(fee_margin_percent) on top. What the reserve did not spend stays behind; when more than
    O(dust_wei) does, the module sweeps once more, and fails when it still does.
  - With O(contracts), the contracts the address owns on each chain (the reference executor, a
    desk's own; module_utils/owned_contracts.py) come first. O(contracts_withdraw=true) moves each
    listed token's whole balance and the ETH balance to O(to) with the contract's owner calls, and
    reads them again (zero, or the module fails). O(contracts_new_owner) hands each one over with
    its C(transfer_ownership) call and reads C(owner()) back - the key rotation's check that the new
    key owns it before the old key is retired. A contract whose C(owner()) is neither the address
    of O(keystore) nor O(contracts_new_owner) fails the run, naming its owner.
  - Idempotent and safe to re-run after an interruption. Pending nonces without
    O(cancel_pending) (a sweep sent by a run that was killed) are waited for, not sent twice; a
    balance of zero, or too small to pay a transfer's fee (C(dust)), is not a change.
  - With O(journal), every transaction is recorded there (chain id, nonce, hash, the signed
    transaction) and the file fsynced before it is broadcast. A re-run rebroadcasts and waits for
    the journal's transactions whose nonce is still pending or unused, and never replaces them,
    even with O(cancel_pending), so a run killed while its sweep was pending completes that sweep
    instead of paying for a replacement and sending a second one. The run holds an exclusive lock
    (C(<journal>.lock)) from start to end, so a re-run waits (O(lock_timeout)) for a run that is
    still going on the host - the controller of a killed C(ansible-playbook) may have left it
    running - instead of signing the same nonces beside it.
requirements:
  - eth_account on the managed host. Run the module with C(ansible_python_interpreter) set to the
    engine's virtualenv, as for M(mevops.infra.evm_keystore).
author:
  - mevops.infra developers (@mevops)
extends_documentation_fragment:
  - mevops.infra.attributes
  - mevops.infra.attributes.no_diff
  - mevops.infra.evm_chains
options:
  keystore:
    description: V3 keystore of the address to empty.
    type: str
    required: true
  password:
    description: Password of O(keystore) (never logged).
    type: str
    required: true
  to:
    description:
      - Where the balance goes (required with O(sweep=true)).
      - The zero address and the well-known burn addresses are refused.
    type: str
  allowed_to:
    description: When not empty, O(to) must be one of these addresses (case-insensitive); the run fails otherwise.
    type: list
    elements: str
    default: []
  sweep:
    description: Move the balance minus the fee to O(to).
    type: bool
    default: true
  cancel_pending:
    description: Replace every pending nonce by a 0-value self-transfer before sweeping.
    type: bool
    default: false
  fee_bump_percent:
    description: How much a replacement outbids the pending transaction's fee (nodes require at least 10).
    type: int
    default: 25
  fee_margin_percent:
    description:
      - Margin on the parts of the fee only known at inclusion - the OP-stack L1 data fee and the
        Arbitrum gas estimate. What the margin did not spend stays in the address.
    type: int
    default: 25
  journal:
    description:
      - File recording the transactions this module signs, fsynced before each broadcast (root only,
        0600; created when missing). Entries of other addresses are kept and ignored.
    type: path
  lock_timeout:
    description: Seconds to wait for another run holding O(journal)'s lock before failing.
    type: float
    default: 600
  dust_wei:
    description:
      - Most wei a sweep may leave behind (the unspent fee reserve on L2s). Above it the module
        sweeps once more, then fails naming the amount.
    type: int
    default: 100000000000000
  contracts:
    description:
      - Contracts owned by the address of O(keystore) - chain (a name in O(chains)), address, tokens,
        and the calls withdraw_token, withdraw_eth, transfer_ownership and owner as Solidity
        signatures (the reference executor's by default; module_utils/owned_contracts.py). The
        mev_engine role's list is C(mev_engine_strategies | mevops.infra.owned_contracts(mev_engine_owned_contracts)),
        as the emergency and key_rotation roles pass it.
      - Entries of chains not in O(chains) are ignored.
    type: list
    elements: dict
    default: []
  contracts_withdraw:
    description: Empty O(contracts) (listed tokens and ETH) into O(to) before the sweep.
    type: bool
    default: false
  contracts_new_owner:
    description:
      - Hand O(contracts) over to this address (after O(contracts_withdraw), before the sweep) and
        check C(owner()) on chain. The zero and burn addresses are refused.
    type: str
  receipt_timeout:
    description: Seconds to wait for each chain's pending nonces and for each receipt.
    type: float
    default: 120
  poll_interval:
    description: Seconds between two receipt polls.
    type: float
    default: 0.5
  timeout:
    description: Seconds per JSON-RPC request.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    details:
      - Reads nonces, fees and balances and sends nothing. C(cancelled) in RV(chains) lists the nonces that
        would be replaced (without transaction hashes); a sweep shows as state C(would_sweep) with the
        amount and fee it would move. Pending nonces are not waited for.
"""

EXAMPLES = r"""
- name: Sweep the old hot key to the new one on every chain
  mevops.infra.evm_sweep:
    keystore: /etc/mev/keystore/hot.json
    password: "{{ mev_engine_keystore_password }}"
    chains: "{{ mev_engine_chains | map(attribute='name') | zip(mev_engine_chains | map(attribute='http_url'))
                | map('zip', ['name', 'url']) | map('map', 'reverse') | map('community.general.dict') }}"
    to: "{{ new_address }}"
  vars:
    ansible_python_interpreter: /opt/mev/current/venv/bin/python
  no_log: true

- name: Cancel what is pending and withdraw to the cold wallet (engine API down)
  mevops.infra.evm_sweep:
    keystore: /etc/mev/keystore/hot.json
    password: "{{ mev_engine_keystore_password }}"
    chains: [{name: ethereum, url: "http://127.0.0.1:8545"}]
    to: "{{ mev_engine_cold_wallet }}"
    allowed_to: ["{{ mev_engine_cold_wallet }}"]
    cancel_pending: true
  vars:
    ansible_python_interpreter: /opt/mev/current/venv/bin/python
"""

RETURN = r"""
address:
  description: Checksummed address of O(keystore).
  returned: always
  type: str
chains:
  description:
    - One entry per chain - chain, chain_id, fee_family (C(eip1559), C(op-stack), C(arbitrum)),
      state (C(swept), C(empty), C(dust), C(cancelled_only); C(would_sweep) in check mode),
      balance_wei before, swept_wei, fee_wei (paid; reserved in check mode), l1_fee_wei (the L1
      data fee reserved on OP-stack chains), tx_hash of the sweep and tx_hashes (two when the
      remainder was above O(dust_wei)), remaining_wei after, cancelled (nonce, tx_hash, replaced -
      the hash it outbid or null), waited_nonces (pending nonces that were waited for, not
      replaced) and journaled_nonces (those of them that were this module's own, from O(journal),
      rebroadcast and waited for) and contracts (one item per owner call - contract, action
      C(withdraw_token), C(withdraw_eth) or C(transfer_ownership), token, amount_wei, to, tx_hash (null
      in check mode), and owner as read after a transfer of ownership; an item with action
      C(owned_by_new_owner) for a contract handed over by an earlier run). Amounts are integers in wei.
  returned: always
  type: list
  elements: dict
"""

import dataclasses
import fcntl
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mevops.infra.plugins.module_utils import owned_contracts
from ansible_collections.mevops.infra.plugins.module_utils.addresses import is_burn_address
from ansible_collections.mevops.infra.plugins.module_utils.common_args import evm_chains_common_argument_spec
from ansible_collections.mevops.infra.plugins.module_utils.evm_fees import (
    ARBITRUM,
    DUST_WEI,
    GAS_PRICE_ORACLE,
    MARGIN_PERCENT,
    OP_STACK,
    fee_family,
    get_l1_fee_calldata,
    price_per_gas,
    transfer_fee,
    with_margin,
)
from ansible_collections.mevops.infra.plugins.module_utils.jsonrpc import (
    JsonRpcClient,
    RpcError,
    RpcFailure,
    display_url,
    hex_to_int,
)

try:
    from eth_account import Account
    from eth_utils import keccak

    HAS_ETH_ACCOUNT = True
except ImportError:
    HAS_ETH_ACCOUNT = False


class SweepError(Exception):
    """A chain refused or did not finish in time; the message names chain and nonce."""


class Journal:
    """The transactions signed for `address`, recorded durably before they are broadcast."""

    def __init__(self, path, address):
        self.path, self.address = path, address
        self.entries = []

    def load(self):
        if self.path and os.path.exists(self.path):
            try:
                with open(self.path, encoding="utf-8") as handle:
                    self.entries = json.load(handle)["transactions"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SweepError(
                    f"journal {self.path} cannot be read ({exc}): move it away only if no sweep is pending"
                ) from None

    def lock(self, timeout):
        """Hold the journal's lock until the process ends (one run per journal at a time)."""
        if not self.path:
            return
        descriptor = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock = descriptor  # kept open: released when the module exits
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(descriptor)
                    raise SweepError(
                        f"another run holds {self.path}.lock after {timeout:g} s (a sweep still going on this host?)"
                    ) from None
                time.sleep(1)

    def unlock(self):
        descriptor = getattr(self, "_lock", None)
        if descriptor is not None:
            self._lock = None
            os.close(descriptor)  # closing the last descriptor releases the lock

    def pending(self, chain_id, latest):
        """nonce -> entry of this address's journaled transactions on chain_id not yet mined."""
        found = {}
        for item in self.entries:
            if same(item.get("address"), self.address) and item.get("chain_id") == chain_id and item["nonce"] >= latest:
                found[item["nonce"]] = item  # the latest entry for a nonce (a replacement) wins
        return found

    def record(self, chain_id, nonce, tx_hash, raw, kind):
        if not self.path:
            return
        self.entries.append({"address": self.address, "chain_id": chain_id, "nonce": nonce, "tx_hash": tx_hash,
                             "raw": "0x" + raw.hex(), "kind": kind, "at": int(time.time())})  # fmt: skip
        folder = os.path.dirname(self.path) or "."
        temporary = f"{self.path}.{os.getpid()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            # A group granted reading keeps it (the engine's wallet audit reads the emergency
            # fallback's journal), never more than owner read-write and group read.
            if os.path.exists(self.path):
                kept = os.stat(self.path)
                os.fchown(handle.fileno(), -1, kept.st_gid)
                os.fchmod(handle.fileno(), kept.st_mode & 0o640)
            json.dump({"transactions": self.entries}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def bump(value, percent):
    return -(-value * (100 + percent) // 100)


def same(a, b):
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


class Chain:
    """One chain seen from one address: nonces, fees, signing and receipts."""

    def __init__(self, module, spec, key, address, journal):
        self.module = module
        self.journal = journal
        self.name = spec["name"]
        self.url = spec["url"]
        self.client = JsonRpcClient(spec["url"], timeout=module.params["timeout"])
        self._key = key
        self.address = address
        self.chain_id = hex_to_int(self.client.call("eth_chainId"))
        self.family = fee_family(self.chain_id)

    def nonce(self, block):
        return hex_to_int(self.client.call("eth_getTransactionCount", [self.address, block]))

    def balance(self):
        return hex_to_int(self.client.call("eth_getBalance", [self.address, "latest"]))

    def price(self):
        """(price per gas, legacy) for a transfer sent now (module_utils/evm_fees.price_per_gas)."""
        block = self.client.call("eth_getBlockByNumber", ["latest", False]) or {}
        base = block.get("baseFeePerGas")
        gas_price = hex_to_int(self.client.call("eth_gasPrice"))
        if base is None:
            return price_per_gas(None, 0, gas_price)
        base = hex_to_int(base)
        try:
            tip = hex_to_int(self.client.call("eth_maxPriorityFeePerGas"))
        except RpcError:  # a node without it: what its gas price adds to the base fee
            tip = gas_price - base
        return price_per_gas(base, tip, gas_price)

    def quote(self, nonce, to, value, data="0x"):
        """TransferFee of sending `value` to `to` (None: this address) with `nonce` (a call: `data`)."""
        to = self.address if to is None else to
        request = {"from": self.address, "to": to, "value": hex(min(value, 1)), "data": data}
        estimate = hex_to_int(self.client.call("eth_estimateGas", [request]))
        price, legacy = self.price()
        margin = self.module.params["fee_margin_percent"]
        fee = transfer_fee(self.family, estimate, price, legacy=legacy, margin_percent=margin)
        if self.family != OP_STACK:
            return fee
        # The L1 data fee of this very transaction, as the GasPriceOracle predeploy quotes it.
        answer = self.client.call(
            "eth_call",
            [{"to": GAS_PRICE_ORACLE, "data": get_l1_fee_calldata(self.sign(nonce, to, value, fee, data))}, "latest"],
        )
        if not isinstance(answer, str) or len(answer) < 66:
            raise SweepError(
                f"chain id {self.chain_id} is an OP-stack chain but the GasPriceOracle predeploy {GAS_PRICE_ORACLE} "
                f"answered {answer!r} to getL1Fee: the L1 data fee is unknown, nothing sent"
            )
        l1_fee = int(answer[2:66], 16)
        return transfer_fee(self.family, estimate, price, legacy=legacy, margin_percent=margin, l1_fee=l1_fee)

    def pending_fees(self):
        """nonce -> (hash, highest fee per gas) of this address's pending transactions, when the node tells."""
        try:
            content = self.client.call("txpool_content")
        except RpcError:
            return {}
        found = {}
        for section in ("pending", "queued"):
            for sender, by_nonce in ((content or {}).get(section) or {}).items():
                if not same(sender, self.address):
                    continue
                for nonce, tx in by_nonce.items():
                    fee = tx.get("maxFeePerGas") or tx.get("gasPrice") or "0x0"
                    found[int(nonce)] = (tx.get("hash"), hex_to_int(fee))
        return found

    def sign(self, nonce, to, value, fee, data="0x"):
        tx = {"chainId": self.chain_id, "nonce": nonce, "to": self.address if to is None else to, "value": value}
        if data != "0x":
            tx["data"] = data
        signed = Account.sign_transaction({**tx, **fee.fields()}, self._key)
        return bytes(getattr(signed, "raw_transaction", None) or signed.rawTransaction)

    def send(self, nonce, to, value, fee, kind, *, data="0x"):
        """Sign, record in the journal (fsynced), then broadcast; returns the hash."""
        raw = self.sign(nonce, to, value, fee, data)
        tx_hash = "0x" + keccak(raw).hex()
        self.journal.record(self.chain_id, nonce, tx_hash, raw, kind)
        answer = self.client.call("eth_sendRawTransaction", ["0x" + raw.hex()])
        return answer or tx_hash

    def rebroadcast(self, item):
        """Send a journaled transaction again (a killed run may have recorded it and died before
        broadcasting); the node already having it, or its nonce mined, is fine."""
        try:
            self.client.call("eth_sendRawTransaction", [item["raw"]])
        except RpcError as exc:
            text = str(exc).lower()
            if not any(
                known in text for known in ("already known", "already imported", "nonce too low", "underpriced")
            ):
                raise SweepError(f"cannot rebroadcast the journal's {item['kind']} {item['tx_hash']}: {exc}") from None

    def read(self, to, data, what):
        """The first word of an eth_call's answer (SweepError when there is none)."""
        try:
            return owned_contracts.word(self.client.call("eth_call", [{"to": to, "data": data}, "latest"]), what)
        except ValueError as exc:
            raise SweepError(str(exc)) from None

    def call(self, contract, data, kind):
        """Send an owner call of `contract` and wait for its receipt; returns its hash."""
        nonce = self.nonce("pending")
        fee = self.quote(nonce, contract, 0, data)
        if self.family != ARBITRUM:  # an estimate is exact for a transfer, not for a call
            fee = dataclasses.replace(fee, gas=with_margin(fee.gas, self.module.params["fee_margin_percent"]))
        tx_hash = self.send(nonce, contract, 0, fee, kind, data=data)
        self.receipt(tx_hash, f"{kind} of {contract}")
        return tx_hash

    def receipt(self, tx_hash, what):
        deadline = time.monotonic() + self.module.params["receipt_timeout"]
        while True:
            receipt = self.client.call("eth_getTransactionReceipt", [tx_hash])
            if receipt:
                if hex_to_int(receipt.get("status", "0x1")) != 1:
                    raise SweepError(f"{what} {tx_hash} reverted")
                return receipt
            if time.monotonic() > deadline:
                waited = self.module.params["receipt_timeout"]
                raise SweepError(f"no receipt for {what} {tx_hash} after {waited:g} s")
            time.sleep(self.module.params["poll_interval"])

    def wait_nonces(self, latest, pending):
        deadline = time.monotonic() + self.module.params["receipt_timeout"]
        while latest < pending:
            if time.monotonic() > deadline:
                raise SweepError(
                    f"nonces {latest}..{pending - 1} of {self.address} still pending after "
                    f"{self.module.params['receipt_timeout']:g} s; re-run with cancel_pending=true to replace them"
                )
            time.sleep(self.module.params["poll_interval"])
            latest = self.nonce("latest")
        return latest


def cancel(chain, latest, pending, percent, *, check_mode, keep=()):
    fees = chain.pending_fees()
    done, hashes = [], []
    base = None  # the price of a 0-value self-transfer now, quoted once for every nonce
    for nonce in range(latest, pending):
        if nonce in keep:  # this module's own (journal): waited for, never replaced
            continue
        replaced, fee = fees.get(nonce, (None, 0))
        if check_mode:
            done.append({"nonce": nonce, "tx_hash": None, "replaced": replaced})
            continue
        base = base or chain.quote(nonce, None, 0)
        # Max fee = priority fee: both outbid the pending transaction's, as nodes require.
        quote = dataclasses.replace(base, price_per_gas=max(base.price_per_gas, bump(fee, percent)))
        try:
            tx_hash = chain.send(nonce, None, 0, quote, "replacement")
        except RpcError as exc:
            if "nonce too low" in str(exc).lower():  # mined meanwhile: nothing left to replace
                continue
            raise SweepError(f"cannot replace nonce {nonce}: {exc}") from None
        done.append({"nonce": nonce, "tx_hash": tx_hash, "replaced": replaced})
        hashes.append(tx_hash)
    for tx_hash in hashes:
        chain.receipt(tx_hash, "replacement")
    return done


def settle_pending(module, chain, entry):
    """Replace the pending nonces (cancel_pending) or wait for them; a killed run's own transactions
    (journal) are rebroadcast and waited for, never replaced."""
    params = module.params
    latest = chain.nonce("latest")
    ours = chain.journal.pending(chain.chain_id, latest)
    entry["journaled_nonces"] = sorted(ours)
    if not module.check_mode:
        for item in ours.values():
            chain.rebroadcast(item)
    pending = chain.nonce("pending")
    if pending <= latest:
        return
    if params["cancel_pending"]:
        percent = params["fee_bump_percent"]
        entry["cancelled"] = cancel(chain, latest, pending, percent, check_mode=module.check_mode, keep=ours)
    if not module.check_mode:
        entry["waited_nonces"] = [n for n in range(latest, pending) if n in ours or not params["cancel_pending"]]
        chain.wait_nonces(chain.nonce("latest"), pending)


def read_owner(chain, contract):
    data = owned_contracts.calldata(keccak, contract["owner"])
    what = f"{contract['owner']} of {contract['address']} on {chain.name}"
    return "0x" + format(chain.read(contract["address"], data, what), "040x")


def empty_contract(module, chain, contract):
    """Move the contract's listed tokens and ETH to `to`, then check that nothing stays."""
    params, address = module.params, contract["address"]

    def holdings():
        return owned_contracts.withdrawals(
            keccak,
            contract,
            params["to"],
            lambda token, data, what: chain.read(token, data, f"{what} on {chain.name}"),
            lambda: hex_to_int(chain.client.call("eth_getBalance", [address, "latest"])),
        )

    done = []
    for token, amount, call in holdings():
        action = "withdraw_eth" if token is None else "withdraw_token"
        item = {
            "contract": address,
            "action": action,
            "token": token,
            "amount_wei": amount,
            "to": params["to"],
            "tx_hash": None,
        }
        if not module.check_mode:
            item["tx_hash"] = chain.call(address, call, action)
        done.append(item)
    left = [] if module.check_mode or not done else holdings()
    if left:
        what = ", ".join(f"{amount} of {token or 'wei'}" for token, amount, _call in left)
        raise SweepError(f"{address} on {chain.name} still holds {what} after its withdrawals")
    return done


def hand_over(module, chain, contract, new_owner):
    """transfer_ownership(new_owner), then owner() read back."""
    address = contract["address"]
    item = {"contract": address, "action": "transfer_ownership", "owner": new_owner, "tx_hash": None}
    if not module.check_mode:
        call = owned_contracts.calldata(keccak, contract["transfer_ownership"], new_owner)
        item["tx_hash"] = chain.call(address, call, "transfer_ownership")
        item["owner"] = read_owner(chain, contract)
        if not same(item["owner"], new_owner):
            raise SweepError(
                f"{contract['owner']} of {address} on {chain.name} is {item['owner']} after {item['tx_hash']}, "
                f"not {new_owner}"
            )
    return item


def contract_steps(module, chain, contracts):
    """Empty (contracts_withdraw) and hand over (contracts_new_owner) the contracts on this chain."""
    new_owner = module.params["contracts_new_owner"]
    done = []
    for contract in contracts:
        owner = read_owner(chain, contract)
        if new_owner and same(owner, new_owner):  # handed over by an earlier run
            done.append({"contract": contract["address"], "action": "owned_by_new_owner", "owner": new_owner,
                         "tx_hash": None})  # fmt: skip
            continue
        if not same(owner, chain.address):
            raise SweepError(
                f"{contract['owner']} of {contract['address']} on {chain.name} is {owner}, not {chain.address}: "
                "this key cannot move it"
            )
        if module.params["contracts_withdraw"]:
            done += empty_contract(module, chain, contract)
        if new_owner:
            done.append(hand_over(module, chain, contract, new_owner))
    return done


def work(module, chain):
    params = module.params
    entry = {"chain": chain.name, "cancelled": [], "waited_nonces": [], "tx_hash": None, "swept_wei": 0, "fee_wei": 0}
    settle_pending(module, chain, entry)
    mine = [c for c in module.params["_contracts"] if c["chain"] == chain.name]
    entry["contracts"] = contract_steps(module, chain, mine)
    balance = chain.balance()
    entry.update(chain_id=chain.chain_id, fee_family=chain.family, balance_wei=balance, remaining_wei=balance)
    entry.update(l1_fee_wei=0, tx_hashes=[])
    if not params["sweep"]:
        entry["state"] = "cancelled_only"
        return entry
    if balance == 0:
        entry["state"] = "empty"
        return entry
    # A second pass when the first one's unspent fee reserve (L2s) left more than dust_wei.
    for _pass in range(2):
        nonce = chain.nonce("pending")
        fee = chain.quote(nonce, params["to"], entry["remaining_wei"])
        amount = entry["remaining_wei"] - fee.reserved
        if amount <= 0:
            break
        entry["l1_fee_wei"] += fee.l1_fee
        if module.check_mode:
            entry.update(state="would_sweep", swept_wei=amount, fee_wei=fee.reserved)
            return entry
        tx_hash = chain.send(nonce, params["to"], amount, fee, "sweep")
        entry["tx_hashes"].append(tx_hash)
        chain.receipt(tx_hash, "sweep")
        entry["swept_wei"] += amount
        entry["remaining_wei"] = chain.balance()
        if entry["remaining_wei"] <= params["dust_wei"]:
            break
    if not entry["tx_hashes"]:
        entry["state"] = "dust"  # too little to pay a transfer's fee
        return entry
    entry.update(state="swept", tx_hash=entry["tx_hashes"][0])
    entry["fee_wei"] = balance - entry["swept_wei"] - entry["remaining_wei"]
    if entry["remaining_wei"] > params["dust_wei"]:
        raise SweepError(
            f"swept {entry['swept_wei']} wei in {len(entry['tx_hashes'])} transactions "
            f"({', '.join(entry['tx_hashes'])}) but {entry['remaining_wei']} wei stays in {chain.address}, "
            f"above dust_wei {params['dust_wei']}"
        )
    return entry


def check_params(module):
    """Refuse options that cannot be right, before the keystore is read."""
    params = module.params
    if not params["sweep"] and not params["cancel_pending"]:
        module.fail_json(msg="nothing to do: set sweep=true, cancel_pending=true or both")
    contracts, problems = owned_contracts.owned_contracts({}, params["contracts"], "contracts")
    if problems:
        module.fail_json(msg="; ".join(problems))
    params["_contracts"] = contracts
    if params["contracts_withdraw"] and not params["to"]:
        module.fail_json(msg="contracts_withdraw=true needs to (where the contracts' balances go)")
    new_owner = params["contracts_new_owner"]
    if new_owner is not None and not (isinstance(new_owner, str) and len(new_owner) == 42 and new_owner[:2] == "0x"):
        module.fail_json(msg=f"contracts_new_owner must be an address (0x and 40 hex digits), got {new_owner!r}")
    if is_burn_address(new_owner):
        module.fail_json(msg=f"refusing to hand the contracts to {new_owner}: the zero or a burn address")
    if params["fee_bump_percent"] < 10:
        module.fail_json(
            msg=f"fee_bump_percent must be at least 10 (nodes refuse less), got {params['fee_bump_percent']}"
        )
    for name in ("fee_margin_percent", "dust_wei"):
        if params[name] < 0:
            module.fail_json(msg=f"{name} must be 0 or more, got {params[name]}")
    to = params["to"]
    if params["sweep"] or params["contracts_withdraw"]:
        if not (isinstance(to, str) and len(to) == 42 and to.startswith("0x")):
            module.fail_json(msg=f"to must be an address (0x and 40 hex digits), got {to!r}")
        if is_burn_address(to):
            module.fail_json(msg=f"refusing to send to {to}: the zero or a burn address (funds sent there are lost)")
        if params["allowed_to"] and not any(same(to, a) for a in params["allowed_to"]):
            module.fail_json(msg=f"refusing to send to {to}: not in allowed_to ({', '.join(params['allowed_to'])})")


def load_key(module):
    path = module.params["keystore"]
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        module.fail_json(msg=f"cannot read keystore {path}: {exc.strerror}")
    except ValueError as exc:
        module.fail_json(msg=f"keystore {path} is not JSON: {exc}")
    try:
        key = Account.decrypt(document, module.params["password"])
    except ValueError:
        module.fail_json(msg=f"keystore {path} does not decrypt with the given password (MAC mismatch)")
    except (KeyError, TypeError, AttributeError):
        module.fail_json(msg=f"keystore {path} is not a V3 keystore")
    return key, Account.from_key(key).address


def main():
    module = AnsibleModule(
        argument_spec={
            # A path: the file it names is encrypted, the secret is `password`.
            "keystore": {"type": "str", "required": True, "no_log": False},
            "password": {"type": "str", "required": True, "no_log": True},
            **evm_chains_common_argument_spec(),
            "to": {"type": "str"},
            "allowed_to": {"type": "list", "elements": "str", "default": []},
            "sweep": {"type": "bool", "default": True},
            "cancel_pending": {"type": "bool", "default": False},
            "fee_bump_percent": {"type": "int", "default": 25},
            "fee_margin_percent": {"type": "int", "default": MARGIN_PERCENT},
            "dust_wei": {"type": "int", "default": DUST_WEI},
            "journal": {"type": "path"},
            "contracts": {"type": "list", "elements": "dict", "default": []},
            "contracts_withdraw": {"type": "bool", "default": False},
            "contracts_new_owner": {"type": "str"},
            "lock_timeout": {"type": "float", "default": 600},
            "receipt_timeout": {"type": "float", "default": 120},
            "poll_interval": {"type": "float", "default": 0.5},
            "timeout": {"type": "float", "default": 10},
        },
        required_if=[("sweep", True, ("to",))],
        supports_check_mode=True,
    )
    if not HAS_ETH_ACCOUNT:
        module.fail_json(msg=missing_required_lib("eth_account") + " (run the module with the engine venv's python)")
    check_params(module)
    params = module.params
    key, address = load_key(module)
    try:
        journal = Journal(params["journal"], address)
        journal.lock(params["lock_timeout"])
        journal.load()  # under the lock: what a run before this one recorded, all of it
    except SweepError as exc:
        journal.unlock()
        module.fail_json(msg=str(exc), address=address, chains=[])
    results = []
    try:
        for spec in params["chains"]:
            try:
                chain = Chain(module, spec, key, address, journal)
                results.append(work(module, chain))
            except (RpcFailure, SweepError) as exc:
                where = f"{spec['name']} ({display_url(spec['url'])})"
                module.fail_json(msg=f"{where}: {exc}", address=address, chains=results)
    finally:
        journal.unlock()
    changed = any(
        r["state"] in ("swept", "would_sweep")
        or r["cancelled"]
        or any(c["action"] != "owned_by_new_owner" for c in r["contracts"])
        for r in results
    )
    module.exit_json(changed=changed, address=address, chains=results)


if __name__ == "__main__":
    main()
