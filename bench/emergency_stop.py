"""Emergency stop latency against host count: `emergency.yml --tags stop_trading` vs the runbook's curl.

    scripts/bench.sh emergency_stop        (or .venv/bin/python bench/emergency_stop.py [--hosts 6])

Takes a converged engine container (the devnet's `mevops-devnet-engine`, else the emergency
scratch or mev_engine scenario's container: --source), `docker commit`s it and starts --hosts
copies from that image with the container recipe's flags (systemd as PID 1, the same
capabilities). Each copy runs its own engine and its own Redis (where the trading state lives);
they share the source's chains and database over its Docker network. Detection, calculation and
execution are stopped in the copies once they answer: an emergency stop touches the API and Redis
only, six full engines would saturate a 2-core machine (measuring the box, not the playbook), and
copies of one hot key must never sign (they share the source's chains).
Then, with trading enabled on every copy before each round:

  one_host_s     ansible-playbook emergency.yml --tags stop_trading on the first copy, from
                 invocation until its API reads `emergency_stop`;
  all_hosts_s    the same on every copy (strategy free), until every copy reads `emergency_stop`;
  curl_s         the runbook's single `curl -X POST .../emergency/stop` on one host (made inside
                 the container, where the API listens, as the operator's shell there would);
  curl_loop_s    that curl host after host over every copy, the runbook's only way to do several.

Medians of --rounds rounds, in one line. Nothing fails on a number; the copies and the image are
removed at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SOURCES = ("mevops-devnet-engine", "mevops-emerg-engine", "mevops-mev-engine")
PREFIX = "mevops-emerg-bench"
IMAGE = "mevops/emerg-bench:latest"
CAPS = (
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
)

# One API call made inside a container: prints the HTTP status and the trading state.
_CALL = r"""
import json, sys, urllib.request
method, path, token = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request("http://127.0.0.1:8090" + path, method=method, data=b"{}" if method == "POST" else None,
                             headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status, json.load(r).get("trading", {}).get("state", ""))
except Exception as exc:
    print(0, type(exc).__name__)
"""


def sh(*argv: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])} ... exited {proc.returncode}: {proc.stdout[-500:]}{proc.stderr[-500:]}"
        )
    return proc


def api(host: str, method: str, path: str, token: str) -> tuple[int, str]:
    out = sh("docker", "exec", host, "python3", "-c", _CALL, method, path, token, check=False).stdout.split()
    return (int(out[0]), out[1] if len(out) > 1 else "") if out else (0, "")


def running() -> set[str]:
    return set(sh("docker", "ps", "--format", "{{.Names}}").stdout.split())


def start_copies(source: str, count: int) -> list[str]:
    network = json.loads(sh("docker", "inspect", source).stdout)[0]["NetworkSettings"]["Networks"]
    sh("docker", "commit", "--pause=false", source, IMAGE)
    names = []
    for index in range(count):
        name = f"{PREFIX}-{index}"
        argv = ["docker", "run", "-d", "--name", name, "--hostname", name, "--cgroupns=host",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--tmpfs", "/run:exec", "--tmpfs", "/run/lock", "--tmpfs", "/tmp:exec",
                "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cap-drop", "ALL", "--label", "mevops.bench=1"]  # fmt: skip
        for cap in CAPS:
            argv += ["--cap-add", cap]
        if network:
            argv += ["--network", next(iter(network))]
        sh(*argv, IMAGE, "/sbin/init")
        names.append(name)
    return names


def wait_ready(hosts: list[str], token: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    left = list(hosts)
    while left and time.monotonic() < deadline:
        left = [h for h in left if api(h, "GET", "/api/v1/status", token)[0] != 200]
        time.sleep(1)
    if left:
        raise RuntimeError(f"engine API not answering on {', '.join(left)} after {timeout:g} s")


def enable_all(hosts: list[str], token: str) -> None:
    for host in hosts:
        status, state = api(host, "POST", "/api/v1/trading/enable", token)
        if state != "enabled":
            raise RuntimeError(f"{host}: cannot enable trading ({status} {state})")


def stopped(host: str, token: str) -> bool:
    return api(host, "GET", "/api/v1/status", token)[1] == "emergency_stop"


def time_playbook(inventory: Path, hosts: list[str], token: str) -> float:
    env = {**os.environ, "ANSIBLE_CONFIG": str(TOP / "ansible.cfg"), "MEVOPS_AUDIT_LOG_PLAYBOOKS": "none",
           "ANSIBLE_COLLECTIONS_PATH": str(TOP / ".collections"),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(TOP / "playbooks" / "emergency.yml"),
            "--tags", "stop_trading", "--limit", ",".join(hosts)]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
    while not all(stopped(h, token) for h in hosts):
        if time.monotonic() - started > 120:
            raise RuntimeError(f"trading not stopped after the playbook: {proc.stdout[-1500:]}")
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"emergency.yml exited {proc.returncode}: {proc.stdout[-1500:]}")
    return elapsed


def time_curls(hosts: list[str], token: str) -> float:
    started = time.monotonic()
    for host in hosts:
        api(host, "POST", "/api/v1/emergency/stop", token)
    elapsed = time.monotonic() - started
    if not all(stopped(h, token) for h in hosts):
        raise RuntimeError("the runbook's curl did not stop trading")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=6, help="engine copies (default 6)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--source", help="converged engine container to copy")
    args = parser.parse_args()
    up = running()
    source = args.source or next((s for s in SOURCES if s in up), None)
    if source is None or source not in up:
        print(
            "emergency_stop error=no_converged_engine_container"
            f" (start the devnet, or --source; tried {', '.join(SOURCES)})"
        )
        return 0
    env_file = sh("docker", "exec", source, "cat", "/etc/mev/engine.env").stdout
    token = next(line.split("=", 1)[1].strip() for line in env_file.splitlines() if line.startswith("MEV_API_TOKEN="))
    hosts: list[str] = []
    workdir = tempfile.TemporaryDirectory(prefix="emerg-bench-")
    try:
        hosts = start_copies(source, args.hosts)
        inventory = Path(workdir.name) / "hosts.yml"
        inventory.write_text(json.dumps({"all": {
            "vars": {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
                     "mev_engine_api_token": token},
            "children": {"engines": {"hosts": {h: {} for h in hosts}}}}}))  # fmt: skip
        inventory.chmod(0o600)
        wait_ready(hosts, token)
        for host in hosts:
            sh("docker", "exec", host, "systemctl", "stop", "mev-execution.service", "mev-detection.service",
               "mev-calculation.service")  # fmt: skip
        one, many, curl, loop = [], [], [], []
        for _round in range(args.rounds):
            enable_all(hosts[:1], token)
            one.append(time_playbook(inventory, hosts[:1], token))
            enable_all(hosts, token)
            many.append(time_playbook(inventory, hosts, token))
            enable_all(hosts[:1], token)
            curl.append(time_curls(hosts[:1], token))
            enable_all(hosts, token)
            loop.append(time_curls(hosts, token))
        med = statistics.median
        print(
            f"emergency_stop hosts={len(hosts)} one_host_s={med(one):.2f} all_hosts_s={med(many):.2f} "
            f"growth={med(many) / med(one):.2f} curl_s={med(curl):.2f} curl_loop_s={med(loop):.2f} "
            f"playbook_vs_curl={med(many) / med(curl):.1f} goal_s=3 rounds={args.rounds} load1={os.getloadavg()[0]:.1f}"
        )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"emergency_stop error={str(exc)[:300]!r}")
    finally:
        for host in hosts:
            sh("docker", "rm", "-f", host, check=False)
        sh("docker", "rmi", IMAGE, check=False)
        workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
