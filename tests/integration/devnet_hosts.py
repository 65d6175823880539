"""The devnet's hosts as inventories/devnet declares them, reached over SSH as Ansible reaches them.

`units()` names the units site.yml starts on each host. `logins()` reads every host's
address, user, key and ssh options from the inventory once (`ansible -m debug`, so the values
are templated as a playbook sees them); `Login.sudo(...)` is the ssh command line that runs a
command there as root. Shared by the integration tier's conftest, the stack scenario's
testinfra verify (molecule/stack/tests/test_stack.py) and the devnet benchmarks
(bench/lib/devnet.py).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import testinfra

TOP = Path(__file__).resolve().parents[2]
INVENTORY = TOP / "inventories" / "devnet"
VAULT_PASSWORD_FILE = INVENTORY / "vault-password.txt"
BIN = Path(sys.executable).parent
ENGINE_HOST = "mevops-devnet-engine"
NODE_HOST = "mevops-devnet-node"
DB_HOST = "mevops-devnet-db"
MON_HOST = "mevops-devnet-mon"
# The engine's hot keystore (the mev_engine role's default mev_engine_keystore_path).
KEYSTORE = "/etc/mev/keystore/hot.json"
# The service units site.yml starts, per host, dependants first (the order to stop them in);
# the node host's chain units come from the chain catalogue (units()).
SERVICE_UNITS = {
    ENGINE_HOST: ["mev-monitoring", "mev-execution", "mev-calculation", "mev-detection", "prometheus-node-exporter",
                  "redis-server"],
    MON_HOST: ["prometheus", "prometheus-alertmanager", "prometheus-node-exporter"],
    DB_HOST: ["prometheus-postgres-exporter", "prometheus-node-exporter", "postgresql@15-main"],
    NODE_HOST: ["prometheus-node-exporter"],
}  # fmt: skip
DEVNET_HOSTS = tuple(SERVICE_UNITS)
# One SSH connection per host, shared by the test run's commands (ControlMaster).
CONTROL_PATH = str(Path(tempfile.gettempdir()) / "mevops-devnet-%C")

_LOGIN_EXPR = (
    "{{ {'address': ansible_host | default(inventory_hostname), 'user': ansible_user | default(none),"
    " 'port': ansible_port | default(22) | int, 'key': ansible_ssh_private_key_file | default(none),"
    " 'options': ansible_ssh_common_args | default('')} | to_json }}"
)


def wait_for(predicate, timeout: float, what: str):
    """predicate()'s first truthy value, asked every second; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """ansible's environment: this checkout's config and collections, no colour."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(extra or {})
    return env


def ansible_debug(pattern: str, expression: str, inventory: Path = INVENTORY) -> dict[str, object]:
    """{host: the expression templated for that host} for the hosts `pattern` names."""
    proc = subprocess.run(
        [str(BIN / "ansible"), pattern, "-i", str(inventory), "--vault-password-file", str(VAULT_PASSWORD_FILE),
         "-m", "ansible.builtin.debug", "-a", f"msg={expression}", "-o"],
        capture_output=True, text=True, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"}),
        cwd=TOP, timeout=120, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"cannot read {expression} for {pattern}: {proc.stdout}{proc.stderr}")
    values = {}
    # `-o` prints one line per host: host | SUCCESS => {"changed": false, "msg": ...}
    for line in proc.stdout.splitlines():
        if " | SUCCESS => " in line:
            host, payload = line.split(" | SUCCESS => ", 1)
            value = json.loads(payload)["msg"]
            values[host] = json.loads(value) if isinstance(value, str) else value  # to_json's text
    return values


@dataclass(frozen=True)
class Login:
    """How the controller logs in to one devnet host (the inventory's connection variables)."""

    host: str
    address: str
    user: str | None
    port: int
    key: str | None
    options: str

    def ssh_options(self) -> list[str]:
        """ssh options, without the destination: the inventory's, then a shared connection."""
        return [
            *shlex.split(self.options),
            *(["-i", self.key] if self.key else []),
            *(["-l", self.user] if self.user else []),
            "-p", str(self.port),
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={CONTROL_PATH}",
            "-o", "ControlPersist=60s",
        ]  # fmt: skip

    def sudo(self, *argv: str) -> list[str]:
        """The ssh command line that runs argv on the host as root (sudo, as Ansible's become)."""
        return ["ssh", *self.ssh_options(), self.address, "sudo -n -- " + shlex.join(argv)]

    def testinfra(self) -> testinfra.host.Host:
        """A testinfra host for this login (ssh backend, commands through sudo)."""
        return testinfra.get_host(
            f"ssh://{self.address}:{self.port}", ssh_extra_args=shlex.join(self.ssh_options()), sudo=True
        )


@cache
def logins(inventory: Path = INVENTORY) -> dict[str, Login]:
    """{host: Login} for every host of the inventory."""
    return {host: Login(host=host, **value) for host, value in ansible_debug("all", _LOGIN_EXPR, inventory).items()}


def derived(host: str, filter_name: str, inventory: Path = INVENTORY) -> object:
    """What a topology filter derives for `host` from the inventory (docs/topology.md), e.g.
    derived(ENGINE_HOST, "topology_engine_chains")."""
    expression = f"{{{{ hostvars | mevops.infra.{filter_name}(groups, inventory_hostname) | to_json }}}}"
    return ansible_debug(host, expression, inventory)[host]


@cache
def units(inventory: Path = INVENTORY) -> dict[str, list[str]]:
    """{host: [units]} site.yml starts there, dependants first: the service units, and on node
    hosts one `<chain>-<client>` unit per chain the catalogue gives them."""
    out = {host: list(names) for host, names in SERVICE_UNITS.items()}
    for chain in derived(NODE_HOST, "topology_node_chains", inventory):
        out[NODE_HOST].append(f"{chain['name']}-{chain['client']}")
    return out


def main(argv: list[str]) -> None:
    """devnet_hosts.py HOST [COMMAND...]: log in to a devnet host as Ansible does (scripts/devnet.sh ssh)."""
    host, *command = argv
    login = logins()[host]
    os.execvp("ssh", ["ssh", *login.ssh_options(), login.address, *command])


if __name__ == "__main__":
    main(sys.argv[1:])
