"""Disk guard cleanup against the runbook's emergency cleanup, on the same log tree.

    .venv/bin/python bench/disk_guard_cleanup.py [--mb 64] [--repeat 3]

Builds, in a temporary folder, a log tree like a full /var/log/mev (rotated uncompressed
logs, expired compressed logs, an active log, old mev_* temporary files), then times in
the same run, alternating (these machines are noisy):

  runbook  the Troubleshooting Guide's way: `gzip` on every rotated log, one process per
           file (its DiskSpaceManager calls os.system("gzip ...")), and `rm -rf` of mev_*;
  guard    roles/housekeeping/files/mevops-disk-guard with the file system forced to
           "critical": compress rotated logs in-process, expire old ones, clean mev_*.

Prints one line: medians in seconds, bytes each freed, ratio = guard / runbook (below 1 is
faster). Nothing fails on a number.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
SCRIPT = TOP / "roles" / "housekeeping" / "files" / "mevops-disk-guard"
sys.path.insert(0, str(TOP / "tests" / "unit"))

from scriptload import load_script  # noqa: E402 - needs the path above


def build(root: Path, mb: int) -> None:
    logs = root / "log"
    logs.mkdir(parents=True)
    line = b"2025-07-11T09:00:00Z INFO mev.detection block=123456 pending=42 latency_ms=3.1\n"
    per_file = mb * 1024 * 1024 // 8
    for i in range(1, 9):
        (logs / f"engine{i % 4}.log.{i}").write_bytes(line * (per_file // len(line)))
    for i in range(4):
        (logs / f"engine{i}.log").write_bytes(line * 1000)
        old = logs / f"engine{i}.log.20.gz"
        old.write_bytes(os.urandom(256 * 1024))
        os.utime(old, (time.time() - 30 * 86400,) * 2)
    tmp = root / "tmp"
    tmp.mkdir()
    for i in range(20):
        path = tmp / f"mev_{i}"
        path.write_bytes(b"x" * 65536)
        os.utime(path, (time.time() - 3 * 86400,) * 2)


def used(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def runbook(root: Path) -> None:
    for path in glob.glob(str(root / "log" / "*.log.[0-9]*")):
        if not path.endswith(".gz"):
            subprocess.run(["gzip", "-f", path], check=True)
    for path in glob.glob(str(root / "tmp" / "mev_*")):
        subprocess.run(["rm", "-rf", path], check=True)


def guard(root: Path, module) -> None:
    config = {
        "paths": [str(root)],
        "warn_percent": 80,
        "critical_percent": 90,
        "log_globs": [str(root / "log" / "*.log")],
        "keep_days": 14,
        "logrotate_config": None,
        "tmp_patterns": [str(root / "tmp" / "mev_*")],
        "tmp_age_hours": 24,
        "extra_rules": [],
    }
    module.Guard.usage = staticmethod(lambda path: 95.0)
    module.Guard(config).run()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    module = load_script(SCRIPT, "mevops_disk_guard")
    times: dict[str, list[float]] = {"runbook": [], "guard": []}
    freed: dict[str, int] = {}
    for _round in range(args.repeat):
        for name in ("runbook", "guard"):
            root = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
            try:
                build(root, args.mb)
                before = used(root)
                start = time.perf_counter()
                runbook(root) if name == "runbook" else guard(root, module)
                times[name].append(time.perf_counter() - start)
                freed[name] = before - used(root)
            finally:
                shutil.rmtree(root)
    rb, gd = statistics.median(times["runbook"]), statistics.median(times["guard"])
    print(
        f"disk_guard_cleanup mb={args.mb} runbook_s={rb:.3f} guard_s={gd:.3f} ratio={gd / rb:.2f} "
        f"runbook_freed={freed['runbook']} guard_freed={freed['guard']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
