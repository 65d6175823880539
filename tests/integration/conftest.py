"""Fixtures for the integration tier: tests that operate the devnet (inventories/devnet).

The devnet is four systemd containers (mevops-devnet-node, -db, -engine, -mon: production's
layout) brought up by the `stack` molecule scenario (scripts/integration.sh) or by `make devnet`.
These fixtures drive it the way an operator does, with ansible-playbook and the devnet inventory,
and look at it from the controller over SSH as Ansible logs in (the inventory's address, user,
key and options; commands through sudo): the engine API and the chains are reached from the
hosts that use them, not from the controller.

Every test leaves the devnet cold-started, with all units active and trading disabled: use the
`devnet_ready` fixture, which re-runs cold_start.yml when a probe fails.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# The helper module beside this file (pytest's importlib import mode puts no test folder on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from devnet_hosts import (
    BIN,
    DB_HOST,
    DEVNET_HOSTS,
    ENGINE_HOST,
    INVENTORY,
    KEYSTORE,
    MON_HOST,
    NODE_HOST,
    TOP,
    VAULT_PASSWORD_FILE,
    Login,
    ansible_debug,
    ansible_env,
    derived,
    logins,
    units,
)
from secret_watch import VERBOSITY, SecretWatch, record_output, record_started

__all__ = ["DB_HOST", "ENGINE_HOST", "MON_HOST", "NODE_HOST", "Devnet"]

LAST = "test_99_"

# Runs inside a devnet container: one HTTP request, prints {"status": .., "body": ..} as JSON.
_HTTP_SNIPPET = r"""
import json, sys, urllib.request, urllib.error
req = json.load(sys.stdin)
data = None if req["json"] is None else json.dumps(req["json"]).encode()
r = urllib.request.Request(req["url"], data=data, method=req["method"], headers=req["headers"])
try:
    with urllib.request.urlopen(r, timeout=req["timeout"]) as resp:
        status, body = resp.status, resp.read().decode()
except urllib.error.HTTPError as exc:
    status, body = exc.code, exc.read().decode()
try:
    body = json.loads(body)
except ValueError:
    pass
