"""Shared fixtures: the node (the host under test) and the probe on the scenario network."""

from __future__ import annotations

import pytest
import testinfra

NODE = "mevops-security-node"
PROBE = "mevops-security-probe"


@pytest.fixture(scope="session")
def node():
    return testinfra.get_host(f"docker://{NODE}")


@pytest.fixture(scope="session")
def probe():
    return testinfra.get_host(f"docker://{PROBE}")


@pytest.fixture(scope="session")
def node_ip(node) -> str:
    return node.check_output("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1")


@pytest.fixture(scope="session")
def probe_ip(probe) -> str:
    return probe.check_output("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1")


def _connect(probe, ip: str, port: int) -> str:
    """'open', 'refused' or 'dropped' (no answer within 3 s) for a TCP connect from the probe."""
    cmd = probe.run(
        "python3 -c 'import socket,sys\n"
        "try:\n"
        f'    socket.create_connection(("{ip}", {port}), timeout=3); print("open")\n'
        'except ConnectionRefusedError: print("refused")\n'
        'except (TimeoutError, socket.timeout): print("dropped")\''
    )
    return cmd.stdout.strip()


@pytest.fixture(scope="session")
def tcp():
    """connect(probe_host, ip, port) -> 'open' | 'refused' | 'dropped'."""
    return _connect
