"""Fleet-wide stop: `emergency.yml --tags stop_trading` on 1, 6 and 24 engine hosts, against the runbook's curl.

    scripts/bench.sh emergency_stop     (or .venv/bin/python bench/emergency_stop.py [--sizes 1,6,24]
                                         [--rounds 3] [--variants fanout,ssh_warm,...] [--mitogen])

Light engine hosts: systemd containers from the base image (tests/images/build-base.sh), made by
the one container recipe through molecule/shared/create.yml - each at a static address on a
network of the bench's own (`molecule-fleet-bench`, --subnet), with a login over real SSH (a key
and known hosts made for this run) - each running only what a stop touches: a STAND-IN of the
engine's API with its trading state (bench/lib/engine_standin.py, installed over SSH by
bench/lib/fleet_standin.yml; the real API needs Redis, PostgreSQL and the engine's virtualenv, 24
of which would measure the box, not the playbook) and a stand-in mev-execution for the fallback.

Each variant runs the real playbooks/emergency.yml (the same inventory shape as production: the API
binds the host's private address, the controller is the management network) on the first 1, 6 and
24 hosts. One run = from invocation until every host's API reads `emergency_stop`, checked from the
controller the same way for every size and variant (and the playbook must exit 0). Trading is
enabled on every host before each run. Variants:

  fanout       the shipped path: one task calls every engine's API at once from the controller
               (mevops.infra.mev_engine_trading, no SSH; the URLs derived by
               mevops.infra.topology_engine_api_url), the SSH path only for the hosts whose API did not
               answer (none here); forks from ansible.cfg
  fanout_forks the same with --forks sized to the group (hosts + 1)
  ssh_cold     each host calls its own API over SSH (emergency_stop_from_controller=false: the path
               before the fan-out, strategy free); a fresh ControlPath folder per run (no master
               connection to reuse, as in a real emergency)
  ssh_warm     the same, reusing the SSH master connections of a previous run (ControlPersist)
  ssh_forks    ssh_warm with --forks sized to the group
  ssh_linear   ssh_warm with strategy linear instead of free
  ssh_facts    ssh_warm with fact gathering on
  ssh_mitogen  ssh_warm with Mitogen's mitogen_free strategy (mitogen from PyPI into .cache; --mitogen)

Prints one line per variant (`emergency_stop_<variant> hosts_1_s=... ratio_24=...`, medians of
--rounds), one for the runbook's curl from the controller (one host; host after host over all), and
the headline `emergency_stop` line for the shipped path with the goal (24 hosts <= 1.5 x one host,
under 3 s) and the load average during the runs. Nothing fails on a number; the containers, their
network and their cache folders are removed at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ipaddress
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TOP / "tests" / "integration"), str(TOP / ".collections")]
from devnet_hosts import ansible_env  # noqa: E402

from ansible_collections.mevops.infra.plugins.plugin_utils.topology import role_default  # noqa: E402

BIN = Path(sys.executable).parent
SCENARIO = "fleet-bench"  # molecule/shared/create.yml names the network molecule-<scenario>
PREFIX = "mevops-fleet"
PLAYBOOK = TOP / "playbooks" / "emergency.yml"
MITOGEN = "mitogen==0.3.54"  # the newest on PyPI; its loader no longer caps the ansible-core version
CACHE = Path(os.environ.get("MEVOPS_CACHE_DIR") or "/var/cache/mevops")
API_PORT = int(role_default("mev_engine", "mev_engine_api_port"))  # where the stand-in binds, as the real API


@dataclass
class Variant:
    name: str
    extra_vars: dict[str, object] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    forks_to_group: bool = False
    cold_ssh: bool = False
    edit: tuple[str, str] | None = None  # a change to the playbook's text: (every `old`, `new`)


ON_HOST: dict[str, object] = {"emergency_stop_from_controller": False}  # every host calls its own API over SSH
FREE = "strategy: ansible.builtin.free"
VARIANTS = {
    "fanout": Variant("fanout"),
    "fanout_forks": Variant("fanout_forks", forks_to_group=True),
    "ssh_cold": Variant("ssh_cold", extra_vars=ON_HOST, cold_ssh=True),
    "ssh_warm": Variant("ssh_warm", extra_vars=ON_HOST),
    "ssh_forks": Variant("ssh_forks", extra_vars=ON_HOST, forks_to_group=True),
    "ssh_linear": Variant("ssh_linear", extra_vars=ON_HOST, edit=(FREE, "strategy: ansible.builtin.linear")),
    "ssh_facts": Variant("ssh_facts", extra_vars=ON_HOST, edit=("gather_facts: false", "gather_facts: true")),
    "ssh_mitogen": Variant("ssh_mitogen", extra_vars=ON_HOST, edit=(FREE, "strategy: mitogen_free")),
}
DEFAULT_VARIANTS = "fanout,fanout_forks,ssh_cold,ssh_warm,ssh_forks,ssh_linear,ssh_facts"


def sh(*argv: str, check: bool = True, timeout: int = 900, env: dict[str, str] | None = None,
       ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=TOP)
    if check and proc.returncode != 0:
        tail = f"{proc.stdout[-1500:]}{proc.stderr[-800:]}"
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {proc.returncode}: {tail}")
    return proc


class Fleet:
    """The light engine hosts, their inventories (one per size) and the API calls the bench makes."""

    def __init__(self, count: int, subnet: str, workdir: Path) -> None:
        network = ipaddress.ip_network(subnet)
        if network.num_addresses < count + 16:
            raise RuntimeError(f"--subnet {subnet} is too small for {count} hosts")
        self.workdir = workdir
        self.gateway = str(network.network_address + 1)
        self.subnet = str(network)
        self.token = secrets.token_hex(24)
        self.hosts = {f"{PREFIX}-{i:02d}": str(network.network_address + 10 + i) for i in range(1, count + 1)}
        self.names = list(self.hosts)
        self.header = workdir / "curl-headers"
        self.header.write_text(f"Authorization: Bearer {self.token}\n")
        self.header.chmod(0o600)

    def inventory(self, size: int) -> Path:
        path = self.workdir / f"hosts-{size}.yml"
        if not path.exists():
            key = self.workdir / "ssh" / "id_ed25519"
            known = self.workdir / "ssh" / "known_hosts"
            data = {"all": {
                "vars": {
                    "devnet_network": {"subnet": self.subnet, "gateway": self.gateway},
                    "ansible_user": "mevops", "ansible_become": True,
                    "ansible_ssh_private_key_file": str(key), "devnet_ssh_known_hosts": str(known),
                    "ansible_ssh_common_args": f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
                                               "-o IdentitiesOnly=yes",
                    # As the shipped inventories: the API on the private address, the controller
                    # (the network's gateway) as the management network.
                    "mev_engine_api_host": "{{ ansible_host }}",
                    "mev_engine_api_token": self.token,
                    "firewall_management_networks": [f"{self.gateway}/32"],
                },
                "children": {"engines": {"hosts": {n: {"ansible_host": self.hosts[n]} for n in self.names[:size]}}},
            }}  # fmt: skip
            path.write_text(json.dumps(data, indent=1))
            path.chmod(0o600)
        return path

    def url(self, host: str, path: str) -> str:
        return f"http://{self.hosts[host]}:{API_PORT}{path}"

    def call(self, host: str, method: str, path: str) -> tuple[int, str]:
        request = urllib.request.Request(self.url(host, path), method=method, data=b"{}" if method == "POST" else None,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, json.load(answer).get("trading", {}).get("state", "")
        except (OSError, ValueError) as exc:
            return 0, type(exc).__name__

    def on_all(self, hosts: list[str], method: str, path: str) -> list[tuple[int, str]]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            return list(pool.map(lambda h: self.call(h, method, path), hosts))

    def enable(self, hosts: list[str]) -> None:
        answers = self.on_all(hosts, "POST", "/api/v1/trading/enable")
        if any(state != "enabled" for _code, state in answers):
            raise RuntimeError(f"cannot enable trading: {answers}")

    def stopped(self, hosts: list[str]) -> bool:
        """The post-run check, the same for every size and variant: each host's API reads emergency_stop."""
        return all(state == "emergency_stop" for _code, state in self.on_all(hosts, "GET", "/api/v1/status"))

    def wait_api(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(code == 200 for code, _state in self.on_all(self.names, "GET", "/api/v1/status")):
                return
            time.sleep(1)
        raise RuntimeError(f"the API stand-in does not answer on every host after {timeout:g} s")


# Units a light host does without, masked by bind-mounting /dev/null over their unit files (the
# recipe's per-platform `volumes`): each takes an inotify instance, and every container of the
# machine shares root's fs.inotify.max_user_instances (128 here). A systemd container of the base
# image takes 5-6; 24 of them beside the devnet would not boot. Logins work without logind and
# D-Bus (pam_systemd is optional; systemctl talks to systemd's private socket).
MASKED = ("dbus.service", "dbus.socket", "systemd-logind.service", "systemd-ask-password-console.path",
          "systemd-ask-password-wall.path")  # fmt: skip
INOTIFY_PER_HOST = 3  # systemd itself with the units above masked (measured)


def inotify_room() -> tuple[int, int]:
    """(root's inotify instances in use, the limit): the light hosts' systemd need INOTIFY_PER_HOST each."""
    limit = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
    used = 0
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) == "anon_inode:inotify" and fd.parents[1].stat().st_uid == 0:
                used += 1
        except OSError:
            continue
    return used, limit


