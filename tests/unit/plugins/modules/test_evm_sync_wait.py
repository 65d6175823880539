"""evm_sync_wait against anvil and the JSON-RPC stub: opens when ready, fails naming every problem."""

from __future__ import annotations

import re
import time

import pytest
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.modules import evm_sync_wait


def _wait_failure(run_module, args, **kwargs):
    with pytest.raises(ModuleFailed) as exc:
        run_module(evm_sync_wait, args, **kwargs)
    return exc.value.result


@pytest.mark.anvil
def test_opens_at_once_on_two_anvils_with_the_right_chain_ids(run_module, anvil):
    ethereum = anvil(chain_id=1)
    base = anvil(chain_id=8453)
    started = time.monotonic()
    result = run_module(
        evm_sync_wait,
        {
            "endpoints": [
                {"name": "ethereum", "url": ethereum.url, "chain_id": 1},
                {"name": "base", "url": base.url, "chain_id": 8453},
            ],
            "max_head_age": 10,
            "poll_interval": 30,  # the first round is immediate: no wait for an interval
            "timeout": 60,
        },
    )
    assert time.monotonic() - started < 2
    assert result["changed"] is False
    assert result["ready"] is True
    assert result["rounds"] == 1
    assert set(result["endpoints"]) == {"ethereum", "base"}
    for name, chain_id in (("ethereum", 1), ("base", 8453)):
        endpoint = result["endpoints"][name]
        assert (endpoint["ready"], endpoint["problems"], endpoint["chain_id"]) == (True, [], chain_id)
        assert endpoint["client_version"].startswith("anvil/")


@pytest.mark.anvil
def test_anvil_on_the_wrong_chain_is_named(run_module, anvil):
    node = anvil(chain_id=1)
    result = _wait_failure(
        run_module,
        {"endpoints": [{"name": "base", "url": node.url, "chain_id": 8453}], "timeout": 0.5, "poll_interval": 0.1},
    )
    assert result["msg"].splitlines() == [
        result["msg"].splitlines()[0],
        f"base ({node.url}): wrong chain id 1 (expected 8453)",
    ]
    assert result["msg"].startswith("1 of 1 chains not ready after ")


@pytest.mark.anvil
def test_anvil_lagging_its_reference_is_named(run_module, anvil):
    node = anvil(chain_id=42161, block_time=None, name="sync-lag-node")
    reference = anvil(chain_id=42161, block_time=None, name="sync-lag-reference")
    reference.mine(20)
    lag = reference.head() - node.head()
    result = _wait_failure(
        run_module,
        {
            "endpoints": [{"name": "arbitrum", "url": node.url, "chain_id": 42161, "reference_url": reference.url}],
            "max_head_age": 3600,  # auto-mine anvil: the head is as old as the node
            "timeout": 0.3,
            "poll_interval": 0.1,
        },
    )
    assert f"arbitrum ({node.url}): {lag} blocks behind reference (max 3)" in result["msg"]
    # Once caught up, the same gate opens.
    node.mine(lag)
    opened = run_module(
        evm_sync_wait,
        {
            "endpoints": [{"name": "arbitrum", "url": node.url, "reference_url": reference.url, "max_lag_blocks": 0}],
            "max_head_age": 3600,
        },
    )
    assert opened["endpoints"]["arbitrum"]["lag_blocks"] == 0


def test_timeout_names_every_lagging_chain_and_why(run_module, rpc_stub, closed_url):
    ok = rpc_stub(chain_id=1)
    syncing = rpc_stub(chain_id=8453, syncing=(1234, 5678))
    wrong = rpc_stub(chain_id=5)
    stale = rpc_stub(chain_id=137, head_age=95)
    behind = rpc_stub(chain_id=10, head_number=100)
    reference = rpc_stub(chain_id=10, head_number=112)
    broken = rpc_stub(chain_id=43114, http_status=500)
    slow = rpc_stub(chain_id=42161, delay=5)
    endpoints = [
        {"name": "ethereum", "url": ok.url, "chain_id": 1},
        {"name": "base", "url": syncing.url, "chain_id": 8453},
        {"name": "polygon", "url": wrong.url, "chain_id": 137},
        {"name": "polygon-archive", "url": stale.url, "chain_id": 137},
        {"name": "optimism", "url": behind.url, "chain_id": 10, "reference_url": reference.url, "max_lag_blocks": 3},
        {"name": "avalanche", "url": broken.url},
        {"name": "arbitrum", "url": slow.url, "chain_id": 42161},
        {"name": "gnosis", "url": closed_url, "chain_id": 100},
    ]
    started = time.monotonic()
    result = _wait_failure(
        run_module,
        {"endpoints": endpoints, "max_head_age": 60, "timeout": 1, "poll_interval": 0.2, "request_timeout": 0.5},
    )
    elapsed = time.monotonic() - started
    assert 1 <= elapsed < 3
    lines = result["msg"].splitlines()
    assert lines[0].startswith("7 of 8 chains not ready after ")
    # Block timestamps are whole seconds: the age reads 95 or 96 s depending on when the stub answered.
    assert re.fullmatch(rf"polygon-archive \({stale.url}\): head 9[56] s old \(max 60\)", lines[3])
    lines[3] = "polygon-archive: (checked above)"
    assert lines[1:] == [
        f"base ({syncing.url}): still syncing 1234/5678",
        f"polygon ({wrong.url}): wrong chain id 5 (expected 137)",
        "polygon-archive: (checked above)",
        f"optimism ({behind.url}): 12 blocks behind reference (max 3)",
        f"avalanche ({broken.url}): HTTP 500 Internal Server Error: upstream node not ready",
        f"arbitrum ({slow.url}): timeout: no answer within 0.5 s",
        f"gnosis ({closed_url}): unreachable: connection refused",
    ]
    assert result["ready"] is False
    assert result["rounds"] >= 2
    assert result["endpoints"]["ethereum"]["ready"] is True
    assert result["endpoints"]["base"]["problems"] == ["still syncing 1234/5678"]
    assert result["endpoints"]["gnosis"]["state"] == "unreachable"


