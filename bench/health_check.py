"""health_check: wall time of playbooks/health_check.yml on the running devnet, per check.

Baseline, same invocation: `ansible -m ping` of the same hosts (the connection cost every
check pays). Then the health check once with the profile_tasks callback; its task times are
summed per check. Prints one line:
`health_check wall_s=… ping_s=… ratio=… hosts=… rows=… status=… nodes_s=… engine_s=… …`.
Needs the devnet (`make devnet`); without it prints `health_check skipped=…` and exits 0.
A benchmark, not a test: nothing fails on the number.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
INVENTORY = TOP / "inventories" / "devnet"
VAULT = INVENTORY / "vault-password.txt"
HOSTS = "evm_nodes:databases:engines:monitoring"
# Task name prefixes of each check (roles/health_check/tasks/<check>.yml).
CHECKS = {
    "nodes": ("Compute this host's node endpoints", "Read every chain's head", "Add the node rows"),
    "engine": (
        "Read the units' states",
        "Ask the engine's ready probe",
        "Read the trading state",
        "Add the engine rows",
    ),
    "wallets": ("Read the hot wallet's", "Note the hot wallet's", "Add the wallet rows"),
    "journal": ("Read the engine's error lines", "Add the journal row"),
    "postgresql": ("Ask PostgreSQL", "Count the connections", "Add the PostgreSQL row"),
    "redis": ("Ping Redis", "Add the Redis row"),
    "resources": ("Sample CPU", "Install psutil", "Install python3-psutil", "Add the resource rows"),
    "alerts": ("Read the firing alerts", "Add the alert rows"),
    "integrity": ("Read the integrity summary", "Add the integrity row"),
    "report": ("Roll every host's rows", "Create the report folder", "Write the report", "Show the health report"),
}
_PROFILE = re.compile(r"^mevops\.infra\.health_check : (?P<name>.+?) -+ (?P<seconds>[0-9.]+)s$")


def env() -> dict[str, str]:
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"),
        ANSIBLE_VAULT_PASSWORD_FILE=str(VAULT),
    )


def timed(argv: list[str], extra_env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=TOP, env={**env(), **(extra_env or {})}, capture_output=True, text=True, check=False
    )
    return time.perf_counter() - start, done.stdout


def devnet_running() -> str:
    if not (INVENTORY / "hosts.yml").is_file():
        return "no-inventories/devnet"
    names = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True, check=False)
    if "mevops-devnet-engine" not in names.stdout:
        return "devnet-not-running(make-devnet)"
    return ""


def main() -> int:
    why = devnet_running()
    if why:
        print(f"health_check skipped={why}")
        return 0
    hosts = len(
        json.loads(
            subprocess.run(
                [str(BIN / "ansible-inventory"), "-i", str(INVENTORY), "--list"],
                cwd=TOP,
                env=env(),
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        .get("_meta", {})
        .get("hostvars", {})
    )
    ping_s, _ping_out = timed([str(BIN / "ansible"), "-i", str(INVENTORY), HOSTS, "-m", "ansible.builtin.ping"])
    with tempfile.TemporaryDirectory() as reports:
        wall_s, out = timed(
            [
                str(BIN / "ansible-playbook"),
                "-i",
                str(INVENTORY),
                str(TOP / "playbooks" / "health_check.yml"),
                "-e",
                f"health_check_report_dir={reports}",
                "-e",
                "health_check_fail_on=never",
            ],
            {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks", "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all"},
        )
        report = next(iter(sorted(Path(reports).glob("health_check-*.json"))), None)
        summary = json.loads(report.read_text()) if report else {"status": "none", "rows": []}
    per_check = dict.fromkeys(CHECKS, 0.0)
    for line in out.splitlines():
        match = _PROFILE.match(line.strip())
        if not match:
            continue
        for check, prefixes in CHECKS.items():
            if match["name"].startswith(prefixes):
                per_check[check] += float(match["seconds"])
                break
    breakdown = " ".join(f"{check}_s={seconds:.1f}" for check, seconds in per_check.items())
    print(
        f"health_check wall_s={wall_s:.1f} ping_s={ping_s:.1f} ratio={wall_s / ping_s:.1f} hosts={hosts} "
        f"rows={len(summary['rows'])} status={summary['status']} {breakdown}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
