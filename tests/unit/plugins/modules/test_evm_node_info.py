"""evm_node_info against anvil and the JSON-RPC stub: every state, peer count, lag, input errors."""

from __future__ import annotations

import time

import pytest
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.modules import evm_node_info

RETURN_KEYS = {
    "url",
    "state",
    "reason",
    "chain_id",
    "client_version",
    "head_number",
    "head_timestamp",
    "head_age_seconds",
    "syncing",
    "sync_current",
    "sync_highest",
    "peer_count",
    "method_errors",
    "latency_ms",
    "reference_url",
    "reference_state",
    "reference_reason",
    "reference_head_number",
    "lag_blocks",
}


@pytest.mark.anvil
def test_reads_an_anvil_node(run_module, anvil):
    node = anvil(chain_id=8453)
    result = run_module(evm_node_info, {"url": node.url, "expected_chain_id": 8453})
    assert result["changed"] is False
    assert result["state"] == "ok"
    assert result["chain_id"] == 8453
    assert result["chain_id_ok"] is True
    assert result["client_version"].startswith("anvil/")
    assert result["syncing"] is False
    assert result["head_number"] >= 0
    assert abs(result["head_timestamp"] + result["head_age_seconds"] - time.time()) < 2
    assert result["head_age_seconds"] < 5  # anvil mines a block every second
    assert result["peer_count"] is None  # anvil answers net_peerCount with "method not found"
    assert "net_peerCount" in result["method_errors"]
    assert set(result) >= RETURN_KEYS


@pytest.mark.anvil
def test_wrong_chain_is_reported_not_failed(run_module, anvil):
    node = anvil(chain_id=1)
    result = run_module(evm_node_info, {"url": node.url, "expected_chain_id": 8453})
    assert result["state"] == "ok"
    assert result["chain_id"] == 1
    assert result["chain_id_ok"] is False


@pytest.mark.anvil
def test_lag_behind_a_reference_anvil(run_module, anvil):
    node = anvil(chain_id=10, block_time=None, name="lag-node")  # auto-mine: heads move only when told
    reference = anvil(chain_id=10, block_time=None, name="lag-reference")
    reference.mine(7)
    expected = reference.head() - node.head()
    assert expected >= 7
    result = run_module(evm_node_info, {"url": node.url, "reference_url": reference.url})
    assert result["state"] == "ok"
    assert result["reference_state"] == "ok"
    assert result["reference_head_number"] == reference.head()
    assert result["lag_blocks"] == expected


@pytest.mark.anvil
def test_check_mode_reads_the_same(run_module, anvil):
    node = anvil(chain_id=137)
    result = run_module(evm_node_info, {"url": node.url}, check_mode=True)
    assert result["state"] == "ok"
    assert result["chain_id"] == 137
    assert "chain_id_ok" not in result  # only with expected_chain_id


def test_connection_refused(run_module, closed_url):
    result = run_module(evm_node_info, {"url": closed_url, "timeout": 2})
    assert (result["state"], result["reason"]) == ("unreachable", "connection refused")
    assert result["changed"] is False
    assert result["chain_id"] is None
    assert set(result) >= RETURN_KEYS


def test_timeout(run_module, rpc_stub):
    stub = rpc_stub(delay=3)
    started = time.monotonic()
    result = run_module(evm_node_info, {"url": stub.url, "timeout": 0.4})
    assert time.monotonic() - started < 2
    assert (result["state"], result["reason"]) == ("timeout", "no answer within 0.4 s")
    assert result["latency_ms"] >= 400


def test_http_error(run_module, rpc_stub):
    result = run_module(evm_node_info, {"url": rpc_stub(http_status=500).url})
    assert result["state"] == "http_error"
    assert result["reason"] == "HTTP 500 Internal Server Error: upstream node not ready"


def test_rpc_error(run_module, rpc_stub):
    stub = rpc_stub(errors={"eth_chainId": (-32000, "database closed")})
    result = run_module(evm_node_info, {"url": stub.url})
    assert result["state"] == "rpc_error"
    assert result["reason"] == "eth_chainId: database closed (code -32000)"
    assert result["method_errors"] == {"eth_chainId": "eth_chainId: database closed (code -32000)"}


def test_bad_response(run_module, rpc_stub):
    result = run_module(evm_node_info, {"url": rpc_stub(garbage=b"<html>502 Bad Gateway</html>").url})
    assert result["state"] == "bad_response"
    assert result["reason"] == "body is not JSON: '<html>502 Bad Gateway</html>'"


def test_syncing_progress(run_module, rpc_stub):
    result = run_module(evm_node_info, {"url": rpc_stub(syncing=(1234, 5678)).url})
    assert result["state"] == "ok"
    assert (result["syncing"], result["sync_current"], result["sync_highest"]) == (True, 1234, 5678)


def test_stale_head_age(run_module, rpc_stub):
    result = run_module(evm_node_info, {"url": rpc_stub(head_age=95).url})
    assert 95 <= result["head_age_seconds"] < 97


@pytest.mark.parametrize(("peers", "expected"), [(None, None), (0, 0), (25, 25)])
def test_peer_count_is_null_only_when_method_not_found(run_module, rpc_stub, peers, expected):
    result = run_module(evm_node_info, {"url": rpc_stub(peer_count=peers).url})
    assert result["state"] == "ok"
    assert result["peer_count"] == expected


def test_lag_against_a_reference_stub(run_module, rpc_stub):
    node = rpc_stub(chain_id=8453, head_number=500)
    reference = rpc_stub(chain_id=8453, head_number=512)
    result = run_module(evm_node_info, {"url": node.url, "reference_url": reference.url, "expected_chain_id": 8453})
    assert (result["lag_blocks"], result["reference_head_number"], result["chain_id_ok"]) == (12, 512, True)


def test_unreachable_reference_does_not_change_the_node_state(run_module, rpc_stub, closed_url):
    result = run_module(evm_node_info, {"url": rpc_stub().url, "reference_url": closed_url})
    assert result["state"] == "ok"
    assert result["reference_state"] == "unreachable"
    assert result["lag_blocks"] is None


def test_password_in_the_url_is_masked(run_module, rpc_stub):
    stub = rpc_stub()
    result = run_module(evm_node_info, {"url": f"http://ops:s3cret@127.0.0.1:{stub.port}"})
    assert result["state"] == "ok"
    assert result["url"] == f"http://ops:********@127.0.0.1:{stub.port}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"url": "127.0.0.1:8545"}, "url: expected an http:// or https:// URL"),
        ({"url": "http://127.0.0.1:8545", "reference_url": "ftp://x"}, "reference_url: expected an http://"),
        ({"url": "http://127.0.0.1:8545", "timeout": 0}, "timeout must be a positive number of seconds, got 0"),
    ],
)
def test_bad_input_fails(run_module, args, message):
    with pytest.raises(ModuleFailed, match=message):
        run_module(evm_node_info, args)
