"""The shared module docs (plugins/doc_fragments) say what the shared argument specs declare."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ansible_collections.mevops.infra.plugins.doc_fragments.attributes import ModuleDocFragment as Attributes
from ansible_collections.mevops.infra.plugins.doc_fragments.evm_chains import ModuleDocFragment as Chains
from ansible_collections.mevops.infra.plugins.module_utils.common_args import evm_chains_common_argument_spec


def as_spec(documented: dict[str, Any]) -> dict[str, Any]:
    """An option's documentation reduced to what an argument spec declares."""
    spec = {key: documented[key] for key in ("type", "elements", "required") if key in documented}
    if "suboptions" in documented:
        spec["options"] = {name: as_spec(sub) for name, sub in documented["suboptions"].items()}
    return spec


def as_declared(spec: dict[str, Any]) -> dict[str, Any]:
    declared = {key: spec[key] for key in ("type", "elements", "required") if key in spec}
    if "options" in spec:
        declared["options"] = {name: as_declared(sub) for name, sub in spec["options"].items()}
    return declared


@pytest.mark.parametrize(("fragment", "addresses"), [(Chains.DOCUMENTATION, False), (Chains.WITH_ADDRESSES, True)])
def test_chains_fragment_documents_the_common_argument_spec(fragment: str, addresses: bool) -> None:
    documented = yaml.safe_load(fragment)["options"]
    declared = evm_chains_common_argument_spec(addresses=addresses)
    assert {name: as_spec(doc) for name, doc in documented.items()} == {
        name: as_declared(spec) for name, spec in declared.items()
    }


def test_with_addresses_only_adds_the_address_list() -> None:
    common = yaml.safe_load(Chains.DOCUMENTATION)["options"]["chains"]
    extended = yaml.safe_load(Chains.WITH_ADDRESSES)["options"]["chains"]
    extended["suboptions"].pop("addresses")
    assert extended == common


def test_attribute_variants_only_state_support() -> None:
    described = yaml.safe_load(Attributes.DOCUMENTATION)["attributes"]
    assert all(value.get("description") for value in described.values())
    for variant in (Attributes.READ_ONLY, Attributes.NO_DIFF):
        for name, value in yaml.safe_load(variant)["attributes"].items():
            assert name in described
            assert "description" not in value and value["support"] in ("full", "partial", "none")
