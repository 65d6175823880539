"""Bad input to host_tuning fails before anything changes, naming the variable.

Runs the role for real with ansible-playbook against localhost in check mode, limited
to its preflight (argument specs are validated first, whatever the tags).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from roleplay import run_role


def run_preflight(tmp_path: Path, variables: dict) -> subprocess.CompletedProcess[str]:
    return run_role(tmp_path, "host_tuning", variables, tags="host_tuning_preflight")


def test_defaults_pass_preflight(tmp_path):
    result = run_preflight(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"host_tuning_cpu_governor": "turbo"}, "host_tuning_cpu_governor"),
        ({"host_tuning_hugepages_count": -4}, "host_tuning_hugepages_count=-4"),
        ({"host_tuning_hugepages_total_mb": -1}, "host_tuning_hugepages_total_mb=-1"),
        ({"host_tuning_sysctl_extra": {"net core somaxconn": 1}}, '"net core somaxconn"'),
        ({"host_tuning_block_scheduler": "cfq"}, "host_tuning_block_scheduler"),
        ({"host_tuning_thp_enabled": "sometimes"}, "host_tuning_thp_enabled"),
        ({"host_tuning_swap": "zram"}, "host_tuning_swap"),
        ({"host_tuning_cstate_max": 12}, "host_tuning_cstate_max=12"),
        ({"host_tuning_limits_memlock": "lots"}, "host_tuning_limits_memlock=lots"),
        ({"host_tuning_hugepages_count": 100000000}, "host_tuning_hugepages_max_percent"),
        ({"host_tuning_isolated_cpus": "2-x"}, 'host_tuning_isolated_cpus="2-x"'),
        ({"host_tuning_isolated_cpus": "3-1"}, 'host_tuning_isolated_cpus="3-1"'),
        ({"host_tuning_isolated_cpus": "4096"}, 'host_tuning_isolated_cpus="4096"'),
        ({"host_tuning_isolated_cpus": f"0-{os.cpu_count() - 1}"}, "leaves at least one CPU for everything else"),
    ],
)
def test_bad_input_names_the_variable(tmp_path, variables, expected):
    result = run_preflight(tmp_path, variables)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output, output


def test_isolated_cpus_that_leave_one_cpu_pass(tmp_path):
    result = run_preflight(tmp_path, {"host_tuning_isolated_cpus": f"1-{os.cpu_count() - 1}"})
    assert result.returncode == 0, result.stdout + result.stderr
