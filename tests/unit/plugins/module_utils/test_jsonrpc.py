"""module_utils/jsonrpc.py (the JSON-RPC client) and module_utils/evm.py (node probe, readiness)."""

from __future__ import annotations

import re
import socket
import time
from typing import Any

import pytest

from ansible_collections.mevops.infra.plugins.module_utils.evm import probe_many, probe_node, readiness
from ansible_collections.mevops.infra.plugins.module_utils.jsonrpc import (
    METHOD_NOT_FOUND,
    JsonRpcClient,
    RpcBadResponse,
    RpcError,
    RpcFailure,
    RpcHttpError,
    RpcTimeout,
    RpcUnreachable,
    display_url,
    hex_to_int,
)

# -- JsonRpcClient ----------------------------------------------------------------------


def test_call_returns_the_result(rpc_stub):
    stub = rpc_stub(chain_id=8453)
    assert JsonRpcClient(stub.url).call("eth_chainId") == "0x2105"
    assert stub.calls["eth_chainId"] == 1


def test_batch_is_one_request_and_keeps_the_order_asked(rpc_stub):
    stub = rpc_stub(chain_id=137, head_number=42, reverse_batch=True)
    chain, head, version = JsonRpcClient(stub.url).batch(
        [("eth_chainId", []), ("eth_blockNumber", None), ("web3_clientVersion", ())]
    )
    assert (chain, head, version) == ("0x89", "0x2a", "stub/v1.0.0")
    assert stub.requests == 1


def test_batch_of_nothing_sends_nothing(rpc_stub):
    stub = rpc_stub()
    assert JsonRpcClient(stub.url).batch([]) == []
    assert stub.requests == 0


def test_batch_returns_errors_in_place_when_asked(rpc_stub):
    stub = rpc_stub(peer_count=None)
    chain, peers = JsonRpcClient(stub.url).batch([("eth_chainId", []), ("net_peerCount", [])], return_errors=True)
    assert chain == "0x1"
    assert isinstance(peers, RpcError)
    assert peers.is_method_not_found
    assert peers.code == METHOD_NOT_FOUND
    assert peers.method == "net_peerCount"


def test_batch_raises_the_first_error_by_default(rpc_stub):
    stub = rpc_stub(errors={"eth_blockNumber": (-32000, "header not found")})
    with pytest.raises(RpcError, match="eth_blockNumber: header not found") as exc:
        JsonRpcClient(stub.url).batch([("eth_chainId", []), ("eth_blockNumber", [])])
    assert exc.value.code == -32000


def test_batch_rejected_by_the_server_is_an_rpc_error(rpc_stub):
    stub = rpc_stub(batch=False)
    with pytest.raises(RpcError) as exc:
        JsonRpcClient(stub.url).batch([("eth_chainId", [])])
    assert exc.value.code == -32600


def test_connection_refused_is_unreachable_not_timeout(closed_url):
    with pytest.raises(RpcUnreachable) as exc:
        JsonRpcClient(closed_url, timeout=2).call("eth_chainId")
    assert exc.type is RpcUnreachable  # not one of its subclasses (a timeout)
    assert exc.value.state == "unreachable"
    assert str(exc.value) == "connection refused"


def test_slow_answer_is_a_timeout(rpc_stub):
    stub = rpc_stub(delay=3)
    started = time.monotonic()
    with pytest.raises(RpcTimeout) as exc:
        JsonRpcClient(stub.url, timeout=0.3).call("eth_chainId")
    assert time.monotonic() - started < 2
    assert isinstance(exc.value, RpcUnreachable)  # a timeout is a kind of unreachable
    assert exc.value.state == "timeout"
    assert exc.value.reason == "no answer within 0.3 s"


def test_connect_timeout_says_no_connection(monkeypatch):
    def _blackhole(*_args: Any, **_kwargs: Any) -> socket.socket:
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", _blackhole)
    with pytest.raises(RpcTimeout, match="no connection within 1 s"):
        JsonRpcClient("http://192.0.2.1:8545", timeout=1).call("eth_chainId")


