"""site.yml on the devnet: first converge on fresh containers vs the idempotent re-run.

Recreates the devnet's four containers (molecule scenario `stack`'s create: a running devnet
is removed first), runs playbooks/site.yml twice with inventories/devnet (checking that the first run changed every
host and the re-run nothing), removes them.
Prints one line: `site_converge first_s=… rerun_s=… ratio=… goal<=0.25`.
A benchmark, not a test: nothing fails on the number.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
from devnet import HOSTS, molecule, run_playbook


def main() -> int:
    molecule("destroy")
    try:
        molecule("create")
        first, first_changed = run_playbook("site.yml")
        rerun, rerun_changed = run_playbook("site.yml")
    finally:
        molecule("destroy")
    # The work timed was the work meant: the first run converged all four hosts, the re-run changed nothing.
    if sorted(first_changed) != sorted(HOSTS) or not all(first_changed.values()) or any(rerun_changed.values()):
        print(f"site_converge not measured: first run changed {first_changed}, re-run changed {rerun_changed}")
        return 1
    print(f"site_converge first_s={first:.1f} rerun_s={rerun:.1f} ratio={rerun / first:.2f} goal<=0.25 "
          f"first_changed={sum(first_changed.values())} rerun_changed=0")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