def molecule_vars(fleet: Fleet) -> Path:
    """The variables molecule gives the shared create/destroy playbooks."""
    path = fleet.workdir / "molecule.json"
    volumes = [f"/dev/null:/etc/systemd/system/{unit}:ro" for unit in MASKED]
    path.write_text(json.dumps({
        "molecule_yml": {"platforms": [{"name": n, "volumes": volumes} for n in fleet.names],
                         "scenario": {"name": SCENARIO}},
        "molecule_instance_config": str(fleet.workdir / "instance_config.yml"),
    }))  # fmt: skip
    return path


def playbook(fleet: Fleet, size: int, path: Path, *args: str, extra_env: dict[str, str] | None = None,
             timeout: int = 900) -> subprocess.CompletedProcess[str]:  # fmt: skip
    # Facts in memory only: ansible.cfg's file cache would serve ssh_facts from the previous run (and keep the
    # facts of containers that are gone).
    env = ansible_env({"MOLECULE_SCENARIO_NAME": SCENARIO, "MEVOPS_AUDIT_LOG_PATH": str(fleet.workdir / "audit.jsonl"),
                       "ANSIBLE_CACHE_PLUGIN": "memory", **(extra_env or {})})  # fmt: skip
    return sh(str(BIN / "ansible-playbook"), "-i", str(fleet.inventory(size)), str(path), *args, env=env,
              check=False, timeout=timeout)  # fmt: skip


