# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""EVM node health shared by evm_node_info and evm_sync_wait.

    info = probe_node("http://127.0.0.1:8546", timeout=5, reference="http://10.0.0.5:8546")
    problems = readiness(info, expected_chain_id=8453, max_head_age=60, max_lag=3)
    # [] when ready, else ["still syncing 1234/5678", "head 95 s old (max 60)"]

`probe_node` reads a node's state in one round trip (a JSON-RPC batch; one call after
another only for servers that refuse batches) and reads the reference, if any, at the
same time. It never raises for a node's failure: the failure is the `state`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ansible_collections.mevops.infra.plugins.module_utils.jsonrpc import (
    JsonRpcClient,
    RpcBadResponse,
    RpcError,
    RpcFailure,
    hex_to_int,
)

__all__ = ["NODE_STATES", "REFERENCE_STATES", "probe_many", "probe_node", "readiness"]

# `state` of a probed node: "ok" when it answered, else the kind of failure.
NODE_STATES = ("ok", "unreachable", "timeout", "http_error", "rpc_error", "bad_response")
# `reference_state` adds "wrong_chain": the reference answers for another chain than the node.
REFERENCE_STATES = (*NODE_STATES, "wrong_chain")

# What the node is asked in its batch; the first three must answer, the rest may be missing.
_CORE = ("eth_chainId", "eth_syncing", "eth_getBlockByNumber")
_NODE_CALLS: Tuple[Tuple[str, list], ...] = (
    ("eth_chainId", []),
    ("eth_syncing", []),
    ("eth_getBlockByNumber", ["latest", False]),
    ("web3_clientVersion", []),
    ("net_peerCount", []),
)
_REFERENCE_CALLS: Tuple[Tuple[str, list], ...] = (("eth_chainId", []), ("eth_blockNumber", []))

# How a failed state reads in a readiness problem ("unreachable: connection refused").
_STATE_PREFIX = {
    "unreachable": "unreachable: ",
    "timeout": "timeout: ",
    "http_error": "",  # the reason starts with "HTTP 500 ..."
    "rpc_error": "JSON-RPC error: ",
    "bad_response": "bad response: ",
}

Info = Dict[str, Any]


def _empty_info(url: str, reference: Optional[str]) -> Info:
    return {
        "url": url,
        "state": "ok",
        "reason": "",
        "chain_id": None,
        "client_version": None,
        "head_number": None,
        "head_timestamp": None,
        "head_age_seconds": None,
        "syncing": None,
        "sync_current": None,
        "sync_highest": None,
        "peer_count": None,
        "method_errors": {},
        "latency_ms": None,
        "reference_url": reference,
        "reference_state": None,
        "reference_reason": None,
        "reference_head_number": None,
        "lag_blocks": None,
    }


def _read(client: JsonRpcClient, calls: Sequence[Tuple[str, list]]) -> List[Any]:
    """Results (or RpcError instances) of `calls`: one batch, or one by one if batches are refused."""
    try:
        return client.batch(calls, return_errors=True)
    except RpcError:
        pass  # the server rejects batch requests as a whole: ask one call at a time
    results: List[Any] = []
    for method, params in calls:
        try:
            results.append(client.call(method, params))
        except RpcError as exc:
            results.append(exc)
    return results


def _quantity(value: Any, what: str) -> int:
    try:
        return hex_to_int(value)
    except ValueError as exc:
        raise RpcBadResponse(f"{what}: {exc}") from exc


def _fill_node(info: Info, answers: Dict[str, Any]) -> None:
    """Fill `info` from the node's answers by method; raise RpcFailure for a core failure."""
    for method, answer in answers.items():
        if isinstance(answer, RpcError):
            info["method_errors"][method] = str(answer)
    usable = {method: answer for method, answer in answers.items() if not isinstance(answer, RpcError)}

    if "eth_chainId" in usable:
        info["chain_id"] = _quantity(usable["eth_chainId"], "eth_chainId")
    if usable.get("web3_clientVersion") is not None:
        info["client_version"] = str(usable["web3_clientVersion"])
    if usable.get("net_peerCount") is not None:
        info["peer_count"] = _quantity(usable["net_peerCount"], "net_peerCount")
    if "eth_syncing" in usable:
        _fill_syncing(info, usable["eth_syncing"])
    if "eth_getBlockByNumber" in usable:
        _fill_head(info, usable["eth_getBlockByNumber"])

    for method in _CORE:
        if method not in usable:
            raise answers[method]


def _fill_syncing(info: Info, syncing: Any) -> None:
    if not isinstance(syncing, dict):
        info["syncing"] = bool(syncing)
        return
    info["syncing"] = True
    for key, field in (("sync_current", "currentBlock"), ("sync_highest", "highestBlock")):
        try:
            info[key] = hex_to_int(syncing.get(field))
        except ValueError:
            info[key] = None  # clients such as nitro report progress in their own fields


def _fill_head(info: Info, block: Any) -> None:
    if not isinstance(block, dict):
        raise RpcBadResponse("eth_getBlockByNumber: no latest block in the answer")
    info["head_number"] = _quantity(block.get("number"), "latest block number")
    info["head_timestamp"] = _quantity(block.get("timestamp"), "latest block timestamp")
    info["head_age_seconds"] = round(time.time() - info["head_timestamp"], 1)


