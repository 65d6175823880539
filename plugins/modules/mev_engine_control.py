#!/usr/bin/python
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Ansible module mev_engine_control: operate the MEV engine through its HTTP API."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mev_engine_control
short_description: Operate the MEV engine - trading on and off, emergency stop, in-flight transactions, withdraw
version_added: "0.1.0"
description:
  - Calls the engine's bearer-token API (C(/api/v1), see the engine's README) for the runbooks'
    operations. C(changed) is honest - enabling trading that is already enabled, stopping what is
    already stopped, cancelling when nothing is pending or waiting are not changes - and check mode
    reads the state and reports what would change without calling any mutating endpoint.
  - Errors say what is wrong - the API unreachable (connection refused - is mev-monitoring running?),
    a wrong token (401), the engine refusing (403/409), mev-execution not answering (503/504), or
    another server error - and the result's C(error_state) gives it as one word.
  - Standard library only on the managed host.
author:
  - mevops.infra developers (@mevops)
extends_documentation_fragment:
  - mevops.infra.attributes
  - mevops.infra.attributes.no_diff
options:
  action:
    description:
      - C(status) reads the engine's status.
      - C(enable) enables trading; C(disable) disables it gracefully (no new orders, in-flight
        transactions continue); C(emergency_stop) stops at once and discards queued orders.
      - C(wait_inflight) polls pending transactions until none is left, failing at O(timeout)
        with the ones still pending.
      - C(cancel_pending) replaces every pending transaction (optionally of O(chain)) by a
        higher-fee cancel - those the engine tracks and every nonce in the node's C(latest) ..
        C(pending) range of the hot wallet, so the engine is asked even when it lists none (check
        mode reports only the ones it lists).
      - C(withdraw) sweeps O(chain)'s hot wallet balance minus fees to the cold wallet (refused
        by the engine while trading is enabled, and for any other O(to)).
    type: str
    required: true
    choices: [status, enable, disable, emergency_stop, wait_inflight, cancel_pending, withdraw]
  api_url:
    description:
      - Base URL of the engine's API as this host reaches it. Pass the mev_engine role's
        C(mev_engine_api_url), which follows where the API binds (C(mev_engine_api_host),
        C(mev_engine_api_port)).
    type: str
    required: true
  api_token:
    description: Bearer token of the API (C(MEV_API_TOKEN)); never logged.
    type: str
    required: true
  reason:
    description: Why the state changes (recorded by the engine) for C(enable), C(disable) and C(emergency_stop).
    type: str
  chain:
    description: Chain for C(withdraw) (required) and to restrict C(cancel_pending) and C(wait_inflight).
    type: str
  to:
    description: Withdrawal target for C(withdraw); the engine accepts only its configured cold wallet.
    type: str
  timeout:
    description: Seconds C(wait_inflight) waits for pending transactions to finish.
    type: float
    default: 300
  poll_interval:
    description: Seconds between two polls of C(wait_inflight).
    type: float
    default: 1
  request_timeout:
    description: Seconds one API request may take (the engine answers commands within 60 s).
    type: float
    default: 90
attributes:
  check_mode:
    support: full
    details:
      - Reads the trading state and the pending transactions and reports what would change without
        calling a mutating endpoint. C(cancel_pending) predicts from the transactions the engine lists;
        C(withdraw) always predicts a change; C(wait_inflight) waits as in a real run.
"""

EXAMPLES = r"""
- name: Disable trading gracefully
  mevops.infra.mev_engine_control:
    action: disable
    api_url: "{{ mev_engine_api_url }}"
    api_token: "{{ vault_mev_api_token }}"
    reason: maintenance

- name: Wait for in-flight transactions, at most 5 minutes
  mevops.infra.mev_engine_control:
    action: wait_inflight
    api_url: "{{ mev_engine_api_url }}"
    api_token: "{{ vault_mev_api_token }}"
    timeout: 300

- name: Emergency stop, cancel what is pending, sweep to cold storage
  block:
    - mevops.infra.mev_engine_control:
        action: emergency_stop
        api_url: "{{ mev_engine_api_url }}"
        api_token: "{{ vault_mev_api_token }}"
        reason: incident
    - mevops.infra.mev_engine_control:
        action: cancel_pending
        api_url: "{{ mev_engine_api_url }}"
        api_token: "{{ vault_mev_api_token }}"
    - mevops.infra.mev_engine_control:
        action: withdraw
        chain: ethereum
        api_url: "{{ mev_engine_api_url }}"
        api_token: "{{ vault_mev_api_token }}"
"""

RETURN = r"""
trading:
  description: Trading state after the action (state, enabled, reason, updated_at, cold_start).
  returned: for status, enable, disable and emergency_stop
  type: dict