def create(fleet: Fleet) -> None:
    everyone = len(fleet.names)
    for step in (TOP / "molecule" / "shared" / "create.yml", TOP / "bench" / "lib" / "fleet_standin.yml"):
        proc = playbook(fleet, everyone, step, "-e", f"@{molecule_vars(fleet)}", "--forks", str(everyone + 1))
        if proc.returncode != 0:
            raise RuntimeError(f"{step.name} exited {proc.returncode}: {proc.stdout[-2000:]}{proc.stderr[-800:]}")
    fleet.wait_api()


def destroy(fleet: Fleet) -> None:
    everyone = len(fleet.names)
    playbook(fleet, everyone, TOP / "molecule" / "shared" / "destroy.yml", "-e", f"@{molecule_vars(fleet)}")
    # Whatever the playbook managed: the containers by their exact names, the network by its name.
    sh("docker", "rm", "-f", *fleet.names, check=False)
    sh("docker", "network", "rm", f"molecule-{SCENARIO}", check=False)
    for name in fleet.names:  # the per-container apt archive folders create.yml made
        shutil.rmtree(CACHE / "apt-archives" / name, ignore_errors=True)


def mitogen_env(workdir: Path) -> dict[str, str]:
    target = TOP / ".cache" / "bench-mitogen"
    if not (target / "ansible_mitogen").is_dir():
        sh(str(BIN / "pip"), "install", "-q", "--target", str(target), MITOGEN)
    return {"ANSIBLE_STRATEGY_PLUGINS": str(target / "ansible_mitogen" / "plugins" / "strategy"),
            "PYTHONPATH": str(target)}  # fmt: skip


class Runner:
    def __init__(self, fleet: Fleet, variant: Variant, mitogen: dict[str, str]) -> None:
        self.fleet, self.variant = fleet, variant
        self.path = PLAYBOOK
        if variant.edit:
            self.path = fleet.workdir / f"emergency-{variant.name}.yml"
            self.path.write_text(PLAYBOOK.read_text().replace(*variant.edit))
        self.env = {**variant.env, **(mitogen if variant.name == "ssh_mitogen" else {})}
        self.control = fleet.workdir / f"cp-{variant.name}"
        self.runs = 0

    def run(self, size: int) -> float:
        hosts = self.fleet.names[:size]
        self.fleet.enable(hosts)
        env = dict(self.env)
        self.runs += 1
        control = self.control / str(self.runs) if self.variant.cold_ssh else self.control
        control.mkdir(parents=True, exist_ok=True)
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(control)
        args = ["--tags", "stop_trading", "-e", json.dumps({"emergency_reason": "bench", **self.variant.extra_vars})]
        if self.variant.forks_to_group:
            args += ["--forks", str(size + 1)]
        started = time.monotonic()
        proc = playbook(self.fleet, size, self.path, *args, extra_env=env, timeout=300)
        while not self.fleet.stopped(hosts):
            if time.monotonic() - started > 60:
                raise RuntimeError(f"{self.variant.name}: trading not stopped on {size} hosts: {proc.stdout[-1500:]}")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError(f"{self.variant.name}: emergency.yml exited {proc.returncode}: {proc.stdout[-2000:]}")
        return elapsed


