# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""The `chains` option of the modules that work on several EVM chains, written once.

Declared by `evm_chains_common_argument_spec()` in module_utils/common_args.py; the variant
`with_addresses` adds the per-chain address list of the modules that read addresses.
"""

from __future__ import annotations

_CHAINS = r"""
options:
  chains:
    description: Chains to work on, each with its JSON-RPC endpoint.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Chain name, for results and messages.
        type: str
        required: true
      url:
        description: JSON-RPC HTTP endpoint.
        type: str
        required: true
"""

_ADDRESSES = r"""
      addresses:
        description: Addresses on this chain; defaults to O(addresses).
        type: list
        elements: str
"""


class ModuleDocFragment:
    DOCUMENTATION = _CHAINS
    WITH_ADDRESSES = _CHAINS.rstrip("\n") + _ADDRESSES