def test_unresolvable_host_is_unreachable(monkeypatch):
    def _no_dns(*_args: Any, **_kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", _no_dns)  # no real DNS query leaves the machine
    with pytest.raises(RpcUnreachable, match=r"cannot resolve host node\.invalid: Name or service not known"):
        JsonRpcClient("http://node.invalid:8545").call("eth_chainId")


def test_closed_without_answer_is_unreachable(rpc_stub):
    stub = rpc_stub(drop=True)
    with pytest.raises(RpcUnreachable, match="closed the connection without answering"):
        JsonRpcClient(stub.url).call("eth_chainId")


def test_http_500_is_an_http_error_with_status_and_body(rpc_stub):
    stub = rpc_stub(http_status=500)
    with pytest.raises(RpcHttpError) as exc:
        JsonRpcClient(stub.url).call("eth_chainId")
    assert exc.value.status == 500
    assert exc.value.state == "http_error"
    assert str(exc.value) == "HTTP 500 Internal Server Error: upstream node not ready"


def test_jsonrpc_error_carries_code_message_and_method(rpc_stub):
    stub = rpc_stub(errors={"eth_chainId": (-32000, "node is shutting down")})
    with pytest.raises(RpcError) as exc:
        JsonRpcClient(stub.url).call("eth_chainId")
    assert (exc.value.code, exc.value.message, exc.value.method) == (-32000, "node is shutting down", "eth_chainId")
    assert not exc.value.is_method_not_found
    assert str(exc.value) == "eth_chainId: node is shutting down (code -32000)"


def test_unknown_method_is_recognisable_as_method_not_found(rpc_stub):
    stub = rpc_stub()
    with pytest.raises(RpcError) as exc:
        JsonRpcClient(stub.url).call("debug_nothing")
    assert exc.value.is_method_not_found


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "body is not JSON: '<html><body>502 Bad Gateway"),
        (b"", "empty body"),
        (b'{"jsonrpc": "2.0", "id": 1}', "eth_chainId: answer has neither a result nor an error"),
        (b"[1, 2]", "expected a JSON object, got list"),
    ],
)
def test_garbage_is_a_bad_response(rpc_stub, body, match):
    stub = rpc_stub(garbage=body)
    with pytest.raises(RpcBadResponse, match=match) as exc:
        JsonRpcClient(stub.url).call("eth_chainId")
    assert exc.value.state == "bad_response"


def test_batch_answered_by_one_object_is_a_bad_response(rpc_stub):
    stub = rpc_stub(garbage=b'{"jsonrpc": "2.0", "id": 1, "result": "0x1"}')
    with pytest.raises(RpcBadResponse, match="expected a JSON list"):
        JsonRpcClient(stub.url).batch([("eth_chainId", [])])


def test_every_failure_shares_one_base_class():
    for cls in (RpcUnreachable, RpcTimeout, RpcHttpError, RpcError, RpcBadResponse):
        assert issubclass(cls, RpcFailure)


def test_credentials_in_the_url_become_basic_auth_and_are_masked(rpc_stub):
    stub = rpc_stub()
    url = f"http://ops:s3cret@127.0.0.1:{stub.port}/"
    JsonRpcClient(url).call("eth_chainId")
    assert stub.last_headers["Authorization"] == "Basic b3BzOnMzY3JldA=="
    assert display_url(url) == f"http://ops:********@127.0.0.1:{stub.port}/"
    assert display_url(stub.url) == stub.url


def test_extra_headers_are_sent(rpc_stub):
    stub = rpc_stub()
    JsonRpcClient(stub.url, headers={"Authorization": "Bearer abc"}).call("eth_chainId")
    assert stub.last_headers["Authorization"] == "Bearer abc"


@pytest.mark.parametrize(
    ("url", "timeout", "match"),
    [
        ("localhost:8545", 5, "expected an http:// or https:// URL"),
        ("ws://127.0.0.1:8546", 5, "expected an http:// or https:// URL"),
        ("http://127.0.0.1:notaport", 5, "bad port"),
        ("http://127.0.0.1:8545", 0, "timeout must be a positive number"),
    ],
)
def test_bad_construction_is_a_value_error(url, timeout, match):
    with pytest.raises(ValueError, match=match):
        JsonRpcClient(url, timeout)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0x0", 0), ("0x2105", 8453), ("0X1A", 26), ("0x", 0), (" 0x10 ", 16), ("42", 42), (7, 7)],
)
def test_hex_to_int(value, expected):
    assert hex_to_int(value) == expected


@pytest.mark.parametrize("value", [None, True, 1.5, "", "0xzz", "ten", [], {}])
def test_hex_to_int_rejects_what_is_not_a_quantity(value):
    with pytest.raises(ValueError, match="not a quantity"):
        hex_to_int(value)


@pytest.mark.anvil
def test_client_against_anvil(anvil):
    node = anvil(chain_id=8453)
    client = JsonRpcClient(node.url, timeout=5)
    assert hex_to_int(client.call("eth_chainId")) == 8453
    chain, block, peers = client.batch(
        [("eth_chainId", []), ("eth_getBlockByNumber", ["latest", False]), ("net_peerCount", [])],
        return_errors=True,
    )
    assert hex_to_int(chain) == 8453
    assert hex_to_int(block["number"]) >= 0
    assert isinstance(peers, RpcError)
    assert peers.is_method_not_found  # anvil has no net_peerCount


