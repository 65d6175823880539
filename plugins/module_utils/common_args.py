# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Options that several modules share, declared once (as community.postgresql's
postgres_common_argument_spec()). Each has a doc fragment of the same shape in plugins/doc_fragments."""

from __future__ import annotations

from typing import Any


def evm_chains_common_argument_spec(addresses: bool = False) -> dict[str, Any]:
    """The `chains` option (doc fragment mevops.infra.evm_chains, or .with_addresses with `addresses`)."""
    suboptions: dict[str, Any] = {
        "name": {"type": "str", "required": True},
        "url": {"type": "str", "required": True},
    }
    if addresses:
        suboptions["addresses"] = {"type": "list", "elements": "str"}
    return {"chains": {"type": "list", "elements": "dict", "required": True, "options": suboptions}}
