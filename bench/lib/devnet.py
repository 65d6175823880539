"""Not a benchmark (bench/lib): shared by the devnet benchmarks (site_converge, cold_start):
the devnet's playbooks, units and containers, driven as `make devnet` and the integration
tier drive them."""

from __future__ import annotations

import re
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


def run_playbook(name: str, *args: str) -> tuple[float, dict[str, int]]:
    """One ansible-playbook run of playbooks/<name> against the devnet (fails loudly): its seconds
    and the changed count per host of its last PLAY RECAP (what the run really did)."""
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), "--vault-password-file",
         str(INVENTORY / "vault-password.txt"), str(TOP / "playbooks" / name), *args],
        cwd=TOP, env=env(), check=True, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    recap = done.stdout.rsplit("PLAY RECAP", 1)[-1]
    changed = {host: int(n) for host, n in re.findall(r"^(\S+)\s+:.*?\bchanged=(\d+)", recap, flags=re.M)}
    return seconds, changed


def playbook(name: str, *args: str) -> float:
    """Seconds one ansible-playbook run of playbooks/<name> takes against the devnet (fails loudly)."""
    return run_playbook(name, *args)[0]


def on(host: str, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """argv on a devnet host as root, over SSH as Ansible logs in (fails loudly)."""
    return subprocess.run(logins()[host].sudo(*argv), check=True, text=True, capture_output=True, timeout=timeout)


def running() -> bool:
    names = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True, check=True)
    return set(HOSTS) <= set(names.stdout.split())


def stop_everything() -> None:
    for host, names in units().items():
        on(host, "systemctl", "stop", *names)