# -- probe_node / probe_many --------------------------------------------------------------


def test_probe_reads_everything_in_one_request(rpc_stub):
    stub = rpc_stub(chain_id=8453, head_number=1000, head_age=3, peer_count=12, client_version="Geth/v1.14")
    info = probe_node(stub.url, timeout=2)
    assert stub.requests == 1
    assert info["state"] == "ok"
    assert info["chain_id"] == 8453
    assert info["client_version"] == "Geth/v1.14"
    assert info["head_number"] == 1000
    assert 2 <= info["head_age_seconds"] <= 5
    assert info["syncing"] is False
    assert (info["sync_current"], info["sync_highest"]) == (None, None)
    assert info["peer_count"] == 12
    assert info["method_errors"] == {}
    assert info["latency_ms"] >= 0
    assert re.fullmatch(r"chain 8453, head 1000 \([345] s old\), synced, 12 peers", info["reason"])


def test_probe_reports_syncing_progress(rpc_stub):
    info = probe_node(rpc_stub(syncing=(1234, 5678)).url)
    assert info["state"] == "ok"
    assert (info["syncing"], info["sync_current"], info["sync_highest"]) == (True, 1234, 5678)
    assert "still syncing 1234/5678" in info["reason"]


def test_probe_accepts_a_syncing_object_without_block_numbers(rpc_stub):
    info = probe_node(rpc_stub(syncing_object={"msgCount": "0x10", "batchSeen": 3}).url)
    assert (info["syncing"], info["sync_current"], info["sync_highest"]) == (True, None, None)
    assert readiness(info) == ["still syncing"]


def test_probe_peer_count_is_null_when_method_not_found(rpc_stub):
    info = probe_node(rpc_stub(peer_count=None, client_version=None).url)
    assert info["state"] == "ok"
    assert info["peer_count"] is None
    assert info["client_version"] is None
    assert set(info["method_errors"]) == {"net_peerCount", "web3_clientVersion"}


def test_probe_falls_back_to_single_calls_when_batches_are_refused(rpc_stub):
    stub = rpc_stub(batch=False, chain_id=10)
    info = probe_node(stub.url)
    assert info["state"] == "ok"
    assert info["chain_id"] == 10
    assert stub.calls["eth_chainId"] == 1  # the rejected batch was not counted as calls


def test_probe_core_method_error_is_rpc_error_with_what_is_known(rpc_stub):
    info = probe_node(rpc_stub(errors={"eth_syncing": (-32000, "syncing status unavailable")}, chain_id=5).url)
    assert info["state"] == "rpc_error"
    assert info["reason"] == "eth_syncing: syncing status unavailable (code -32000)"
    assert info["chain_id"] == 5
    assert info["head_number"] == 100


def test_probe_missing_latest_block_is_a_bad_response(rpc_stub):
    info = probe_node(rpc_stub(latest_block_missing=True).url)
    assert info["state"] == "bad_response"
    assert "no latest block" in info["reason"]


def test_probe_never_raises_for_a_dead_node(closed_url):
    info = probe_node(closed_url, timeout=1)
    assert (info["state"], info["reason"]) == ("unreachable", "connection refused")
    assert info["chain_id"] is None


def test_probe_lag_against_a_reference(rpc_stub):
    node = rpc_stub(chain_id=1, head_number=100)
    reference = rpc_stub(chain_id=1, head_number=112)
    info = probe_node(node.url, reference=reference.url)
    assert (info["reference_state"], info["reference_head_number"], info["lag_blocks"]) == ("ok", 112, 12)


def test_probe_reference_on_another_chain_gives_no_lag(rpc_stub):
    info = probe_node(rpc_stub(chain_id=8453).url, reference=rpc_stub(chain_id=1).url)
    assert info["state"] == "ok"
    assert info["reference_state"] == "wrong_chain"
    assert info["lag_blocks"] is None
    assert info["reference_reason"] == "the reference is on chain 1, the node on chain 8453"


def test_probe_unreachable_reference_leaves_the_node_ok(rpc_stub, closed_url):
    info = probe_node(rpc_stub().url, reference=closed_url)
    assert info["state"] == "ok"
    assert (info["reference_state"], info["reference_reason"], info["lag_blocks"]) == (
        "unreachable",
        "connection refused",
        None,
    )


