"""Each engine unit's environment file holds only what its component needs: the role's mapping
(roles/mev_engine/vars/main.yml) is the engine's (config.py COMPONENT_SECRETS), and the HTTP-facing
mev-monitoring never gets the keystore password."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parents[3]


def engine_mapping() -> dict[str, list[str]]:
    tree = ast.parse((TOP / "files" / "mev_engine" / "src" / "mev_engine" / "config.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == [
            "COMPONENT_SECRETS"
        ]:
            return {key: list(value) for key, value in ast.literal_eval(node.value).items()}
    raise AssertionError("COMPONENT_SECRETS not found in the engine's config.py")


def test_the_role_gives_each_unit_what_the_engine_requires_of_it():
    role = yaml.safe_load((TOP / "roles" / "mev_engine" / "vars" / "main.yml").read_text())
    assert role["_mev_engine_component_secrets"] == engine_mapping()
    assert sorted(role["_mev_engine_component_secrets"]) == sorted(role["_mev_engine_components"])
    assert set(role["_mev_engine_secret_values"]) == {n for names in engine_mapping().values() for n in names}


def test_only_execution_can_decrypt_the_hot_key():
    holders = [c for c, names in engine_mapping().items() if "MEV_KEYSTORE_PASSWORD" in names]
    assert holders == ["execution"]
