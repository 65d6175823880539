"""Verify mev_engine on one host with anvil, PostgreSQL and Redis: units active and
sandboxed, API probes and metrics, files' modes, and the reference strategy trading on the
devnet only while trading is enabled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

COMPONENTS = ["detection", "calculation", "execution", "monitoring"]
TOKEN = "molecule-api-token-0123456789abcdefghij"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SCENARIO = Path(__file__).resolve().parents[1]


# One HTTP request from inside the container with its python3 (the image has no curl):
# prints the status code, a newline, then the body.
HTTP = """
import sys, urllib.error, urllib.request
method, url, token, body = sys.argv[1:5]
request = urllib.request.Request(url, data=body.encode() or None, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
try:
    answer = urllib.request.urlopen(request, timeout=90)
except urllib.error.HTTPError as exc:
    answer = exc
print(answer.status if hasattr(answer, "status") else answer.code)
print(answer.read().decode())
"""


def http(host, method, path, body=None, token=TOKEN):
    """(status, body text) of a request to the engine's API, made inside the container."""
    out = host.run("python3 -c %s %s %s %s %s", HTTP, method, f"http://127.0.0.1:8090{path}", token,
                   "" if body is None else json.dumps(body))  # fmt: skip
    assert out.rc == 0, out.stderr
    code, _newline, text = out.stdout.partition("\n")
    return int(code), text


def api(host, method, path, body=None, token=TOKEN):
    """(status, parsed JSON body) of an API call."""
    code, text = http(host, method, path, body, token)
    try:
        return code, json.loads(text)
    except ValueError:
        return code, text


def sql(host, query):
    return host.check_output(f'runuser -u postgres -- psql -d mev_infrastructure -tAc "{query}"')


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def devnet(host, action):
    address = host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
    subprocess.run([sys.executable, str(SCENARIO / "devnet.py"), action, f"http://{address}:8545",
                    str(EPHEMERAL / "devnet.yml")], check=True, timeout=120)  # fmt: skip


@pytest.mark.parametrize("component", COMPONENTS)
def test_unit_active_enabled_and_ordered(host, component):
    service = host.service(f"mev-{component}")
    assert service.is_running
    assert service.is_enabled
    text = host.file(f"/etc/systemd/system/mev-{component}.service").content_string
    for unit in ("postgresql.service", "redis-server.service", "ethereum-anvil.service"):
        assert unit in text.split("Requires=")[1].splitlines()[0]


@pytest.mark.parametrize("component", COMPONENTS)
def test_unit_exposure_at_most_2(host, component):
    out = host.check_output(f"systemd-analyze security --no-pager mev-{component}.service | tail -1")
    # "→ Overall exposure level for mev-x.service: 1.9 OK 🙂"
    score = float(out.split(":")[1].split()[0])
    assert score <= 2.0, out


@pytest.mark.parametrize(
    ("component", "nice"), [("monitoring", 0), ("detection", -10), ("calculation", -5), ("execution", -10)]
)
def test_runs_at_its_nice_unpinned_while_no_cpus_are_set_aside(host, component, nice):
    """mev_engine_nice's defaults on the running process; host_tuning_isolated_cpus is "" here: no CPUAffinity=."""
    pid = host.check_output(f"systemctl show -p MainPID --value mev-{component}")
    assert int(host.check_output(f"ps -o ni= -p {pid}")) == nice
    assert "CPUAffinity=" not in host.file(f"/etc/systemd/system/mev-{component}.service").content_string


def test_runs_as_mev_from_the_current_release(host):
    pid = host.check_output("systemctl show -p MainPID --value mev-monitoring")
    assert host.check_output(f"stat -c %U /proc/{pid}") == "mev"
    assert host.file("/opt/mev/current").is_symlink
    assert host.file("/opt/mev/current").linked_to == "/opt/mev/releases/0.5.1"
    assert host.file("/opt/mev/releases/0.5.1/venv/bin/mev-engine").exists


def test_files_modes_and_owners(host):
    expected = {
        "/etc/mev": ("root", "mev", 0o750),
        "/etc/mev/engine.yml": ("root", "mev", 0o640),
        "/etc/mev/engine.env": ("root", "root", 0o600),
        "/etc/mev/keystore": ("mev", "mev", 0o700),
        "/etc/mev/keystore/hot.json": ("mev", "mev", 0o600),
    }
    for path, (user, group, mode) in expected.items():
        f = host.file(path)
        assert (f.user, f.group, f.mode) == (user, group, mode), path
    assert "MEV_API_TOKEN=" in host.file("/etc/mev/engine.env").content_string
    assert "molecule-api-token" not in host.file("/etc/mev/engine.yml").content_string
    assert host.run("runuser -u mev -- cat /etc/mev/engine.env").rc != 0


# What each component's unit gets (the engine's COMPONENT_SECRETS): the keystore password only in
# mev-execution's environment, the API token only in mev-monitoring's.
UNIT_SECRETS = {"monitoring": {"MEV_API_TOKEN"}, "detection": set(), "calculation": set(),
                "execution": {"MEV_KEYSTORE_PASSWORD"}}  # fmt: skip


@pytest.mark.parametrize("component", sorted(UNIT_SECRETS))
def test_each_unit_holds_only_its_own_secrets(host, component):
    env_file = host.file(f"/etc/mev/engine-{component}.env")
    assert (env_file.user, env_file.group, env_file.mode) == ("root", "root", 0o600)
    pid = host.check_output(f"systemctl show -p MainPID --value mev-{component}.service")
    assert pid != "0", f"mev-{component} is not running"
    names = {line.split("=", 1)[0] for line in host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()}
    wanted = UNIT_SECRETS[component]
    assert names & {"MEV_API_TOKEN", "MEV_KEYSTORE_PASSWORD"} == wanted, (component, sorted(names))


def test_config_validates_with_the_engine(host):
    out = host.check_output("/opt/mev/current/venv/bin/mev-engine validate-config --config /etc/mev/engine.yml "
                            "--env-file /etc/mev/engine.env")  # fmt: skip
    assert out


def test_ready_probe_and_metrics(host):
    assert wait_for(lambda: api(host, "GET", "/health/ready")[0] == 200, 60, "ready 200")
    code, metrics = http(host, "GET", "/metrics")
    assert code == 200
    for name in ("mev_detection_latency_seconds_bucket", "mev_candidates_total", "mev_trading_enabled 0.0",
                 'mev_component_up{component="execution"} 1.0', "mev_chain_head_block"):  # fmt: skip
        assert name in metrics


def test_api_refuses_a_wrong_token(host):
    assert api(host, "GET", "/api/v1/status", token="wrong")[0] == 401


def test_trades_only_while_enabled(host):
    status = api(host, "GET", "/api/v1/status")[1]
    assert status["trading"]["enabled"] is False  # cold start: disabled after deploy
    # Disabled: the imbalance is recorded as an opportunity, and nothing is sent.
    devnet(host, "imbalance")
    wait_for(lambda: int(sql(host, "SELECT count(*) FROM mev.opportunities WHERE status = 'detected'")) > 0,
             60, "an opportunity recorded while disabled")  # fmt: skip
    time.sleep(3)  # a few blocks: an order, if one were made, would be sent by now
    assert sql(host, "SELECT count(*) FROM mev.transactions") == "0"
    # Enabled: a new imbalance is traded and the transaction reaches a receipt.
    assert api(host, "POST", "/api/v1/trading/enable", {"reason": "molecule"})[0] == 200
    try:
        devnet(host, "imbalance")
        wait_for(lambda: int(sql(host, "SELECT count(*) FROM mev.transactions WHERE status = 'confirmed'")) > 0,
                 90, "a confirmed transaction")  # fmt: skip
    finally:
        assert api(host, "POST", "/api/v1/trading/disable", {"reason": "molecule done"})[0] == 200
