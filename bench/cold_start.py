"""cold_start.yml's overhead beyond the nodes' own readiness, against the runbook's sleeps.

On the devnet (brought up with scripts/devnet.sh when it is not running, and removed again):
1. baseline: stop every unit on every host, start the anvil units alone and time until both
   chains answer eth_blockNumber (the nodes' own readiness, measured inside the node host);
2. stop every unit again and time playbooks/cold_start.yml from all-stopped.
overhead = cold start - nodes' readiness: what the gated phases (PostgreSQL, Redis, the four
engine components in order, monitoring, the final check) and Ansible add. The runbook's
script sleeps a fixed 300 s + 2 x 10 s before it even looks.
Prints one line: `cold_start total_s=… nodes_ready_s=… overhead_s=… runbook_sleeps_s=320 goal_overhead_s<10`.
A benchmark, not a test: nothing fails on the number.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
from devnet import TOP, on, playbook, running, stop_everything

# Inside the node host: until every anvil answers eth_blockNumber.
NODES_READY = """
import json, urllib.request
for port in (8545, 8546):
    while True:
        try:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}", body, {"Content-Type": "application/json"})
            if "result" in json.load(urllib.request.urlopen(request, timeout=2)):
                break
        except OSError:
            pass
"""


def nodes_ready_seconds() -> float:
    stop_everything()
    start = time.perf_counter()
    on("mevops-devnet-node", "systemctl", "start", "ethereum-anvil", "base-anvil")
    on("mevops-devnet-node", "python3", "-c", NODES_READY)
    return time.perf_counter() - start


def main() -> int:
    started_here = not running()
    if started_here:
        subprocess.run([str(TOP / "scripts" / "devnet.sh"), "up"], check=True, stdout=subprocess.DEVNULL)
    try:
        nodes = nodes_ready_seconds()
        stop_everything()
        total = playbook("cold_start.yml")
    finally:
        if started_here:
            subprocess.run([str(TOP / "scripts" / "devnet.sh"), "down"], check=True, stdout=subprocess.DEVNULL)
    print(
        f"cold_start total_s={total:.1f} nodes_ready_s={nodes:.1f} overhead_s={total - nodes:.1f} "
        f"runbook_sleeps_s=320 goal_overhead_s<10"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