def _summary(info: Info) -> str:
    parts = [f"chain {info['chain_id']}", f"head {info['head_number']} ({info['head_age_seconds']:.0f} s old)"]
    if info["syncing"]:
        parts.append(_syncing_text(info))
    else:
        parts.append("synced")
    if info["peer_count"] is not None:
        parts.append(f"{info['peer_count']} peers")
    return ", ".join(parts)


def _syncing_text(info: Info) -> str:
    if info["sync_current"] is not None and info["sync_highest"] is not None:
        return f"still syncing {info['sync_current']}/{info['sync_highest']}"
    return "still syncing"


def _probe_reference(url: str, timeout: float) -> Tuple[Optional[int], Optional[int], str, str]:
    """(chain id, head number, state, reason) of a reference endpoint."""
    try:
        chain, head = _read(JsonRpcClient(url, timeout), _REFERENCE_CALLS)
        for answer in (chain, head):
            if isinstance(answer, RpcError):
                raise answer
        return _quantity(chain, "eth_chainId"), _quantity(head, "eth_blockNumber"), "ok", ""
    except RpcFailure as exc:
        return None, None, exc.state, exc.reason


def probe_node(url: str, timeout: float = 5.0, reference: Optional[str] = None) -> Info:
    """Everything the collection knows how to ask a node, as one dict (see evm_node_info RETURN).

    `reference` is another endpoint of the same chain; it is read concurrently and gives
    `lag_blocks` = reference head - node head (negative when the node is ahead).
    Raises ValueError only for a malformed URL or timeout.
    """
    client = JsonRpcClient(url, timeout)
    if reference is not None:
        JsonRpcClient(reference, timeout)  # validate before starting a thread
    info = _empty_info(url, reference)

    pool = ThreadPoolExecutor(max_workers=1) if reference is not None else None
    try:
        reference_future = pool.submit(_probe_reference, reference, timeout) if pool is not None else None
        started = time.monotonic()
        try:
            results = _read(client, _NODE_CALLS)
            answers = {method: results[index] for index, (method, _params) in enumerate(_NODE_CALLS)}
            _fill_node(info, answers)
            info["reason"] = _summary(info)
        except RpcFailure as exc:
            info["state"] = exc.state
            info["reason"] = exc.reason
        info["latency_ms"] = round((time.monotonic() - started) * 1000, 1)

        if reference_future is not None:
            ref_chain, ref_head, ref_state, ref_reason = reference_future.result()
            info["reference_head_number"] = ref_head
            if ref_state == "ok" and info["chain_id"] is not None and ref_chain != info["chain_id"]:
                ref_state = "wrong_chain"
                ref_reason = f"the reference is on chain {ref_chain}, the node on chain {info['chain_id']}"
            info["reference_state"] = ref_state
            info["reference_reason"] = ref_reason
            if ref_state == "ok" and info["head_number"] is not None:
                info["lag_blocks"] = ref_head - info["head_number"]
    finally:
        if pool is not None:
            pool.shutdown(wait=False)
    return info


def probe_many(
    targets: Sequence[Tuple[str, Optional[str]]],
    timeout: float = 5.0,
    pool: Optional[ThreadPoolExecutor] = None,
    probe: Callable[..., Info] = probe_node,
) -> List[Info]:
    """probe_node for every (url, reference) at the same time; results in the same order."""
    if not targets:
        return []
    own_pool = pool is None
    executor = pool if pool is not None else ThreadPoolExecutor(max_workers=min(32, len(targets)))
    try:
        futures = [executor.submit(probe, url, timeout, reference) for url, reference in targets]
        return [future.result() for future in futures]
    finally:
        if own_pool:
            executor.shutdown(wait=True)


def readiness(
    info: Info,
    expected_chain_id: Optional[int] = None,
    max_head_age: Optional[float] = None,
    max_lag: Optional[int] = None,
) -> List[str]:
    """What keeps a probed node from being ready, in operator words; [] when it is ready.

    Ready means: it answers, on `expected_chain_id` (if given), not syncing, head not
    older than `max_head_age` seconds (if given), and at most `max_lag` blocks behind
    its reference (if given; an unusable reference is then a problem too).
    """
    state = info["state"]
    if state != "ok":
        return [_STATE_PREFIX.get(state, f"{state}: ") + str(info["reason"])]

    problems = []
    if expected_chain_id is not None and info["chain_id"] != expected_chain_id:
        problems.append(f"wrong chain id {info['chain_id']} (expected {expected_chain_id})")
    if info["syncing"]:
        problems.append(_syncing_text(info))
    age = info["head_age_seconds"]
    if max_head_age is not None and age is not None and age > max_head_age:
        problems.append(f"head {age:.0f} s old (max {max_head_age:g})")
    if max_lag is not None:
        lag = info["lag_blocks"]
        if lag is not None and lag > max_lag:
            problems.append(f"{lag} blocks behind reference (max {max_lag})")
        elif lag is None and info.get("reference_url"):
            ref_state = info.get("reference_state") or "unreachable"
            ref_reason = str(info.get("reference_reason") or "no answer")
            if ref_state == "wrong_chain":
                problems.append(f"lag unknown, {ref_reason}")
            else:
                problems.append(f"lag unknown, reference {_STATE_PREFIX.get(ref_state, ref_state + ': ')}{ref_reason}")
    return problems
