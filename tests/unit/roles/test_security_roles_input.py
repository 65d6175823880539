"""Bad input to the ssh, integrity, housekeeping and security_check roles fails in
preflight, naming the variable (and the ssh role refuses to lock its own users out)."""

from __future__ import annotations

import pytest
from preflight import run_preflight

CONFIRM_ROOT = {"ssh_confirm_from": [{"host": "localhost", "user": "root"}]}


@pytest.mark.parametrize("role", ["ssh", "integrity", "housekeeping", "security_check"])
def test_defaults_pass_preflight(tmp_path, role):
    result = run_preflight(tmp_path, role, {})
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("role", "variables", "expected"),
    [
        ("ssh", {"ssh_port": 0}, "ssh_port=0 must be 1-65535"),
        ("ssh", {"ssh_login_grace_time": 0}, "ssh_login_grace_time=0 1-600"),
        ("ssh", {"ssh_max_auth_tries": 20}, "ssh_max_auth_tries=20 1-10"),
        ("ssh", {"ssh_permit_root_login": "yes"}, "ssh_permit_root_login"),
        ("ssh", {"ssh_confirm_from": [{"host": "bastion9", "user": "ops"}]}, '["bastion9"]'),
        ("ssh", CONFIRM_ROOT | {"ssh_permit_root_login": "no"}, 'ssh_permit_root_login is "no" but root'),
        ("ssh", CONFIRM_ROOT | {"ssh_allow_users": ["alice"]}, 'ssh_allow_users=["alice"] does not allow root'),
        ("ssh", CONFIRM_ROOT | {"ssh_allow_groups": ["nobody-group"]}, 'ssh_allow_groups=["nobody-group"]: root'),
        ("integrity", {"integrity_config_paths": ["etc/mev"]}, 'not absolute: ["etc/mev"]'),
        ("integrity", {"integrity_check_on_calendar": "every tuesday-ish"}, "integrity_check_on_calendar"),
        ("housekeeping", {"housekeeping_disk_warn_percent": 95}, "housekeeping_disk_warn_percent=95"),
        ("housekeeping", {"housekeeping_disk_critical_percent": 101}, "housekeeping_disk_critical_percent=101"),
        ("housekeeping", {"housekeeping_logrotate_max_size": "lots"}, "housekeeping_logrotate_max_size=lots"),
        (
            "housekeeping",
            {"housekeeping_disk_guard_extra_rules": [{"path": "/var/lib", "pattern": "*", "older_than_days": 1}]},
            "housekeeping_disk_guard_extra_rules",
        ),
        ("security_check", {"security_check_auth_failures_warning": 100}, "security_check_auth_failures_warning (100)"),
        (
            "security_check",
            {"security_check_secret_files": [{"path": "/etc/mev/*.env", "max_mode": "rw-r-----"}]},
            'max_mode octal like "0600"',
        ),
        ("security_check", {"security_check_expected_listeners": [{"port": 70000}]}, "ports must be 1-65535"),
    ],
)
def test_bad_input_names_the_variable(tmp_path, role, variables, expected):
    result = run_preflight(tmp_path, role, variables)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output, output


def test_ssh_allows_the_confirming_user_through_a_group(tmp_path):
    result = run_preflight(tmp_path, "ssh", CONFIRM_ROOT | {"ssh_allow_groups": ["root"]})
    assert result.returncode == 0, result.stdout + result.stderr
