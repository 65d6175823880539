"""The emergency report: the summary of every targeted host (API path, fallback, partial failure, hosts
that reported nothing, tags) and the step lines it is made of, as playbooks/emergency.yml shows them."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.filter.emergency import (
    emergency_cancel_line,
    emergency_notified,
    emergency_summary,
    emergency_withdraw_line,
)

NO_REPORT = "NO REPORT - host unreachable or failed before this step (see the recap)"
GROUPS = {"all": ["eng1", "eng2", "node1", "db1"], "engines": ["eng1", "eng2"], "evm_nodes": ["node1"]}


def fleet(**results):
    """stop_trading_fleet's registered result, as every engine of its play holds it."""
    return {"__emergency_stop_fleet": {"results": results}}


def test_the_controller_stopped_engine_is_reported_from_the_fleet_call():
    stopped = fleet(eng1={"previous": "enabled", "trading": {"state": "emergency_stop"}},
                    eng2={"failed": True, "msg": "connection refused"})  # fmt: skip
    hostvars = {"eng1": stopped, "eng2": {**stopped, "emergency_targeted": True,
                "_emergency_report": {"stop_trading": "API did not answer (x); mev-execution stopped "}}}  # fmt: skip
    assert emergency_summary(hostvars, GROUPS, ["stop_trading"]) == [
        "eng1 stop_trading: API: trading enabled -> emergency_stop (called from the controller)",
        "eng2 stop_trading: API did not answer (x); mev-execution stopped",
    ]


def test_a_host_report_wins_over_the_fleet_call():
    report = {"stop_trading": "API: trading enabled -> emergency_stop (on the host)"}
    hostvars = {
        "eng1": {
            **fleet(eng1={"previous": "enabled", "trading": {"state": "emergency_stop"}}),
            "_emergency_report": report,
        }
    }
    assert emergency_summary(hostvars, GROUPS, ["stop_trading"]) == [
        "eng1 stop_trading: API: trading enabled -> emergency_stop (on the host)"
    ]


def test_failed_steps_and_missing_reports_are_named():
    hostvars = {
        "eng1": {"emergency_targeted": True, "_emergency_failed": ["withdraw"],
                 "_emergency_report": {"cancel_pending": "API: 0 replacement(s) sent, nothing pending",
                                       "withdraw": "API to 0xc0ld:  mainnet boom;"}},
        "eng2": {"emergency_targeted": True},  # unreachable: targeted, never reported
        "node1": {"_emergency_report": {"snapshot": "x"}},  # not targeted: not in the summary
    }  # fmt: skip
    assert emergency_summary(hostvars, GROUPS, ["cancel_pending", "withdraw"]) == [
        "eng1 cancel_pending: API: 0 replacement(s) sent, nothing pending",
        "eng1 withdraw: FAILED API to 0xc0ld:  mainnet boom;",
        f"eng2 cancel_pending: {NO_REPORT}",
        f"eng2 withdraw: {NO_REPORT}",
    ]


def test_all_steps_in_order_engines_and_other_hosts():
    hostvars = {host: {"emergency_targeted": True} for host in ("eng1", "node1")}
    lines = emergency_summary(hostvars, GROUPS, None)
    assert [line.split(":")[0] for line in lines] == [
        "eng1 stop_trading", "eng1 cancel_pending", "eng1 withdraw", "eng1 snapshot", "eng1 shutdown",
        "eng1 shutdown_support", "eng1 isolate", "node1 snapshot", "node1 shutdown_support", "node1 isolate",
    ]  # fmt: skip


def test_shutdown_tag_covers_the_support_services_and_skip_tags_apply():
    report = {"shutdown_support": " nginx.service stopped;"}
    hostvars = {"node1": {"emergency_targeted": True, "_emergency_report": report}}
    assert emergency_summary(hostvars, GROUPS, ["shutdown"]) == ["node1 shutdown_support: nginx.service stopped;"]
    assert emergency_summary(hostvars, GROUPS, ["all"], ["shutdown", "isolate"]) == [f"node1 snapshot: {NO_REPORT}"]


def test_no_targets_no_lines():
    assert emergency_summary({"eng1": {}, "node1": {}}, GROUPS, ["all"]) == []
    assert emergency_summary({}, {"all": []}) == []


def test_summary_needs_groups():
    with pytest.raises(AnsibleFilterError, match="groups"):
        emergency_summary({}, ["eng1"])


def test_notified():
    results = [{"item": {"name": "slack"}, "status": 204}, {"item": {"name": "pd"}, "status": -1}, {"item": {}}]
    assert emergency_notified(results, [200, 204]) == "slack: HTTP 204; pd: FAILED (-1); webhook: FAILED (no answer); "
    assert emergency_notified(None, [200]) == "no webhook configured"


