"""Not a benchmark (bench/lib): shared by the devnet benchmarks (site_converge, cold_start):
the devnet's playbooks, units and containers, driven as `make devnet` and the integration
tier drive them."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
# The devnet's hosts, units and SSH logins, as the integration tier reads them from the inventory.
sys.path.insert(0, str(TOP / "tests" / "integration"))
from devnet_hosts import DEVNET_HOSTS as HOSTS  # noqa: E402
from devnet_hosts import ansible_env as env  # noqa: E402
from devnet_hosts import logins, units  # noqa: E402

BIN = Path(sys.executable).parent
INVENTORY = TOP / "inventories" / "devnet"


def molecule(action: str) -> None:
    subprocess.run([str(BIN / "molecule"), action, "-s", "stack"], cwd=TOP, env=env(), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def playbook(name: str, *args: str) -> float:
    """Seconds one ansible-playbook run of playbooks/<name> takes against the devnet (fails loudly)."""
    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), "--vault-password-file",
         str(INVENTORY / "vault-password.txt"), str(TOP / "playbooks" / name), *args],
        cwd=TOP, env=env(), check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def on(host: str, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """argv on a devnet host as root, over SSH as Ansible logs in (fails loudly)."""
    return subprocess.run(logins()[host].sudo(*argv), check=True, text=True, capture_output=True, timeout=timeout)


def running() -> bool:
    names = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True, check=True)
    return set(HOSTS) <= set(names.stdout.split())


def stop_everything() -> None:
    for host, names in units().items():
        on(host, "systemctl", "stop", *names)
