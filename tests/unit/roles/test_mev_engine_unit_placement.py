"""CPU placement and priority of the engine's units: mev-detection and mev-execution on the CPUs
host tuning sets aside (host_tuning_isolated_cpus, one variable read through host_tuning's
`interface` entry point), Nice= and CPUSchedulingPolicy= per component, and no affinity line
while no CPUs are set aside. The unit template is rendered by Ansible with the roles' defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from playbook import TOP, run_playbook
from preflight import run_preflight

COMPONENTS = ("monitoring", "detection", "calculation", "execution")
RENDER = """---
- name: Render the engine's unit template as the role does
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read host tuning's public variables, as the mev_engine role does
      ansible.builtin.import_role:
        name: mevops.infra.host_tuning
        tasks_from: interface

    - name: Read the engine's defaults and fixed variables
      ansible.builtin.import_role:
        name: mevops.infra.mev_engine
        tasks_from: interface

    - name: Render each component's unit
      ansible.builtin.template:
        src: "{{ top }}/roles/mev_engine/templates/mev-engine.service.j2"
        dest: "{{ out_dir }}/mev-{{ item }}.service"
        mode: "0644"
      loop: "{{ _mev_engine_components }}"
      vars:
        _mev_engine_deps: []
"""


def render(tmp_path: Path, variables: dict) -> dict[str, list[str]]:
    """Each component's [Service] lines that place or prioritise it."""
    playbook = tmp_path / "render.yml"
    playbook.write_text(RENDER)
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({**variables, "out_dir": str(tmp_path), "top": str(TOP)}))
    result = run_playbook(["-i", "localhost,", "-e", f"@{extra}", str(playbook)])
    assert result.returncode == 0, result.stdout + result.stderr
    keys = ("CPUAffinity=", "Nice=", "CPUSchedulingPolicy=")
    return {
        c: [line for line in (tmp_path / f"mev-{c}.service").read_text().splitlines() if line.startswith(keys)]
        for c in COMPONENTS
    }


def test_no_cpus_set_aside_no_affinity_line(tmp_path):
    lines = render(tmp_path, {})
    assert lines == {
        "monitoring": [],
        "detection": ["Nice=-10"],
        "calculation": ["Nice=-5"],
        "execution": ["Nice=-10"],
    }


def test_detection_and_execution_on_the_cpus_host_tuning_sets_aside(tmp_path):
    lines = render(
        tmp_path,
        {
            "host_tuning_isolated_cpus": "2-3,6",
            "mev_engine_nice": {"monitoring": 5, "execution": -15},
            "mev_engine_cpu_scheduling_policy": {"monitoring": "batch"},
        },
    )
    assert lines == {
        "monitoring": ["Nice=5", "CPUSchedulingPolicy=batch"],
        "detection": ["CPUAffinity=2-3,6"],
        "calculation": [],
        "execution": ["CPUAffinity=2-3,6", "Nice=-15"],
    }


def test_the_role_reads_the_cores_from_host_tuning_only():
    """One variable: the engine role imports host tuning's interface and declares no copy of the value."""
    main = yaml.safe_load((TOP / "roles" / "mev_engine" / "tasks" / "main.yml").read_text())
    assert main[0]["ansible.builtin.import_role"] == {"name": "mevops.infra.host_tuning", "tasks_from": "interface"}
    for folder in ("defaults", "vars"):
        declared = yaml.safe_load((TOP / "roles" / "mev_engine" / folder / "main.yml").read_text())
        assert "host_tuning_isolated_cpus" not in declared


OK = {
    "mev_engine_api_token": "x" * 40,
    "mev_engine_keystore_password": "a-keystore-password",
    "mev_engine_cold_wallet": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "mev_engine_chains": [{"name": "ethereum", "http_url": "http://127.0.0.1:8545"}],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mev_engine_nice": {"execution": -21}}, "mev_engine_nice"),
        ({"mev_engine_nice": {"executor": -5}}, "mev_engine_nice"),
        ({"mev_engine_cpu_scheduling_policy": {"execution": "fifo"}}, "fifo and rr are refused"),
        ({"mev_engine_pinned_components": ["executor"]}, "mev_engine_pinned_components"),
        ({"host_tuning_isolated_cpus": "2-x"}, 'host_tuning_isolated_cpus="2-x"'),
    ],
)
def test_bad_placement_input_fails_naming_the_variable(tmp_path, change, message):
    result = run_preflight(tmp_path, "mev_engine", {**OK, **change})
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