def test_several_problems_of_one_chain_share_its_line(run_module, rpc_stub):
    stub = rpc_stub(chain_id=5, syncing=(1, 9), head_age=300)
    result = _wait_failure(
        run_module, {"endpoints": [{"name": "base", "url": stub.url, "chain_id": 8453}], "timeout": 0}
    )
    assert re.fullmatch(
        rf"base \({stub.url}\): wrong chain id 5 \(expected 8453\); still syncing 1/9; head 30[01] s old \(max 60\)",
        result["msg"].splitlines()[1],
    )
    assert result["rounds"] == 1  # timeout 0: check once


def test_polls_endpoints_concurrently(run_module, rpc_stub):
    slow = [rpc_stub(chain_id=1, delay=1), rpc_stub(chain_id=10, delay=1)]
    started = time.monotonic()
    result = run_module(
        evm_sync_wait,
        {"endpoints": [{"name": f"chain{i}", "url": stub.url} for i, stub in enumerate(slow)], "timeout": 30},
    )
    elapsed = time.monotonic() - started
    assert result["rounds"] == 1
    assert 1 <= elapsed < 1.8  # one slow period, not two


def test_returns_as_soon_as_ready(run_module, rpc_stub):
    stub = rpc_stub(chain_id=8453, syncing_for_calls=3)
    other = rpc_stub(chain_id=1)
    started = time.monotonic()
    result = run_module(
        evm_sync_wait,
        {
            "endpoints": [{"name": "base", "url": stub.url, "chain_id": 8453}, {"name": "ethereum", "url": other.url}],
            "poll_interval": 0.2,
            "timeout": 30,
        },
    )
    elapsed = time.monotonic() - started
    assert result["ready"] is True
    assert result["rounds"] == 4  # three rounds saw it syncing, the fourth saw it synced
    assert stub.calls["eth_syncing"] == 4  # no poll after it was ready
    assert 0.55 <= elapsed < 1.5  # three poll intervals, no fixed sleep
    assert result["endpoints"]["base"]["syncing"] is False


def test_unusable_reference_keeps_the_chain_waiting(run_module, rpc_stub, closed_url):
    stub = rpc_stub()
    result = _wait_failure(
        run_module, {"endpoints": [{"name": "base", "url": stub.url, "reference_url": closed_url}], "timeout": 0}
    )
    assert result["msg"].splitlines()[1] == f"base ({stub.url}): lag unknown, reference unreachable: connection refused"


def test_endpoint_can_override_max_head_age(run_module, rpc_stub):
    stub = rpc_stub(head_age=90)
    result = run_module(
        evm_sync_wait,
        {"endpoints": [{"name": "slowchain", "url": stub.url, "max_head_age": 300}], "max_head_age": 60, "timeout": 0},
    )
    assert result["endpoints"]["slowchain"]["ready"] is True


def test_check_mode_waits_the_same_way(run_module, rpc_stub):
    stub = rpc_stub(syncing_for_calls=1)
    result = run_module(
        evm_sync_wait, {"endpoints": [{"name": "base", "url": stub.url}], "poll_interval": 0.1}, check_mode=True
    )
    assert (result["ready"], result["rounds"], result["changed"]) == (True, 2, False)


def test_password_is_masked_in_the_failure(run_module, closed_url):
    url = closed_url.replace("http://", "http://ops:s3cret@")
    result = _wait_failure(run_module, {"endpoints": [{"name": "base", "url": url}], "timeout": 0})
    assert "s3cret" not in result["msg"]
    assert "s3cret" not in result["endpoints"]["base"]["url"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"endpoints": [{"name": "a", "url": "http://127.0.0.1:1"}, {"name": "a", "url": "http://127.0.0.1:2"}]},
            "the name 'a' appears more than once",
        ),
        (
            {"endpoints": [{"name": "a", "url": "http://127.0.0.1:1", "max_lag_blocks": 3}]},
            "missing parameter\\(s\\) required by 'max_lag_blocks': reference_url",
        ),
        ({"endpoints": [{"name": "a", "url": "127.0.0.1:8545"}]}, r"endpoints\[a\].url: expected an http://"),
        (
            {"endpoints": [{"name": "a", "url": "http://127.0.0.1:1"}], "poll_interval": 0},
            "poll_interval must be a positive",
        ),
        ({"endpoints": [{"name": "a", "url": "http://127.0.0.1:1"}], "timeout": -1}, "timeout must be 0 or more"),
        ({"endpoints": []}, "endpoints is empty"),
        ({"endpoints": [{"url": "http://127.0.0.1:1"}]}, "missing required arguments: name"),
    ],
)
def test_bad_input_fails_before_polling(run_module, args, message):
    with pytest.raises(ModuleFailed, match=message):
        run_module(evm_sync_wait, args)
