#!/usr/bin/python
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Ansible module evm_sync_wait: wait until EVM nodes are synced and fresh, or say which are not."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: evm_sync_wait
short_description: Wait until EVM nodes are synced, fresh and on the right chain
version_added: "0.1.0"
description:
  - Polls every endpoint concurrently, round after round, until each one is ready; returns
    as soon as all of them are ready in the same round. The first round starts at once.
  - An endpoint is ready when it answers, serves its expected chain id (when given), is
    not syncing (C(eth_syncing) is false), its latest block is younger than
    O(max_head_age) seconds, and, when it has a reference endpoint, it is at most its
    O(endpoints[].max_lag_blocks) blocks behind that reference.
  - >-
    At O(timeout) it fails with one line per endpoint that is not ready, saying what is
    missing, such as "base (http://127.0.0.1:8546): still syncing 1234/5678",
    "wrong chain id 5 (expected 8453)", "head 95 s old (max 60)",
    "unreachable: connection refused" or "12 blocks behind reference (max 3)".
  - This replaces the runbook's fixed C(sleep 300) before starting the engine.
  - Uses the same probe as M(mevops.infra.evm_node_info) and needs nothing beyond the
    Python standard library on the managed host.
author:
  - mevops.infra developers (@mevops)
extends_documentation_fragment:
  - mevops.infra.attributes
  - mevops.infra.attributes.read_only
options:
  endpoints:
    description:
      - The nodes to wait for.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - A unique name for the endpoint (usually the chain), used in messages and as the
            key of RV(endpoints).
        type: str
        required: true
      url:
        description:
          - The node's HTTP(S) JSON-RPC endpoint. The password of credentials in the URL is
            masked in messages and results.
        type: str
        required: true
      chain_id:
        description:
          - The chain id the node must serve. Not checked when omitted.
        type: int
      reference_url:
        description:
          - Another endpoint of the same chain to measure lag against; read concurrently
            with O(endpoints[].url).
        type: str
      max_lag_blocks:
        description:
          - Most blocks the node may be behind O(endpoints[].reference_url).
          - Defaults to O(max_lag_blocks). Needs O(endpoints[].reference_url).
        type: int
      max_head_age:
        description:
          - Overrides O(max_head_age) for this endpoint (chains with slow or irregular blocks).
        type: float
  max_head_age:
    description:
      - Most seconds the latest block of each node may be old.
    type: float
    default: 60
  max_lag_blocks:
    description:
      - Default for O(endpoints[].max_lag_blocks) of endpoints with a reference.
    type: int
    default: 3
  timeout:
    description:
      - Seconds to wait for all endpoints before failing.
      - With V(0), check once and fail unless all are ready.
    type: float
    default: 600
  poll_interval:
    description:
      - Seconds from the start of one polling round to the start of the next. Not a delay
        before the first round, which starts at once.
    type: float
    default: 2
  request_timeout:
    description:
      - Seconds each endpoint has to answer within a round. The rounds never run past
        O(timeout) by more than one second (or this value, if shorter).
    type: float
    default: 5
attributes:
  check_mode:
    support: full
    details:
      - Waiting changes nothing, so check mode waits the same way; it never reports a change.
notes:
  - Head age compares block timestamps with the managed host's clock.
  - An endpoint whose reference is unreachable is not ready, because its lag cannot be checked.
seealso:
  - module: mevops.infra.evm_node_info
"""

EXAMPLES = r"""
# Cold start: gate the engine on every chain being synced and fresh, instead of `sleep 300`.
# group_vars/evm_nodes.yml:
#   evm_node_sync_endpoints:
#     - {name: ethereum, url: "http://127.0.0.1:8545", chain_id: 1}
#     - {name: base, url: "http://127.0.0.1:8546", chain_id: 8453}
#     - {name: polygon, url: "http://127.0.0.1:8547", chain_id: 137}
#     - {name: arbitrum, url: "http://127.0.0.1:8548", chain_id: 42161}
#     - {name: optimism, url: "http://127.0.0.1:8549", chain_id: 10}
#     - {name: avalanche, url: "http://127.0.0.1:8550", chain_id: 43114}
- name: Wait until all six chains are synced and their heads are fresh
  mevops.infra.evm_sync_wait:
    endpoints: "{{ evm_node_sync_endpoints }}"
    max_head_age: 60
    timeout: 1800
  register: __evm_node_sync