def curls(fleet: Fleet, hosts: list[str]) -> float:
    """The runbook's `curl -X POST .../emergency/stop`, from the controller, host after host."""
    fleet.enable(hosts)
    started = time.monotonic()
    for host in hosts:
        sh("curl", "-sf", "-o", "/dev/null", "-X", "POST", "-H", f"@{fleet.header}", "-H",
           "Content-Type: application/json", "-d", "{}", fleet.url(host, "/api/v1/emergency/stop"))  # fmt: skip
    elapsed = time.monotonic() - started
    if not fleet.stopped(hosts):
        raise RuntimeError("the runbook's curl did not stop trading")
    return elapsed


def figures(name: str, times: dict[int, list[float]], sizes: list[int], load: list[float]) -> str:
    med = {size: statistics.median(times[size]) for size in sizes}
    one = med[sizes[0]]
    parts = [f"hosts_{size}_s={med[size]:.2f}" for size in sizes]
    parts += [f"ratio_{size}={med[size] / one:.2f}" for size in sizes[1:]]
    return f"{name} {' '.join(parts)} load1={statistics.mean(load):.1f}"


def main() -> int:  # noqa: PLR0915 - one measurement plan, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,6,24", help="engine host counts (default 1,6,24)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--mitogen", action="store_true", help="add ssh_mitogen (installs mitogen from PyPI)")
    parser.add_argument("--subnet", default="10.79.0.0/24", help="the bench network (not the devnet's 10.77.0.0/16)")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    names = [v for v in args.variants.split(",") if v] + (["ssh_mitogen"] if args.mitogen else [])
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        print(f"emergency_stop error=unknown_variants ({', '.join(unknown)}; known: {', '.join(VARIANTS)})")
        return 0
    if shutil.which("docker") is None or sh("docker", "info", check=False).returncode != 0:
        print("emergency_stop error=no_docker (scripts/ensure-docker.sh start, tests/images/build-base.sh)")
        return 0
    taken = set(sh("docker", "ps", "-a", "--format", "{{.Names}}").stdout.split())
    workdir = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    fleet = Fleet(max(sizes), args.subnet, workdir)
    if taken & set(fleet.names):
        print(f"emergency_stop error=containers_exist ({PREFIX}-*: another bench runs, or remove them)")
        return 0
    used, limit = inotify_room()
    if used + INOTIFY_PER_HOST * len(fleet.names) > limit:
        print(
            f"emergency_stop error=inotify_instances ({used} of root's {limit} in use, {len(fleet.names)} hosts need "
            f"{INOTIFY_PER_HOST * len(fleet.names)}: fewer --sizes, or fs.inotify.max_user_instances raised)"
        )
        return 0
    try:
        started = time.monotonic()
        create(fleet)
        print(f"emergency_stop_setup hosts={max(sizes)} create_s={time.monotonic() - started:.0f}", flush=True)
        mitogen = mitogen_env(workdir) if "ssh_mitogen" in names else {}
        Runner(fleet, VARIANTS["fanout"], {}).run(sizes[0])  # warm the controller's caches once, untimed
        results: dict[str, dict[int, list[float]]] = {}
        for name in names:
            runner = Runner(fleet, VARIANTS[name], mitogen)
            if not VARIANTS[name].cold_ssh:
                runner.run(max(sizes))  # the master connections of a previous run, untimed
            times: dict[int, list[float]] = {size: [] for size in sizes}
            load = []
            for _round in range(args.rounds):
                for size in sizes:
                    times[size].append(runner.run(size))
                    load.append(os.getloadavg()[0])
            results[name] = times
            print(figures(f"emergency_stop_{name}", times, sizes, load), flush=True)
        loop = {size: [curls(fleet, fleet.names[:size]) for _round in range(args.rounds)] for size in sizes}
        print(figures("emergency_stop_curl", loop, sizes, [os.getloadavg()[0]]), flush=True)
        if "fanout" in results:
            shipped = {size: statistics.median(results["fanout"][size]) for size in sizes}
            one, most = shipped[sizes[0]], shipped[sizes[-1]]
            growth = most / one
            print(
                f"emergency_stop hosts={sizes[-1]} one_host_s={one:.2f} all_hosts_s={most:.2f} growth={growth:.2f} "
                f"goal_growth=1.5 goal_s=3 growth_met={'yes' if growth <= 1.5 else 'no'} "
                f"time_met={'yes' if most < 3 else 'no'} curl_s={statistics.median(loop[sizes[0]]):.2f} "
                f"curl_loop_s={statistics.median(loop[sizes[-1]]):.2f} rounds={args.rounds} "
                f"load1={os.getloadavg()[0]:.1f} cores={os.cpu_count()}"
            )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"emergency_stop error={str(exc)[:600]!r}")
    finally:
        destroy(fleet)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
