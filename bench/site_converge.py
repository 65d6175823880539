"""site.yml on the devnet: first converge on fresh containers vs the idempotent re-run.

Recreates the devnet's four containers (molecule scenario `stack`'s create: a running devnet
is removed first), runs playbooks/site.yml twice with inventories/devnet, removes them.
Prints one line: `site_converge first_s=… rerun_s=… ratio=… goal<=0.25`.
A benchmark, not a test: nothing fails on the number.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
from devnet import molecule, playbook


def main() -> int:
    molecule("destroy")
    try:
        molecule("create")
        first = playbook("site.yml")
        rerun = playbook("site.yml")
    finally:
        molecule("destroy")
    print(f"site_converge first_s={first:.1f} rerun_s={rerun:.1f} ratio={rerun / first:.2f} goal<=0.25")
    return 0


if __name__ == "__main__":
    sys.exit(main())