def test_cancel_line_api_fallback_and_failure():
    api = {"cancelled": [{"chain": "a", "nonce": 1}, {"chain": "b", "nonce": 4}]}
    assert emergency_cancel_line(api) == "API: 2 replacement(s) sent (a nonce 1, b nonce 4)"
    assert emergency_cancel_line({"cancelled": []}, {"skipped": True}) == "API: 0 replacement(s) sent, nothing pending"
    host = {"chains": [{"chain": "a", "cancelled": [{"nonce": 1}, {"nonce": 2}]}, {"chain": "b", "cancelled": []}],
            "msg": "b: replacement not mined"}  # fmt: skip
    assert emergency_cancel_line({"msg": "timed out", "error_state": "timeout"}, host) == (
        "API did not answer (timed out); on the host with the keystore: a nonces [1, 2] replaced; "
        "b nonces [] replaced;  NOT replaced: b: replacement not mined"
    )
    assert emergency_cancel_line({"msg": "HTTP 401"}, {"skipped": True}) == "FAILED: HTTP 401"
    assert emergency_cancel_line({}) == "FAILED: no answer"


def test_withdraw_line_api_and_fallback():
    api = [{"item": {"name": "a"}, "withdrawal": {"amount_wei": 10**18, "tx_hash": "0x1"}},
           {"item": {"name": "b"}, "msg": "nothing to withdraw"}, {"item": {"name": "c"}, "skipped": True}]  # fmt: skip
    line = emergency_withdraw_line(api, {"skipped": True}, "0xc")
    assert line == "API to 0xc:  a 1 ETH tx 0x1; b nothing to withdraw; c ?;"
    host = {"chains": [{"chain": "a", "state": "swept", "swept_wei": 5 * 10**17, "tx_hash": "0x2", "remaining_wei": 0},
                       {"chain": "b", "state": "empty", "swept_wei": 0, "tx_hash": None, "remaining_wei": 0}],
            "msg": "c: no RPC"}  # fmt: skip
    assert emergency_withdraw_line([], host, "0xc") == (
        "API did not answer; on the host with the keystore to 0xc:  a swept 0.5 ETH tx 0x2, left 0 wei;"
        " b empty 0 ETH, left 0 wei; FAILED: c: no RPC"
    )
    assert emergency_withdraw_line(None, None, "0xc") == "API to 0xc: "


def test_withdraw_line_says_what_stays_behind_read_from_the_chains():
    api = [{"item": {"name": "base"}, "withdrawal": {"amount_wei": 10**18, "tx_hash": "0x1", "fee_family": "op-stack"}},
           {"item": {"name": "b"}, "msg": "nothing to withdraw"}]  # fmt: skip
    left = {"balances": [{"chain": "base", "address": "0xh", "wei": 31250, "eth": "0.00000000000003125"},
                         {"chain": "b", "address": "0xh", "wei": 0, "eth": "0"}]}  # fmt: skip
    assert emergency_withdraw_line(api, {"skipped": True}, "0xc", left) == (
        "API to 0xc:  base 1 ETH tx 0x1 (op-stack), left 31250 wei; b nothing to withdraw;"
    )
    unread = emergency_withdraw_line(api, {"skipped": True}, "0xc", {"failed": True, "msg": "base: no RPC"})
    assert unread.endswith("(op-stack); b nothing to withdraw; (what stays behind not read: base: no RPC)")


def test_withdraw_line_names_the_owned_contracts_emptied():
    api = [{"item": {"name": "base"}, "withdrawal": {"amount_wei": 0, "tx_hash": None, "contracts": [
        {"contract": "0xe", "token": "0xt", "amount": "5", "tx_hash": "0x3"},
        {"contract": "0xe", "token": None, "amount": "7", "tx_hash": "0x4"}]}}]  # fmt: skip
    assert emergency_withdraw_line(api, {"skipped": True}, "0xc") == (
        "API to 0xc:  base 0 ETH, from 0xe 5 of token 0xt tx 0x3, from 0xe 7 wei tx 0x4;"
    )
    host = {"chains": [{"chain": "a", "state": "swept", "swept_wei": 10**18, "tx_hash": "0x2", "remaining_wei": 9,
                        "contracts": [
                            {"contract": "0xe", "action": "withdraw_token", "token": "0xt", "amount_wei": 5,
                             "tx_hash": "0x5"},
                            {"contract": "0xe", "action": "transfer_ownership", "tx_hash": "0x6"}]}]}  # fmt: skip
    assert emergency_withdraw_line([], host, "0xc") == (
        "API did not answer; on the host with the keystore to 0xc:  a swept 1 ETH tx 0x2,"
        " from 0xe 5 of token 0xt tx 0x5, left 9 wei;"
    )
