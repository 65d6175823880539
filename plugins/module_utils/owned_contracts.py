# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""The contracts the hot wallet owns: what an emergency withdraw empties and a key rotation hands over.

Each entry names a chain (by its name in the chain list), the contract's address, the ERC-20
tokens it may hold, and its calls as Solidity signatures. Only the function names may differ from
the reference executor's (files/mev_engine/contracts/ArbExecutor.sol); the argument types are fixed:

- ``withdraw_token``: (address token, address to, uint256 amount), default withdrawToken
- ``withdraw_eth``: (address to, uint256 amount), default withdrawETH; empty for a contract that
  holds no ETH
- ``transfer_ownership``: (address new_owner), default transferOwnership
- ``owner``: (), default owner

The reference strategy's executors (engine.yml ``strategies.v2_cross_pool_arb.chains.<chain>``,
holding its ``base_token``) are owned contracts without being listed; a desk lists its own
(``wallet.owned_contracts`` in engine.yml, mev_engine_owned_contracts in the inventory), and an
entry with an executor's chain and address replaces the derived one (more tokens, say).

Emergency withdraw calls withdraw_token for every listed token with a balance and withdraw_eth
when the contract holds ETH, each with the whole balance, to the cold wallet. Key rotation calls
transfer_ownership(new key) from the old key and reads owner() before the old key is retired.

The engine carries the same file as mev_engine/owned.py (it cannot import the collection);
tests/unit/plugins/module_utils/test_owned_contracts.py fails when the two differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

CALLS = {
    "withdraw_token": ("withdrawToken", ("address", "address", "uint256")),
    "withdraw_eth": ("withdrawETH", ("address", "uint256")),
    "transfer_ownership": ("transferOwnership", ("address",)),
    "owner": ("owner", ()),
}
FIELDS = ("chain", "address", "tokens", *CALLS)
BALANCE_OF = "balanceOf(address)"

_SIGNATURE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\(([a-z0-9,]*)\)$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def default_signature(call: str) -> str:
    name, types = CALLS[call]
    return f"{name}({','.join(types)})"


def normalize(entry: Any, where: str) -> tuple[dict[str, Any], list[str]]:
    """(the entry with every call's signature filled in, the problems found, each naming `where`)."""
    if not isinstance(entry, dict):
        return {}, [f"{where} must be a mapping with {', '.join(FIELDS)}"]
    problems = []
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        problems.append(f"{where} has unknown keys {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    tokens = entry.get("tokens") or []
    if not isinstance(tokens, list):
        problems.append(f"{where}.tokens must be a list of addresses")
        tokens = []
    out: dict[str, Any] = {"chain": entry.get("chain"), "address": entry.get("address"), "tokens": list(tokens)}
    if not isinstance(out["chain"], str) or not out["chain"]:
        problems.append(f"{where}.chain must name one of the chains")
    for key, value in [("address", out["address"])] + [(f"tokens[{i}]", t) for i, t in enumerate(tokens)]:
        if not (isinstance(value, str) and _ADDRESS.match(value)):
            problems.append(f"{where}.{key} must be 0x and 40 hex digits, got {value!r}")
    for call, (_name, types) in CALLS.items():
        signature = entry.get(call, default_signature(call))
        if call == "withdraw_eth" and signature in (None, ""):
            out[call] = ""
            continue
        match = _SIGNATURE.match(signature) if isinstance(signature, str) else None
        got = tuple(t for t in match.group(1).split(",") if t) if match else None
        if got != types:
            wanted = ", ".join(types)
            problems.append(f"{where}.{call} must be a function signature taking ({wanted}), got {signature!r}")
        out[call] = signature
    return out, problems


def owned_contracts(strategies: Any, listed: Any, where: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(every contract the hot wallet owns, the problems of the `listed` entries): the reference
    strategy's executors from `strategies` (engine.yml's section; their own problems are the strategy's
    to report), then the `listed` ones, named `where`[i] in the problems."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    arb = strategies.get("v2_cross_pool_arb") if isinstance(strategies, dict) else None
    chains = arb.get("chains") if isinstance(arb, dict) else None
    for chain, settings in (chains if isinstance(chains, dict) else {}).items():
        if isinstance(settings, dict) and settings.get("executor"):
            tokens = [settings["base_token"]] if settings.get("base_token") else []
            entry, problems = normalize({"chain": chain, "address": settings["executor"], "tokens": tokens}, where)
            if not problems:
                found[(entry["chain"], entry["address"].lower())] = entry
    if listed is None:
        listed = []
    if not isinstance(listed, list):
        return list(found.values()), [f"{where} must be a list, found {type(listed).__name__}"]
    problems = []
    for index, item in enumerate(listed):
        entry, more = normalize(item, f"{where}[{index}]")
        problems += more
        if not more:
            found[(entry["chain"], entry["address"].lower())] = entry
    return list(found.values()), problems


def withdrawals(
    keccak: Callable[[bytes], bytes],
    contract: dict[str, Any],
    to: str,
    token_balance: Callable[[str, str, str], int],
    eth_balance: Callable[[], int],
) -> list[tuple[str | None, int, str]]:
    """(token, or None for ETH; amount; calldata) of the owner calls that move what `contract` holds
    to `to`: each listed token's balance, token_balance(token, balanceOf calldata, what it reads), and, when it has
    a withdraw_eth call, its ETH, eth_balance(); nothing for a zero balance. Used by the engine's
    withdraw and by evm_sweep, each with its own RPC client."""
    balance_of = calldata(keccak, BALANCE_OF, contract["address"])
    found: list[tuple[str | None, int, str]] = []
    for token in contract["tokens"]:
        amount = token_balance(token, balance_of, f"balanceOf({contract['address']}) of token {token}")
        if amount:
            found.append((token, amount, calldata(keccak, contract["withdraw_token"], token, to, amount)))
    amount = eth_balance() if contract["withdraw_eth"] else 0
    if amount:
        found.append((None, amount, calldata(keccak, contract["withdraw_eth"], to, amount)))
    return found


def calldata(keccak: Callable[[bytes], bytes], signature: str, *args: Any) -> str:
    """The ABI-encoded call of `signature` with static arguments (addresses as 0x strings, integers)."""
    data = bytes(keccak(signature.encode()))[:4]
    for arg in args:
        data += (int(arg, 16) if isinstance(arg, str) else int(arg)).to_bytes(32, "big")
    return "0x" + data.hex()


def word(answer: Any, what: str) -> int:
    """The first 32-byte word of an eth_call answer."""
    if not isinstance(answer, str) or len(answer) < 66:
        raise ValueError(f"{what} answered {answer!r}, not a 32-byte word")
    return int(answer[2:66], 16)


def word_address(answer: Any, what: str) -> str:
    """The address in the first word of an eth_call answer, lower case."""
    return "0x" + format(word(answer, what), "040x")[-40:]
