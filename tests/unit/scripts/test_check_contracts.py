"""scripts/check-contracts.py: fails on planted contract violations, passes on a clean tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

TOP = Path(__file__).resolve().parents[3]
SCRIPT = TOP / "scripts" / "check-contracts.py"


def run(top: Path) -> tuple[int, list[str]]:
    result = subprocess.run([sys.executable, str(SCRIPT), str(top)], capture_output=True, text=True, check=False)
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("contracts: ")
    return result.returncode, lines[:-1]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two roles and a playbook that keep every contract."""
    write(
        tmp_path / "roles/evm_node/meta/argument_specs.yml",
        """
        ---
        argument_specs:
          main: {short_description: Nodes, options: {}}
          preflight: {short_description: The units, options: {}}
        """,
    )
    write(
        tmp_path / "roles/evm_node/tasks/preflight.yml",
        """
        ---
        - name: Compute the units
          ansible.builtin.set_fact:
            _evm_node_units: [geth]
            evm_node_units: "{{ _evm_node_units }}"
        """,
    )
    write(tmp_path / "roles/evm_node/templates/unit.j2", "{{ _evm_node_units | join(' ') }}\n")
    write(
        tmp_path / "roles/monitoring/meta/argument_specs.yml",
        """
        ---
        argument_specs:
          main: {short_description: Monitoring, options: {}}
        """,
    )
    write(
        tmp_path / "roles/monitoring/tasks/main.yml",
        """
        ---
        - name: Read the nodes' units
          ansible.builtin.include_role:
            name: mevops.infra.evm_node
            tasks_from: preflight.yml
        - name: Register a result of its own
          ansible.builtin.command: "true"
          register: __monitoring_result
          changed_when: false
        """,
    )
    write(tmp_path / "roles/monitoring/handlers/main.yml", "---\n[]\n")
    write(
        tmp_path / "playbooks/cold_start.yml",
        """
        ---
        - name: Start the nodes
          hosts: evm_nodes
          tasks:
            - name: Compute the units
              ansible.builtin.include_role:
                name: evm_node
                tasks_from: preflight
            - name: Start them
              ansible.builtin.debug:
                msg: "{{ evm_node_units }} {{ _cold_start_own }}"
        """,
    )
    return tmp_path


def test_clean_tree_passes(tree: Path) -> None:
    assert run(tree) == (0, [])


def test_playbook_reading_a_private_fact_fails(tree: Path) -> None:
    write(
        tree / "playbooks/tasks/start.yml",
        """
        ---
        - name: Start the nodes
          ansible.builtin.debug:
            msg: "{{ _evm_node_units | selectattr('enabled') }}"
        """,
    )
    assert run(tree) == (
        1,
        ["playbooks/tasks/start.yml: reads _evm_node_units, a private variable of role evm_node"],
    )


def test_setting_or_reading_another_roles_private_variables_fails(tree: Path) -> None:
    write(
        tree / "roles/monitoring/handlers/main.yml",
        """
        ---
        - name: Restart prometheus
          ansible.builtin.include_role:
            name: mevops.infra.evm_node
            tasks_from: preflight
          vars:
            _evm_node_enabled: true
          when: __evm_node_status.rc == 0
        """,
    )
    assert run(tree) == (
        1,
        [
            "roles/monitoring/handlers/main.yml: sets _evm_node_enabled, a private variable of role evm_node",
            "roles/monitoring/handlers/main.yml: reads __evm_node_status, a private variable of role evm_node",
        ],
    )


@pytest.mark.parametrize("action", ["ansible.builtin.include_role", "ansible.builtin.import_role", "include_role"])
@pytest.mark.parametrize("name", ["mevops.infra.evm_node", "evm_node"])
def test_tasks_from_an_entry_point_without_a_spec_fails(tree: Path, action: str, name: str) -> None:
    write(
        tree / "roles/monitoring/tasks/nodes.yml",
        f"""
        ---
        - name: Stop the nodes
          block:
            - name: Stop them
              {action}:
                name: {name}
                tasks_from: stop.yml
        """,
    )
    assert run(tree) == (
        1,
        [
            f"roles/monitoring/tasks/nodes.yml: {action} {name} tasks_from stop.yml: entry point stop has no argument"
            " spec in roles/evm_node/meta/argument_specs.yml"
        ],
    )


def test_tasks_from_looped_over_names_each_entry_point(tree: Path) -> None:
    write(
        tree / "playbooks/stop.yml",
        """
        ---
        - name: Stop
          hosts: all
          tasks:
            - name: Run each step
              ansible.builtin.include_role:
                name: mevops.infra.evm_node
                tasks_from: "{{ item }}"
              loop: [preflight, stop]
        """,
    )
    code, lines = run(tree)
    assert (code, lines) == (
        1,
        [
            "playbooks/stop.yml: ansible.builtin.include_role mevops.infra.evm_node tasks_from stop: entry point stop"
            " has no argument spec in roles/evm_node/meta/argument_specs.yml"
        ],
    )


def test_reaching_outside_the_role_through_role_path_fails(tree: Path) -> None:
    write(
        tree / "roles/monitoring/defaults/main.yml",
        """
        ---
        # The source.
        monitoring_source: "{{ role_path }}/../../files/monitoring"
        """,
    )
    code, lines = run(tree)
    assert code == 1
    assert lines == [
        "roles/monitoring/defaults/main.yml:3: reads a file outside its role through role_path/..;"
        " use lookup('mevops.infra.collection_file', ...)"
    ]


def test_planted_violation_in_a_copy_of_the_collection_is_reported(tmp_path: Path) -> None:
    """The real roles and playbooks: planting a violation adds exactly its lines to what the check says."""
    for sub in ("roles", "playbooks"):
        shutil.copytree(TOP / sub, tmp_path / sub, symlinks=True)
    before = run(tmp_path)[1]
    write(
        tmp_path / "playbooks/planted.yml",
        """
        ---
        - name: A planted violation
          hosts: evm_nodes
          tasks:
            - name: Start the enabled chains' nodes
              ansible.builtin.debug:
                msg: "{{ _evm_node_units }}"
            - name: An entry point without a spec
              ansible.builtin.import_role:
                name: mevops.infra.monitoring
                tasks_from: configure
        """,
    )
    code, after = run(tmp_path)
    assert code == 1
    assert sorted(set(after) - set(before)) == [
        "playbooks/planted.yml: ansible.builtin.import_role mevops.infra.monitoring tasks_from configure: entry point"
        " configure has no argument spec in roles/monitoring/meta/argument_specs.yml",
        "playbooks/planted.yml: reads _evm_node_units, a private variable of role evm_node",
    ]
