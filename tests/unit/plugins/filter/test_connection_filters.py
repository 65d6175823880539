"""over_ssh: which connection plugins log in to the host over SSH."""

from __future__ import annotations

import pytest

from ansible_collections.mevops.infra.plugins.filter.connection import over_ssh


@pytest.mark.parametrize(
    ("connection", "expected"),
    [
        ("ssh", True),
        ("ansible.builtin.ssh", True),
        ("ansible.legacy.smart", True),
        ("paramiko", True),
        ("ansible.builtin.paramiko_ssh", True),
        ("", True),
        (None, True),
        ("local", False),
        ("community.docker.docker", False),
        ("docker", False),
        ("ansible.builtin.local", False),
        ("community.general.sshx", False),
        ("ssh_custom", False),
    ],
)
def test_over_ssh(connection, expected):
    assert over_ssh(connection) is expected