- name: Show how long the chains took to become ready
  ansible.builtin.debug:
    msg: "all chains ready after {{ __evm_node_sync.elapsed }} s ({{ __evm_node_sync.rounds }} rounds)"

- name: Wait for the base node to be within 3 blocks of a reference provider
  mevops.infra.evm_sync_wait:
    endpoints:
      - name: base
        url: http://127.0.0.1:8546
        chain_id: 8453
        reference_url: "{{ evm_node_base_reference_url }}"
        max_lag_blocks: 3
    max_head_age: 30
    timeout: 900
    poll_interval: 5
"""

RETURN = r"""
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 3.2
rounds:
  description: Polling rounds done (1 when everything was ready at once).
  returned: always
  type: int
  sample: 2
ready:
  description: Whether every endpoint was ready (false only in a failed result).
  returned: always
  type: bool
  sample: true
endpoints:
  description:
    - Per endpoint name, its state in the last round. Each value holds every key
      M(mevops.infra.evm_node_info) returns (C(state), C(reason), C(chain_id),
      C(head_number), C(head_age_seconds), C(syncing), C(sync_current), C(sync_highest),
      C(peer_count), C(lag_blocks), ...) plus the keys below.
  returned: always
  type: dict
  contains:
    ready:
      description: Whether the endpoint was ready.
      type: bool
      sample: false
    problems:
      description: What keeps it from being ready, in words; empty when ready.
      type: list
      elements: str
      sample: ["still syncing 1234/5678"]
  sample:
    base:
      url: http://127.0.0.1:8546
      state: ok
      chain_id: 8453
      syncing: true
      sync_current: 1234
      sync_highest: 5678
      ready: false
      problems: ["still syncing 1234/5678"]
