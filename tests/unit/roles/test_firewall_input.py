"""Bad input to the firewall role fails in preflight, naming the variable.

Runs the role for real with ansible-playbook against localhost in check mode, limited
to its preflight (argument specs are validated first, whatever the tags).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from preflight import run_preflight as run_role_preflight

GOOD = {"firewall_management_networks": ["10.20.0.0/24"]}


def run_preflight(tmp_path: Path, variables: dict) -> subprocess.CompletedProcess[str]:
    return run_role_preflight(tmp_path, "firewall", variables)


def test_good_input_passes_preflight(tmp_path):
    result = run_preflight(tmp_path, GOOD)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"firewall_management_networks": []}, "firewall_management_networks is empty while firewall_enabled"),
        (
            {"firewall_management_networks": ["10.20.0.0/33"]},
            'firewall_management_networks: ["10.20.0.0/33"] is not a CIDR',
        ),
        ({"firewall_management_networks": ["office"]}, 'firewall_management_networks: ["office"]'),
        (GOOD | {"firewall_monitoring_networks": ["10.0.0.0/8", "prom"]}, 'firewall_monitoring_networks: ["prom"]'),
        (GOOD | {"firewall_p2p_ports": [30303, 70000]}, "firewall_p2p_ports: [70000] is not a port"),
        (GOOD | {"firewall_ssh_port": 65536}, "firewall_ssh_port: [65536]"),
        (
            GOOD | {"firewall_restricted_services": [{"name": "rpc", "port": 8545, "sources": ["lan"]}]},
            "firewall_restricted_services[rpc].sources",
        ),
        (
            GOOD | {"firewall_restricted_services": [{"name": "rpc", "port": 8545, "sources": []}]},
            "firewall_restricted_services[rpc].sources=[]",
        ),
        (
            GOOD | {"firewall_restricted_services": [{"name": "rpc", "port": 99999, "sources": ["10.0.0.0/8"]}]},
            "[99999]",
        ),
        (GOOD | {"firewall_rollback_seconds": 5}, "firewall_rollback_seconds=5"),
        (GOOD | {"firewall_forward_policy": "reject"}, "firewall_forward_policy"),
    ],
)
def test_bad_input_names_the_variable(tmp_path, variables, expected):
    result = run_preflight(tmp_path, variables)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output, output


def test_disabled_firewall_needs_no_management_network(tmp_path):
    result = run_preflight(tmp_path, {"firewall_enabled": False})
    assert result.returncode == 0, result.stdout + result.stderr
