"""mevops.infra.playbook_vars: a playbook's variables from one spec, and the playbooks' vars files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from playbook import TOP, run_playbook

from ansible_collections.mevops.infra.plugins.lookup.playbook_vars import resolve

SPEC = {
    "demo_tasks": {"type": "list", "elements": "str", "choices": ["a", "b"], "default": ["a"]},
    "demo_timeout": {"type": "int", "default": 300},
    "demo_version": {"type": "str", "required": True},
}


def test_a_set_variable_wins_over_the_default():
    assert resolve(SPEC, {"demo_timeout": 5, "other": 1}) == {"demo_tasks": ["a"], "demo_timeout": 5}


def test_a_required_variable_left_unset_is_left_out():
    # validate_argument_spec, given the same spec, then names it as missing.
    assert "demo_version" not in resolve(SPEC, {})
    assert resolve(SPEC, {"demo_version": "0.2.0"})["demo_version"] == "0.2.0"


def test_set_values_are_templated():
    assert resolve(SPEC, {"demo_timeout": "{{ 2 }}"}, template=lambda v: 2)["demo_timeout"] == 2


def _check(tmp_path: Path, name: str, extra: dict) -> tuple[int, str]:
    """Validate playbooks/vars/<name>.yml's variables with `extra` as -e, as the playbook's first task does."""
    play = tmp_path / "check.yml"
    play.write_text(
        f"""
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{TOP}/playbooks/vars/{name}.yml]
  tasks:
    - ansible.builtin.validate_argument_spec:
        argument_spec: "{{{{ {name}_spec }}}}"
        provided_arguments: "{{{{ {name} }}}}"
    - ansible.builtin.copy:
        content: "{{{{ {name} | to_json }}}}"
        dest: {tmp_path}/values.json
        mode: "0600"
"""
    )
    proc = run_playbook(["-i", "localhost,", str(play), "-e", json.dumps(extra)])
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", sorted(p.stem for p in (TOP / "playbooks" / "vars").glob("*.yml")))
def test_each_spec_has_a_default_or_is_required(name):
    """Each playbook's vars file: a spec whose options carry its prefix, a description, a default or required,
    the values through the lookup, and the playbook validating them first."""
    text = (TOP / "playbooks" / "vars" / f"{name}.yml").read_text()
    assert f"{name}: \"{{{{ lookup('mevops.infra.playbook_vars', {name}_spec) }}}}\"" in text
    playbook = (TOP / "playbooks" / f"{name}.yml").read_text()
    assert (
        f'argument_spec: "{{{{ {name}_spec }}}}"' in playbook and f'provided_arguments: "{{{{ {name} }}}}"' in playbook
    )
    spec = yaml.safe_load((TOP / "playbooks" / "vars" / f"{name}.yml").read_text())[f"{name}_spec"]
    for option, entry in spec.items():
        # enable_trading: cold_start's switch, named as the runbooks and the README say it.
        assert option.startswith(f"{name}_") or option in {"enable_trading"}, option
        assert ("default" in entry) != bool(entry.get("required")), option
        assert entry.get("description"), option


def test_maintenance_takes_its_defaults_and_names_every_bad_variable(tmp_path):
    rc, out = _check(tmp_path, "maintenance", {"maintenance_tasks": ["packages"], "maintenance_backup": True})
    assert rc == 0, out
    values = json.loads((tmp_path / "values.json").read_text())
    assert values["maintenance_tasks"] == ["packages"] and values["maintenance_backup"] is True
    assert values["maintenance_inflight_timeout"] == 300 and values["maintenance_serial"] == 1
    rc, out = _check(
        tmp_path,
        "maintenance",
        {"maintenance_tasks": ["pkgs"], "maintenance_inflight_timeout": "soon", "maintenance_backup": "yes"},
    )
    assert rc != 0
    for name in ("maintenance_tasks", "maintenance_inflight_timeout", "maintenance_backup"):
        assert name in out, (name, out)


def test_upgrade_engine_requires_the_version(tmp_path):
    rc, out = _check(tmp_path, "upgrade_engine", {})
    assert rc != 0 and "upgrade_engine_version" in out, out
    rc, out = _check(tmp_path, "upgrade_engine", {"upgrade_engine_version": "0.2.0"})
    assert rc == 0, out