"""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Tuple

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mevops.infra.plugins.module_utils.evm import probe_many, readiness
from ansible_collections.mevops.infra.plugins.module_utils.jsonrpc import JsonRpcClient, display_url

# In the last round before the timeout, each request still gets this long (or request_timeout).
_FINAL_ROUND_SECONDS = 1.0


def _check_input(module: AnsibleModule) -> None:
    params = module.params
    if params["timeout"] < 0:
        module.fail_json(msg=f"timeout must be 0 or more seconds, got {params['timeout']}")
    for option in ("poll_interval", "request_timeout", "max_head_age"):
        if params[option] <= 0:
            module.fail_json(msg=f"{option} must be a positive number of seconds, got {params[option]}")
    if params["max_lag_blocks"] < 0:
        module.fail_json(msg=f"max_lag_blocks must be 0 or more, got {params['max_lag_blocks']}")
    if not params["endpoints"]:
        module.fail_json(msg="endpoints is empty: give at least one endpoint to wait for")
    names = [endpoint["name"] for endpoint in params["endpoints"]]
    for name in names:
        if names.count(name) > 1:
            module.fail_json(msg=f"endpoints: the name {name!r} appears more than once; names must be unique")
    for endpoint in params["endpoints"]:
        _check_endpoint(module, endpoint)


def _check_endpoint(module: AnsibleModule, endpoint: Dict[str, Any]) -> None:
    name = endpoint["name"]
    for option in ("url", "reference_url"):
        if endpoint[option] is not None:
            try:
                JsonRpcClient(endpoint[option], module.params["request_timeout"])
            except ValueError as exc:
                module.fail_json(msg=f"endpoints[{name}].{option}: {exc}")
    if endpoint["max_head_age"] is not None and endpoint["max_head_age"] <= 0:
        module.fail_json(msg=f"endpoints[{name}].max_head_age must be positive, got {endpoint['max_head_age']}")
    if endpoint["max_lag_blocks"] is not None and endpoint["max_lag_blocks"] < 0:
        module.fail_json(msg=f"endpoints[{name}].max_lag_blocks must be 0 or more, got {endpoint['max_lag_blocks']}")


def _assess(endpoint: Dict[str, Any], info: Dict[str, Any], params: Dict[str, Any]) -> Dict[str, Any]:
    max_lag = None
    if endpoint["reference_url"] is not None:
        max_lag = endpoint["max_lag_blocks"] if endpoint["max_lag_blocks"] is not None else params["max_lag_blocks"]
    max_age = endpoint["max_head_age"] if endpoint["max_head_age"] is not None else params["max_head_age"]
    problems = readiness(info, endpoint["chain_id"], max_age, max_lag)
    result = dict(info, ready=not problems, problems=problems)
    result["url"] = display_url(endpoint["url"])
    if endpoint["reference_url"] is not None:
        result["reference_url"] = display_url(endpoint["reference_url"])
    return result


def wait_until_ready(params: Dict[str, Any]) -> Tuple[bool, Dict[str, Dict[str, Any]], int, float]:
    """Poll all endpoints concurrently until all are ready or the timeout passes.

    Returns (all ready, per-name results of the last round, rounds, elapsed seconds).
    """
    endpoints = params["endpoints"]
    targets = [(endpoint["url"], endpoint["reference_url"]) for endpoint in endpoints]
    started = time.monotonic()
    deadline = started + params["timeout"]
    rounds = 0
    # Node and reference of one endpoint are read at the same time inside probe_node.
    with ThreadPoolExecutor(max_workers=min(32, len(endpoints))) as pool:
        while True:
            rounds += 1
            round_started = time.monotonic()
            remaining = deadline - round_started
            request_timeout = min(params["request_timeout"], max(remaining, _FINAL_ROUND_SECONDS))
            infos = probe_many(targets, request_timeout, pool)
            results = {endpoint["name"]: _assess(endpoint, infos[i], params) for i, endpoint in enumerate(endpoints)}
            now = time.monotonic()
            if all(result["ready"] for result in results.values()):
                return True, results, rounds, now - started
            if now >= deadline:
                return False, results, rounds, now - started
            # Re-poll period, not a fixed delay: wait out the rest of the interval, never past the deadline.
            next_round = min(round_started + params["poll_interval"], deadline)
            if next_round > now:
                time.sleep(next_round - now)


def failure_message(results: Dict[str, Dict[str, Any]], elapsed: float) -> str:
    lagging = [(name, result) for name, result in results.items() if not result["ready"]]
    lines = [f"{len(lagging)} of {len(results)} chains not ready after {elapsed:.1f}s:"]
    lines.extend(f"{name} ({result['url']}): {'; '.join(result['problems'])}" for name, result in lagging)
    return "\n".join(lines)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "endpoints": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "url": {"type": "str", "required": True},
                    "chain_id": {"type": "int"},
                    "reference_url": {"type": "str"},
                    "max_lag_blocks": {"type": "int"},
                    "max_head_age": {"type": "float"},
                },
                "required_by": {"max_lag_blocks": "reference_url"},
            },
            "max_head_age": {"type": "float", "default": 60.0},
            "max_lag_blocks": {"type": "int", "default": 3},
            "timeout": {"type": "float", "default": 600.0},
            "poll_interval": {"type": "float", "default": 2.0},
            "request_timeout": {"type": "float", "default": 5.0},
        },
        supports_check_mode=True,
    )
    _check_input(module)

    ready, results, rounds, elapsed = wait_until_ready(module.params)
    outcome: Dict[str, Any] = {
        "changed": False,
        "ready": ready,
        "elapsed": round(elapsed, 2),
        "rounds": rounds,
        "endpoints": results,
    }
    if not ready:
        module.fail_json(msg=failure_message(results, elapsed), **outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
