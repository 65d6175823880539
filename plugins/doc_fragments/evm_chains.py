# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""The `chains` option of the modules that work on several EVM chains, written once.

Declared by `evm_chains_common_argument_spec()` in module_utils/common_args.py; the variant
`with_addresses` adds the per-chain address list of the modules that read addresses. Fragments
must be string literals (ansible-test reads them without importing), so the variant repeats the
common part; tests/unit/plugins/doc_fragments holds both to the argument spec.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
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

    WITH_ADDRESSES = r"""
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
      addresses:
        description: Addresses on this chain; defaults to O(addresses).
        type: list
        elements: str
"""