previous:
  description: Trading state before the action.
  returned: for enable, disable and emergency_stop
  type: str
status:
  description: The engine's full status document.
  returned: for status
  type: dict
pending:
  description: Pending transactions (at the end of wait_inflight, or before cancel_pending).
  returned: for wait_inflight and cancel_pending
  type: list
waited:
  description: Seconds wait_inflight waited.
  returned: for wait_inflight
  type: float
cancelled:
  description: Cancels sent (chain, nonce, tx_hash, replaces, max_fee_per_gas).
  returned: for cancel_pending
  type: list
failed:
  description: Nonces the node refused to replace (chain, nonce, error).
  returned: for cancel_pending
  type: list
withdrawal:
  description: The withdrawal (chain, tx_hash, to, amount_wei, fee_wei, nonce).
  returned: for withdraw when not in check mode
  type: dict
error_state:
  description:
    - One word for a failure - unreachable, timeout, unauthorized, refused, unavailable, server_error,
      http_error, bad_response, or pending (wait_inflight timed out).
  returned: on failure
  type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mevops.infra.plugins.module_utils.mev_engine_api import (
    STATE_ACTIONS,
    EngineApi,
    EngineApiError,
    switch_trading,
)

_ACTIONS = ["status", *STATE_ACTIONS, "wait_inflight", "cancel_pending", "withdraw"]


def pending(api, chain):
    return api.get("/api/v1/transactions", status="pending", chain=chain, limit=1000)["transactions"]


def wait_inflight(module, api):
    params = module.params
    started = time.monotonic()
    deadline = started + params["timeout"]
    while True:
        left = pending(api, params["chain"])
        waited = round(time.monotonic() - started, 3)
        if not left:
            return {"changed": False, "pending": [], "waited": waited}
        if time.monotonic() + params["poll_interval"] > deadline:
            shown = ", ".join(f"{t.get('chain')}:{t.get('tx_hash')} (nonce {t.get('nonce')})" for t in left[:10])
            module.fail_json(
                msg=f"{len(left)} transaction(s) still pending after {waited:g} s: {shown}",
                pending=left,
                waited=waited,
                error_state="pending",
            )
        time.sleep(params["poll_interval"])


def cancel_pending(module, api):
    chain = module.params["chain"]
    left = pending(api, chain)
    result = {"changed": bool(left), "pending": left, "cancelled": [], "failed": []}
    if module.check_mode:
        return result
    # Asked even when the engine lists nothing: its cancel also covers the node's latest..pending
    # nonce range of the hot wallet, which holds transactions the engine's table does not know.
    answer = api.post("/api/v1/transactions/cancel", {"chain": chain} if chain else {})
    result.update(cancelled=answer.get("cancelled", []), failed=answer.get("failed", []))
    result["changed"] = bool(result["cancelled"])
    if result["failed"]:
        shown = "; ".join(f"{f.get('chain')} nonce {f.get('nonce')}: {f.get('error')}" for f in result["failed"])
        module.fail_json(msg=f"{len(result['failed'])} pending nonce(s) could not be cancelled: {shown}", **result)
    return result


def withdraw(module, api):
    params = module.params
    if not params["chain"]:
        module.fail_json(msg="chain is required for action=withdraw")
    if module.check_mode:
        return {"changed": True}
    body = {"chain": params["chain"]}
    if params["to"]:
        body["to"] = params["to"]
    return {"changed": True, "withdrawal": api.post("/api/v1/wallet/withdraw", body)}


def main():
    module = AnsibleModule(
        argument_spec={
            "action": {"type": "str", "required": True, "choices": _ACTIONS},
            "api_url": {"type": "str", "required": True},
            "api_token": {"type": "str", "required": True, "no_log": True},
            "reason": {"type": "str"},
            "chain": {"type": "str"},
            "to": {"type": "str"},
            "timeout": {"type": "float", "default": 300},
            "poll_interval": {"type": "float", "default": 1},
            "request_timeout": {"type": "float", "default": 90},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["poll_interval"] <= 0 or params["timeout"] < 0:
        module.fail_json(msg="poll_interval must be > 0 and timeout >= 0")
    try:
        api = EngineApi(params["api_url"], params["api_token"], timeout=params["request_timeout"])
        action = params["action"]
        if action == "status":
            status = api.get("/api/v1/status")
            result = {"changed": False, "status": status, "trading": status.get("trading")}
        elif action in STATE_ACTIONS:
            result = switch_trading(api, action, params["reason"], module.check_mode)
        elif action == "wait_inflight":
            result = wait_inflight(module, api)
        elif action == "cancel_pending":
            result = cancel_pending(module, api)
        else:
            result = withdraw(module, api)
    except EngineApiError as exc:
        module.fail_json(msg=exc.reason, error_state=exc.state, http_status=exc.status)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
