# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Whether a host's connection plugin logs in over SSH.

over_ssh: "{{ ansible_connection | default('ssh') | mevops.infra.over_ssh }}"
"""

from __future__ import annotations

from typing import Any

# Connection plugins that open an SSH session to the host (ansible-core's own).
SSH_PLUGINS = frozenset({"ssh", "smart", "paramiko", "paramiko_ssh"})
PREFIXES = ("ansible.builtin.", "ansible.legacy.")


def over_ssh(connection: Any) -> bool:
    """True for ssh, smart, paramiko and paramiko_ssh, also by their ansible.builtin/ansible.legacy names;
    an empty value is ssh, Ansible's default."""
    name = str(connection or "ssh").strip()
    for prefix in PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name in SSH_PLUGINS


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"over_ssh": over_ssh}