def test_probe_reads_node_and_reference_at_the_same_time(rpc_stub):
    node = rpc_stub(delay=0.8)
    reference = rpc_stub(delay=0.8)
    started = time.monotonic()
    info = probe_node(node.url, timeout=3, reference=reference.url)
    assert info["lag_blocks"] == 0
    assert time.monotonic() - started < 1.3  # one after the other would take 1.6 s


def test_probe_many_is_concurrent_and_keeps_order(rpc_stub):
    stubs = [rpc_stub(chain_id=chain, delay=0.6) for chain in (1, 10, 137)]
    started = time.monotonic()
    infos = probe_many([(stub.url, None) for stub in stubs], timeout=3)
    assert time.monotonic() - started < 1.2  # one after the other would take 1.8 s
    assert [info["chain_id"] for info in infos] == [1, 10, 137]


@pytest.mark.anvil
def test_probe_against_anvil(anvil):
    node = anvil(chain_id=8453)
    info = probe_node(node.url, timeout=5)
    assert info["state"] == "ok"
    assert info["chain_id"] == 8453
    assert info["client_version"].startswith("anvil/")
    assert info["syncing"] is False
    assert info["peer_count"] is None
    assert info["head_age_seconds"] < 5  # --block-time 1


# -- readiness --------------------------------------------------------------------------


def _info(**overrides: Any) -> dict[str, Any]:
    info = {
        "url": "http://127.0.0.1:8546",
        "state": "ok",
        "reason": "",
        "chain_id": 8453,
        "syncing": False,
        "sync_current": None,
        "sync_highest": None,
        "head_age_seconds": 2.0,
        "reference_url": None,
        "reference_state": None,
        "reference_reason": None,
        "lag_blocks": None,
    }
    info.update(overrides)
    return info


def test_readiness_of_a_ready_node_is_empty():
    assert readiness(_info(), expected_chain_id=8453, max_head_age=60) == []


@pytest.mark.parametrize(
    ("overrides", "kwargs", "expected"),
    [
        ({"chain_id": 5}, {"expected_chain_id": 8453}, ["wrong chain id 5 (expected 8453)"]),
        ({"syncing": True, "sync_current": 1234, "sync_highest": 5678}, {}, ["still syncing 1234/5678"]),
        ({"head_age_seconds": 95.2}, {"max_head_age": 60}, ["head 95 s old (max 60)"]),
        ({"reference_url": "http://r", "lag_blocks": 12}, {"max_lag": 3}, ["12 blocks behind reference (max 3)"]),
        ({"state": "unreachable", "reason": "connection refused"}, {}, ["unreachable: connection refused"]),
        ({"state": "timeout", "reason": "no answer within 5 s"}, {}, ["timeout: no answer within 5 s"]),
        ({"state": "http_error", "reason": "HTTP 503 Service Unavailable"}, {}, ["HTTP 503 Service Unavailable"]),
        (
            {"state": "rpc_error", "reason": "eth_syncing: boom (code -1)"},
            {},
            ["JSON-RPC error: eth_syncing: boom (code -1)"],
        ),
        ({"state": "bad_response", "reason": "empty body"}, {}, ["bad response: empty body"]),
        (
            {"reference_url": "http://r", "reference_state": "unreachable", "reference_reason": "connection refused"},
            {"max_lag": 3},
            ["lag unknown, reference unreachable: connection refused"],
        ),
        (
            {
                "reference_url": "http://r",
                "reference_state": "wrong_chain",
                "reference_reason": "the reference is on chain 1, the node on chain 8453",
            },
            {"max_lag": 3},
            ["lag unknown, the reference is on chain 1, the node on chain 8453"],
        ),
    ],
)
def test_readiness_names_what_is_missing(overrides, kwargs, expected):
    assert readiness(_info(**overrides), **kwargs) == expected


def test_readiness_lists_every_problem_at_once():
    info = _info(
        chain_id=5,
        syncing=True,
        sync_current=1,
        sync_highest=9,
        head_age_seconds=120,
        lag_blocks=7,
        reference_url="http://r",
    )
    assert readiness(info, expected_chain_id=8453, max_head_age=60, max_lag=3) == [
        "wrong chain id 5 (expected 8453)",
        "still syncing 1/9",
        "head 120 s old (max 60)",
        "7 blocks behind reference (max 3)",
    ]


def test_readiness_of_a_down_node_reports_only_the_failure():
    info = _info(state="unreachable", reason="connection refused", chain_id=None, head_age_seconds=None)
    assert readiness(info, expected_chain_id=8453, max_head_age=60, max_lag=3) == ["unreachable: connection refused"]
