#!/usr/bin/python
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Ansible module evm_balance: balances of addresses on EVM chains, against thresholds."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: evm_balance
short_description: Read balances of addresses on EVM chains, in wei and ETH, against warning and critical thresholds
version_added: "0.1.0"
description:
  - Reads C(eth_getBalance) at C(latest) for every address on every chain (one batched JSON-RPC
    request per chain) and classifies each balance as C(ok), C(warning) (below O(warning_eth)) or
    C(critical) (below O(critical_eth)).
  - Amounts are exact - C(wei) an integer, C(eth) a decimal string - never floats.
  - Fails when a chain does not answer, and, with O(fail_on), when a balance is at or past a level.
    Read-only (never changed); standard library only on the managed host.
author:
  - mevops.infra developers (@mevops)
extends_documentation_fragment:
  - mevops.infra.attributes
  - mevops.infra.attributes.read_only
  - mevops.infra.evm_chains.with_addresses
options:
  addresses:
    description: Addresses read on every chain that lists none of its own (0x and 40 hex digits).
    type: list
    elements: str
    default: []
  warning_eth:
    description: A balance below this many ETH is C(warning).
    type: str
    default: "0"
  critical_eth:
    description: A balance below this many ETH is C(critical) (not above O(warning_eth)).
    type: str
    default: "0"
  fail_on:
    description: Fail when a balance is at this level or worse; C(never) only reports.
    type: str
    choices: [never, warning, critical]
    default: never
  timeout:
    description: Seconds per JSON-RPC request.
    type: float
    default: 5
"""

EXAMPLES = r"""
- name: Check the hot wallets before enabling trading (runbook minimum 0.5 ETH)
  mevops.infra.evm_balance:
    chains: "{{ evm_node_endpoints }}"
    addresses: ["{{ hot_wallet }}"]
    warning_eth: "1"
    critical_eth: "0.5"
    fail_on: critical
  register: balances
"""

RETURN = r"""
balances:
  description: One entry per chain and address - chain, address, wei (int), eth (decimal string), level.
  returned: always
  type: list
warning:
  description: Entries at level warning.
  returned: always
  type: list
critical:
  description: Entries at level critical.
  returned: always
  type: list
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mevops.infra.plugins.module_utils.common_args import evm_chains_common_argument_spec
from ansible_collections.mevops.infra.plugins.module_utils.jsonrpc import (
    JsonRpcClient,
    RpcFailure,
    display_url,
    hex_to_int,
)
from ansible_collections.mevops.infra.plugins.module_utils.units import eth_to_wei, wei_to_eth

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_LEVELS = {"never": 3, "critical": 2, "warning": 1}
_RANK = {"ok": 0, "warning": 1, "critical": 2}


def level(wei, warning_wei, critical_wei):
    if wei < critical_wei:
        return "critical"
    if wei < warning_wei:
        return "warning"
    return "ok"


def main():
    module = AnsibleModule(
        argument_spec={
            **evm_chains_common_argument_spec(addresses=True),
            "addresses": {"type": "list", "elements": "str", "default": []},
            "warning_eth": {"type": "str", "default": "0"},
            "critical_eth": {"type": "str", "default": "0"},
            "fail_on": {"type": "str", "choices": ["never", "warning", "critical"], "default": "never"},
            "timeout": {"type": "float", "default": 5},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        warning_wei, critical_wei = eth_to_wei(params["warning_eth"]), eth_to_wei(params["critical_eth"])
    except ValueError as exc:
        module.fail_json(msg=f"warning_eth/critical_eth: {exc}")
    if critical_wei > warning_wei:
        module.fail_json(
            msg=f"critical_eth ({params['critical_eth']}) must not be above warning_eth ({params['warning_eth']})"
        )

    balances, errors = [], []
    for chain in params["chains"]:
        addresses = chain["addresses"] if chain["addresses"] is not None else params["addresses"]
        bad = [a for a in addresses if not _ADDRESS.match(a)]
        if bad:
            module.fail_json(msg=f"{chain['name']}: not addresses (0x and 40 hex digits): {', '.join(bad)}")
        if not addresses:
            continue
        client = JsonRpcClient(chain["url"], timeout=params["timeout"])
        try:
            answers = client.batch([("eth_getBalance", [a, "latest"]) for a in addresses])
            for index, address in enumerate(addresses):
                wei = hex_to_int(answers[index])
                balances.append({"chain": chain["name"], "address": address, "wei": wei, "eth": wei_to_eth(wei),
                                 "level": level(wei, warning_wei, critical_wei)})  # fmt: skip
        except RpcFailure as exc:
            errors.append(f"{chain['name']} ({display_url(chain['url'])}): {exc}")
    result = {
        "changed": False,
        "balances": balances,
        "warning": [b for b in balances if b["level"] == "warning"],
        "critical": [b for b in balances if b["level"] == "critical"],
    }
    if errors:
        module.fail_json(msg="cannot read balances: " + "; ".join(errors), **result)
    worst = [b for b in balances if _RANK[b["level"]] >= _LEVELS[params["fail_on"]]]
    if worst:
        shown = ", ".join(f"{b['chain']} {b['address']} {b['eth']} ETH ({b['level']})" for b in worst)
        module.fail_json(msg=f"{len(worst)} balance(s) at {params['fail_on']} or worse: {shown}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
