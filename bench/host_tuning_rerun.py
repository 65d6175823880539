#!/usr/bin/env python3
"""host_tuning: wall time of the first converge vs its idempotent re-run, same invocation.

Creates the molecule `host_tuning` container, converges twice, destroys it. Prints one
line: `host_tuning_rerun first_s=… rerun_s=… ratio=…` (goal: ratio <= 0.25). A benchmark,
not a test: nothing fails on the number.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
MOLECULE = str(Path(sys.executable).parent / "molecule")
SCENARIO = "host_tuning"


def molecule(action: str) -> float:
    start = time.perf_counter()
    subprocess.run([MOLECULE, action, "-s", SCENARIO], cwd=TOP, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    try:
        molecule("create")
        first = molecule("converge")
        rerun = molecule("converge")
    finally:
        molecule("destroy")
    print(f"host_tuning_rerun first_s={first:.1f} rerun_s={rerun:.1f} ratio={rerun / first:.2f} goal<=0.25")
    return 0


if __name__ == "__main__":
    sys.exit(main())
