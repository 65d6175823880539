"""host_tuning: wall time of the first converge vs its idempotent re-run, same invocation.

Creates the molecule `host_tuning` container, applies the role twice with
ansible-playbook (the repository's ansible.cfg: pipelining on), destroys the container.
Prints one line: `host_tuning_rerun first_s=… rerun_s=… ratio=…` (goal: ratio <= 0.25).
A benchmark, not a test: nothing fails on the number.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCENARIO = "host_tuning"
HOST = "mevops-host-tuning"


def molecule(action: str) -> None:
    subprocess.run([str(BIN / "molecule"), action, "-s", SCENARIO], cwd=TOP, check=True, stdout=subprocess.DEVNULL)


def converge(inventory: Path) -> float:
    env = dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"))
    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(TOP / "molecule" / SCENARIO / "converge.yml")],
        cwd=TOP,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        inventory = Path(tmp) / "hosts.yml"
        inventory.write_text(f"all:\n  hosts:\n    {HOST}:\n      ansible_connection: community.docker.docker\n")
        try:
            molecule("create")
            first = converge(inventory)
            rerun = converge(inventory)
        finally:
            molecule("destroy")
    print(f"host_tuning_rerun first_s={first:.1f} rerun_s={rerun:.1f} ratio={rerun / first:.2f} goal<=0.25")
    return 0


if __name__ == "__main__":
    sys.exit(main())
