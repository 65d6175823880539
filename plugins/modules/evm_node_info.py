#!/usr/bin/python
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Ansible module evm_node_info: the state of one EVM node's JSON-RPC endpoint."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: evm_node_info
short_description: Read the state of an EVM node over JSON-RPC
version_added: "0.1.0"
description:
  - Asks one EVM JSON-RPC endpoint, in a single batch request, for its chain id, client
    version, latest block (number and timestamp), syncing progress and peer count, and
    optionally reads a reference endpoint of the same chain at the same time to report
    how many blocks the node lags behind it.
  - A node that is down is not a task failure. The result's RV(state) says what happened
    (C(ok), C(unreachable), C(timeout), C(http_error), C(rpc_error), C(bad_response)) and
    RV(reason) says it in words, so the playbook decides what to do. Only bad module input
    fails the task.
  - Servers that refuse batch requests are asked one method after another.
  - Needs nothing beyond the Python standard library on the managed host.
  - To wait until nodes are ready, use M(mevops.infra.evm_sync_wait).
author:
  - mevops.infra developers (@mevops)
extends_documentation_fragment:
  - mevops.infra.attributes
  - mevops.infra.attributes.read_only
options:
  url:
    description:
      - The node's HTTP(S) JSON-RPC endpoint, for example V(http://127.0.0.1:8545).
      - Credentials in the URL (V(http://user:password@host:8545)) are sent as Basic
        authentication; the password is masked in the result. Proxy environment
        variables are not used.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for the connection and for each read of the answer.
    type: float
    default: 5
  reference_url:
    description:
      - Another endpoint of the same chain (a trusted node or provider) to measure lag
        against. Read concurrently with O(url).
      - When it is unreachable or on another chain, RV(lag_blocks) is null and
        RV(reference_state) and RV(reference_reason) say why; the node's own state is
        unaffected.
    type: str
  expected_chain_id:
    description:
      - The chain id the node should serve. Adds RV(chain_id_ok) to the result.
    type: int
notes:
  - RV(peer_count) is null where the client does not implement C(net_peerCount) (for
    example anvil) and answers "method not found".
  - C(head_age_seconds) compares the block timestamp with the managed host's clock, so
    it is only as good as that host's time synchronisation.
seealso:
  - module: mevops.infra.evm_sync_wait
"""

EXAMPLES = r"""
- name: Read the state of the base node
  mevops.infra.evm_node_info:
    url: http://127.0.0.1:8546
    expected_chain_id: 8453
  register: __evm_node_base

- name: Fail when the base node is down or on the wrong chain
  ansible.builtin.assert:
    that:
      - __evm_node_base.state == "ok"
      - __evm_node_base.chain_id_ok
    fail_msg: "base node: {{ __evm_node_base.state }}: {{ __evm_node_base.reason }}"

- name: Read every chain of this host with its lag behind a reference provider
  mevops.infra.evm_node_info:
    url: "http://127.0.0.1:{{ item.port }}"
    reference_url: "{{ item.reference | default(omit) }}"
    expected_chain_id: "{{ item.chain_id }}"
    timeout: 2
  loop: "{{ evm_node_chains }}"
  loop_control:
    label: "{{ item.name }}"
  register: __evm_node_health

- name: Report nodes that answer but lag more than 5 blocks
  ansible.builtin.debug:
    msg: "{{ item.item.name }}: {{ item.lag_blocks }} blocks behind"
  loop: "{{ __evm_node_health.results }}"
  loop_control:
    label: "{{ item.item.name }}"
  when: item.lag_blocks is not none and item.lag_blocks > 5
"""

RETURN = r"""
url:
  description: The endpoint asked.
  returned: always
  type: str
  sample: http://127.0.0.1:8546
state:
  description:
    - C(ok) when the node answered; otherwise the kind of failure.
    - C(unreachable) no HTTP conversation (connection refused, name not resolved, reset,
      TLS failure); C(timeout) no connection or no answer within O(timeout);
      C(http_error) an HTTP status other than 2xx; C(rpc_error) a JSON-RPC error to
      C(eth_chainId), C(eth_syncing) or C(eth_getBlockByNumber); C(bad_response) an
      answer that is not JSON-RPC.
  returned: always
  type: str
  sample: ok
reason:
  description:
    - When RV(state) is C(ok), a one-line summary; otherwise the failure in words.
  returned: always
  type: str
  sample: connection refused
chain_id:
  description: The chain id (C(eth_chainId)); null when unknown.
  returned: always
  type: int
  sample: 8453
chain_id_ok:
  description: Whether the node answered with O(expected_chain_id).
  returned: when O(expected_chain_id) is set
  type: bool
  sample: true
client_version:
  description: The client's C(web3_clientVersion); null when unknown or not implemented.
  returned: always
  type: str
  sample: Geth/v1.14.11-stable/linux-amd64/go1.22.8
head_number:
  description: Number of the latest block; null when unknown.
  returned: always
  type: int
  sample: 22345678
head_timestamp:
  description: Unix timestamp of the latest block; null when unknown.
  returned: always
  type: int
  sample: 1745000000
head_age_seconds:
  description:
    - Seconds between the latest block's timestamp and the managed host's clock when the
      answer arrived; negative if the block is stamped in the host's future. Null when unknown.
  returned: always
  type: float
  sample: 3.4
syncing:
  description: Whether C(eth_syncing) reports a sync in progress; null when unknown.
  returned: always
  type: bool
  sample: false
sync_current:
  description: The block the sync has reached; null when not syncing or not reported.
  returned: always
  type: int
  sample: 1234
sync_highest:
  description: The highest block the node knows of while syncing; null when not syncing or not reported.
  returned: always
  type: int
  sample: 5678
peer_count:
  description: Connected peers (C(net_peerCount)); null when the client answers "method not found" or is down.
  returned: always
  type: int
  sample: 25
method_errors:
  description: JSON-RPC errors per method, including optional methods such as C(net_peerCount).
  returned: always
  type: dict
  sample: {"net_peerCount": "net_peerCount: Method not found (code -32601)"}
latency_ms:
  description: Milliseconds the node took to answer (or to fail).
  returned: always
  type: float
  sample: 2.7
reference_url:
  description: O(reference_url), or null.
  returned: always
  type: str
  sample: https://base-rpc.example.net
reference_state:
  description:
    - The reference's state (same words as RV(state), plus C(wrong_chain) when it serves
      another chain than the node); null without O(reference_url).
  returned: always
  type: str
  sample: ok
reference_reason:
  description: Why the reference is unusable; empty when it answered; null without O(reference_url).
  returned: always
  type: str
  sample: ""
reference_head_number:
  description: The reference's latest block number; null when unknown or without O(reference_url).
  returned: always
  type: int
  sample: 22345680
lag_blocks:
  description:
    - Reference head minus node head (negative when the node is ahead); null without a
      usable reference or when the node's head is unknown.
  returned: always
  type: int
  sample: 2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mevops.infra.plugins.module_utils.evm import probe_node
from ansible_collections.mevops.infra.plugins.module_utils.jsonrpc import JsonRpcClient, display_url


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "timeout": {"type": "float", "default": 5.0},
            "reference_url": {"type": "str"},
            "expected_chain_id": {"type": "int"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] <= 0:
        module.fail_json(msg=f"timeout must be a positive number of seconds, got {params['timeout']}")
    for option in ("url", "reference_url"):
        if params[option] is not None:
            try:
                JsonRpcClient(params[option], params["timeout"])
            except ValueError as exc:
                module.fail_json(msg=f"{option}: {exc}")

    info = probe_node(params["url"], params["timeout"], params["reference_url"])
    info["url"] = display_url(params["url"])
    if params["reference_url"] is not None:
        info["reference_url"] = display_url(params["reference_url"])
    if params["expected_chain_id"] is not None:
        info["chain_id_ok"] = info["chain_id"] == params["expected_chain_id"]
    module.exit_json(changed=False, **info)


if __name__ == "__main__":
    main()