print(json.dumps({"status": status, "body": body}))
"""


@dataclass
class Devnet:
    """The running devnet, as an operator's controller sees it."""

    inventory: Path = INVENTORY
    vault_password_file: Path = VAULT_PASSWORD_FILE
    # {host: [units]} site.yml starts there, dependants first.
    units: dict[str, list[str]] = field(default_factory=lambda: {h: list(u) for h, u in units().items()})
    _vars_cache: dict[tuple[str, str], Any] = field(default_factory=dict)

    # -- ansible ---------------------------------------------------------------------------
    def playbook(
        self,
        name_or_path: str | Path,
        *extra_args: str,
        env: dict[str, str] | None = None,
        timeout: int = 1800,
        **options: Any,
    ) -> subprocess.CompletedProcess[str]:
        """Run a playbook (a bare name resolves to playbooks/) against the devnet; never raises.
        `options`: playbook_argv's (extra_vars, tags, skip_tags, check, verbosity, limit). Its
        output is kept for test_99's secret scan."""
        run = subprocess.run(
            self.playbook_argv(name_or_path, *extra_args, **options),
            capture_output=True,
            text=True,
            env=ansible_env(env),
            cwd=TOP,
            timeout=timeout,
            check=False,
        )
        record_output(name_or_path, run)
        return run

    def start_playbook(self, name_or_path: str | Path, log: Path, *, env: dict[str, str] | None = None,
                       **options: Any) -> subprocess.Popen[bytes]:  # fmt: skip
        """Start a playbook as playbook() runs it, without waiting (to kill it: fault tests); its
        output goes to `log` (a file, which never blocks the playbook as a full pipe would)."""
        record_started(name_or_path, log)
        with log.open("wb") as out:
            return subprocess.Popen(  # the argv is built here, no shell
                self.playbook_argv(name_or_path, **options),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=ansible_env(env),
                cwd=TOP,
            )

    def playbook_argv(
        self,
        name_or_path: str | Path,
        *extra_args: str,
        extra_vars: dict[str, Any] | None = None,
        tags: str | list[str] | None = None,
        skip_tags: str | list[str] | None = None,
        check: bool = False,
        verbosity: int = VERBOSITY,
        limit: str | None = None,
    ) -> list[str]:
        """ansible-playbook's argv for a devnet run (a bare name resolves to playbooks/), at
        MEVOPS_INTEGRATION_VERBOSITY (-vvv unless set: secret_watch.py)."""
        path = Path(name_or_path)
        if not path.is_absolute() and not path.exists():
            path = TOP / "playbooks" / path
        args = [
            str(BIN / "ansible-playbook"),
            "-i",
            str(self.inventory),
            "--vault-password-file",
            str(self.vault_password_file),
            str(path),
        ]
        if extra_vars:
            args += ["-e", json.dumps(extra_vars)]
        if tags:
            args += ["--tags", tags if isinstance(tags, str) else ",".join(tags)]
        if skip_tags:
            args += ["--skip-tags", skip_tags if isinstance(skip_tags, str) else ",".join(skip_tags)]
        if check:
            args += ["--check", "--diff"]
        if verbosity:
            args.append("-" + "v" * verbosity)
        if limit:
            args += ["--limit", limit]
        return args + list(extra_args)

    def hostvars(self, host: str, *names: str) -> dict[str, Any]:
        """Templated (vault-decrypted) values of `names` for `host`, from the inventory."""
        missing = [n for n in names if (host, n) not in self._vars_cache]
        if missing:
            # A variable the inventory leaves to a role default reads as null.
            expr = "{{ {" + ", ".join(f"'{n}': hostvars[inventory_hostname]['{n}'] | default(none)" for n in missing)
            values = ansible_debug(host, expr + "} | to_json }}", self.inventory)[host]
            for key, value in values.items():
                self._vars_cache[(host, key)] = value
        return {n: self._vars_cache[(host, n)] for n in names}

    @staticmethod
    def recap(run: subprocess.CompletedProcess[str]) -> dict[str, dict[str, int]]:
        """{host: {ok, changed, unreachable, failed, skipped, ...}} from a run's last PLAY RECAP."""
        tail = run.stdout.rsplit("PLAY RECAP", 1)[1]
        return {
            host: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counts)}
            for host, counts in re.findall(r"^(\S+)\s+:\s+(.*)$", tail, flags=re.M)
        }

    # -- hosts -----------------------------------------------------------------------------
    def login(self, host: str) -> Login:
        """How the controller logs in to `host` (its inventory's connection variables)."""
        return logins(self.inventory)[host]

    def exec(
        self, host: str, *argv: str, check: bool = True, input: str | None = None, timeout: int = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run argv on a devnet host as root (ssh + sudo, as Ansible); raises on failure when check."""
        proc = subprocess.run(
            self.login(host).sudo(*argv),
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{host}: {' '.join(argv)} exited {proc.returncode}: {proc.stdout}{proc.stderr}")
        return proc

    def systemctl(self, host: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.exec(host, "systemctl", *args, check=check)

    def psql(self, query: str) -> str:
        """`query` in the database on the database host, as postgres; its rows unaligned."""
        argv = ("runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-d", "mev_infrastructure", "-c", query)
        return self.exec(DB_HOST, *argv).stdout.strip()

    def unit_active(self, host: str, unit: str) -> bool:
        return self.systemctl(host, "is-active", "--quiet", unit, check=False).returncode == 0

    def inactive_units(self) -> dict[str, list[str]]:
        """{host: [units site.yml starts there, not active]} (one command per host); {} when all run."""
        found = {}
        for host, names in self.units.items():
            states = self.systemctl(host, "is-active", *names, check=False).stdout.split()
            down = [unit for unit, state in zip(names, states, strict=False) if state != "active"]
            if down or len(states) != len(names):
                found[host] = down or names
        return found

    def http(
        self,
        host: str,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int, Any]:
        """One HTTP request made from inside `host` (the services listen on its loopback)."""
        request = {
            "method": method,
            "url": url,
            "json": json_body,
            "headers": {"Content-Type": "application/json", **(headers or {})},
            "timeout": timeout,
        }
        proc = self.exec(host, "python3", "-c", _HTTP_SNIPPET, input=json.dumps(request), timeout=int(timeout) + 30)
        reply = json.loads(proc.stdout)
        return reply["status"], reply["body"]

    def received(self, path: str) -> list[dict[str, Any]]:
        """What the alert receiver on the monitoring host recorded at `path` (/emergency, the
        Alertmanager webhooks' /alertmanager/critical and /warning), oldest first."""
        address = self.hostvars(MON_HOST, "monitoring_alert_receiver_listen_address")
        url = f"http://{address['monitoring_alert_receiver_listen_address']}/received"
        status, entries = self.http(MON_HOST, "GET", url)
        assert status == 200, entries
        return [entry for entry in entries if entry["path"] == path]

    def firing_received(self, alertname: str, path: str = "/alertmanager/critical") -> list[dict[str, Any]]:
        """The firing `alertname` notifications the receiver recorded at `path`, oldest first."""
        return [
            alert
            for entry in self.received(path)
            for alert in entry["body"].get("alerts", [])
            if alert["labels"].get("alertname") == alertname and alert["status"] == "firing"
        ]

    # -- engine and chains -----------------------------------------------------------------
    def api(
        self, method: str, path: str, json: Any = None, host: str = ENGINE_HOST, timeout: float = 10
    ) -> tuple[int, Any]:
        """The engine API on `host` with the devnet's bearer token."""
        token = self.hostvars(host, "mev_engine_api_token")["mev_engine_api_token"]
        # Made on the engine host itself, where the API binds (Prometheus scrapes it there too).
        url = f"http://{self.target('mev-engine', host)}{path}"
        return self.http(
            host, method, url, json_body=json, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def target(self, job: str, host: str) -> str:
        """address:port of `job` on `host` (mev-engine, prometheus, alertmanager, node-exporter, ...), as
        Prometheus on the monitoring host scrapes it: where the service binds (docs/topology.md)."""
        targets = self.derived(MON_HOST, "topology_scrape_targets")
        return next(t["target"] for t in targets if t["job"] == job and t["host"] == host)

    def derived(self, host: str, filter_name: str) -> Any:
        """What a topology filter derives for `host` from the inventory (docs/topology.md)."""
        key = (host, f"derived:{filter_name}")
        if key not in self._vars_cache:
            self._vars_cache[key] = derived(host, filter_name, self.inventory)
        return self._vars_cache[key]

    def address(self, host: str) -> str:
        """The address the desk's other hosts reach `host` at."""
        return str(self.login(host).address)

    def chains(self, host: str = ENGINE_HOST) -> list[dict[str, Any]]:
        """The engine's chains (name, chain_id, http_url, ...), as the chain catalogue derives them."""
        return list(self.derived(host, "topology_engine_chains"))

    def rpc(self, chain: str, method: str, params: list[Any] | None = None, host: str = ENGINE_HOST) -> Any:
        """A JSON-RPC call to `chain` at the URL the engine uses, made from the engine host."""
        url = next(c["http_url"] for c in self.chains(host) if c["name"] == chain)
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        status, reply = self.http(host, "POST", url, json_body=body)
        if status != 200 or "error" in reply:
            raise AssertionError(f"{chain} {method}: HTTP {status} {reply}")
        return reply["result"]

    def trading_state(self, host: str = ENGINE_HOST) -> str:
        status, body = self.api("GET", "/api/v1/status", host=host)
        assert status == 200, body
        return body["trading"]["state"]

    def keystore_document(self) -> dict[str, Any]:
        return json.loads(self.exec(ENGINE_HOST, "cat", KEYSTORE).stdout)

    def hot_account(self) -> Any:
        """The engine's hot key, decrypted in the test (to send transactions and to grep outputs for it)."""
        from eth_account import Account

        password = self.hostvars(ENGINE_HOST, "mev_engine_keystore_password")["mev_engine_keystore_password"]
        return Account.from_key(Account.decrypt(self.keystore_document(), password))

    def engine_ready(self, host: str = ENGINE_HOST) -> bool:
        try:
            status, _body = self.api("GET", "/health/ready", host=host)
        except (AssertionError, json.JSONDecodeError, subprocess.TimeoutExpired, KeyError):
            return False
        return status == 200


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """MEVOPS_INTEGRATION_ORDER=reverse, or random[:SEED], runs the tests in that order instead of the
    files' (each test must pass in any order: it starts from `devnet_ready`, not from what the test
    before it left). The order and the seed are printed so that a failing order can be replayed."""
    order = os.environ.get("MEVOPS_INTEGRATION_ORDER", "")
    kind, _sep, seed = order.partition(":")
    if kind == "reverse" and not seed:
        items.reverse()
    elif kind == "random":
        seed = seed or str(random.SystemRandom().randrange(10**6))
        if not seed.isdigit():
            raise pytest.UsageError(f"MEVOPS_INTEGRATION_ORDER: the seed must be a number, got {seed!r}")
        random.Random(int(seed)).shuffle(items)
        order = f"random:{seed}"
    elif order:
        raise pytest.UsageError(f"MEVOPS_INTEGRATION_ORDER must be reverse, random or random:SEED, got {order!r}")
    # test_99 reads what every other test left (outputs, journals, argv watches): last in any order
    # (a stable sort keeps the others as ordered above).
    items.sort(key=lambda item: item.path.name.startswith(LAST))
    if not order:
        return
    names = "\n  ".join(item.nodeid for item in items)
    print(f"\nMEVOPS_INTEGRATION_ORDER={order}:\n  {names}", file=sys.stderr)


@pytest.fixture(scope="session")
def devnet() -> Devnet:
    """The running devnet; the tier fails (not skips) when a host does not answer over SSH."""
    devnet = Devnet()
    missing = sorted(set(DEVNET_HOSTS) - set(logins(devnet.inventory)))
    missing += [h for h in DEVNET_HOSTS if h not in missing and devnet.exec(h, "true", check=False).returncode]
    if missing:
        pytest.fail(
            f"the devnet is not running (no SSH login to {', '.join(missing)}): "
            "run scripts/integration.sh, or `make devnet` before pytest tests/integration"
        )
    return devnet


@pytest.fixture(scope="session", autouse=True)
def secret_watch(devnet: Devnet) -> Iterator[SecretWatch]:
    """Sentinel secrets watched for the whole session (secret_watch.py); test_99 reads the result."""
    watch = SecretWatch(devnet)
    watch.start({"hot wallet private key": devnet.hot_account().key.hex().removeprefix("0x")})
    yield watch
    watch.stop()


@pytest.fixture
def devnet_ready(devnet: Devnet) -> Devnet:
    """The devnet cold-started: every unit active, engine ready, trading disabled.

    Re-runs cold_start.yml when a unit is down or the engine is not ready, then disables
    trading through the API if a previous test left it enabled.
    """
    if devnet.inactive_units() or not devnet.engine_ready():
        run = devnet.playbook("cold_start.yml")
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert not devnet.inactive_units(), f"cold_start.yml finished but units are down: {devnet.inactive_units()}"
        assert devnet.engine_ready(), "cold_start.yml finished but the engine is not ready"
    if devnet.trading_state() != "disabled":
        status, body = devnet.api("POST", "/api/v1/trading/disable", {"reason": "integration test reset"})
        assert status in (200, 202), body
    return devnet
