"""Verify the monitoring role across two hosts: services, targets derived from the
inventory, every rule loaded, routing, a synthetic alert that reaches the webhook
receiver while its warning is inhibited, and the maintenance silence task file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import testinfra
import yaml

MON = "mevops-monitoring"
DB = "mevops-monitoring-db"
SCENARIO = Path(__file__).resolve().parents[1]
TOP = SCENARIO.parents[1]
ALERTS_DOC = TOP / "docs" / "alerts.md"

# Run once, not once per inventory host: the tests address both hosts themselves.
testinfra_hosts = [f"docker://{MON}"]


@pytest.fixture(scope="module")
def mon():
    return testinfra.get_host(f"docker://{MON}")


@pytest.fixture(scope="module")
def db():
    return testinfra.get_host(f"docker://{DB}")


def get_json(host, url: str):
    """GET a URL from inside a container (the services listen on its loopback)."""
    code = f"import sys, urllib.request; sys.stdout.write(urllib.request.urlopen({url!r}, timeout=5).read().decode())"
    return json.loads(host.check_output(f"python3 -c {json.dumps(code)}"))


def wait_for(what: str, probe, timeout: float = 90.0, step: float = 1.0):
    """Poll `probe` until it returns something truthy; fail naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (AssertionError, ValueError, RuntimeError) as exc:  # not up yet
            last = exc
        else:
            if last:
                return last
        time.sleep(step)
    pytest.fail(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def prom_query(mon, query: str) -> list[dict]:
    return get_json(mon, f"http://127.0.0.1:9090/api/v1/query?query={quote(query)}")["data"]["result"]


@pytest.mark.parametrize(
    ("name", "services"),
    [
        (MON, ["prometheus", "prometheus-alertmanager", "prometheus-node-exporter"]),
        (DB, ["prometheus-node-exporter", "prometheus-postgres-exporter", "prometheus-redis-exporter"]),
    ],
)
def test_services_are_enabled_and_running(name, services):
    host = testinfra.get_host(f"docker://{name}")
    for service in services:
        assert host.service(service).is_running, service
        assert host.service(service).is_enabled, service
    assert not host.package("grafana").is_installed


def test_monitoring_host_listens_on_loopback_only(mon):
    for port in (9090, 9093, 9100):
        assert mon.socket(f"tcp://127.0.0.1:{port}").is_listening, port
        assert not mon.socket(f"tcp://0.0.0.0:{port}").is_listening, port
    # Alertmanager's cluster port is off.
    assert not mon.socket("tcp://0.0.0.0:9094").is_listening
    assert mon.file("/etc/default/prometheus").contains("--storage.tsdb.retention.time=15d")


def test_exporters_on_the_db_host_listen_where_told(db):
    for port in (9100, 9187, 9121):
        assert db.socket(f"tcp://0.0.0.0:{port}").is_listening, port
    # Holds the connection string: Debian's own ownership and mode for it.
    env = db.file("/etc/default/prometheus-postgres-exporter")
    assert (env.user, env.group, env.mode) == ("prometheus", "prometheus", 0o640)
    assert db.file("/etc/default/prometheus-redis-exporter").mode == 0o600


def test_targets_are_the_ones_derived_from_the_inventory(mon, db):
    # The database host's exporters listen on all interfaces: Prometheus reaches them at the
    # address the desk's hosts reach that host at (its default IPv4: ansible_host is a name here).
    db_ip = db.check_output("ip -4 -o route get 1.1.1.1 | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'")
    expected = {
        ("prometheus", MON, "127.0.0.1:9090"),
        ("alertmanager", MON, "127.0.0.1:9093"),
        ("node-exporter", MON, "127.0.0.1:9100"),
        ("mev-engine", MON, "127.0.0.1:8090"),
        ("node-exporter", DB, f"{db_ip}:9100"),
        ("postgres-exporter", DB, f"{db_ip}:9187"),
        ("redis-exporter", DB, f"{db_ip}:9121"),
        ("evm-node", DB, f"{db_ip}:6060"),
    }

    def targets():
        active = get_json(mon, "http://127.0.0.1:9090/api/v1/targets")["data"]["activeTargets"]
        got = {(t["labels"]["job"], t["labels"]["instance"], t["discoveredLabels"]["__address__"]): t for t in active}
        assert set(got) == expected, sorted(got)
        # Everything that exists is scraped across the network; the engine and the EVM client are not deployed here.
        down = {key for key, t in got.items() if t["health"] != "up"}
        return got if down == {("mev-engine", MON, "127.0.0.1:8090"), ("evm-node", DB, f"{db_ip}:6060")} else None

    got = wait_for("every deployed exporter up", targets)
    assert got[("evm-node", DB, f"{db_ip}:6060")]["scrapeUrl"] == f"http://{db_ip}:6060/debug/metrics/prometheus"


def test_postgres_and_redis_are_seen_up_through_their_exporters(mon):
    for metric in ("pg_up", "redis_up"):
        result = wait_for(metric, lambda m=metric: prom_query(mon, f'{m}{{instance="{DB}"}} == 1'))
        assert len(result) == 1


def test_every_rule_is_loaded(mon):
    rendered = yaml.safe_load(mon.file("/etc/prometheus/rules/mev_alerts.yml").content_string)
    expected = {(r["alert"], r["labels"]["severity"]) for g in rendered["groups"] for r in g["rules"]}
    # Every alert docs/alerts.md documents (one section each), and no other.
    documented = {line[3:].strip() for line in ALERTS_DOC.read_text().splitlines() if line.startswith("## ")}
    assert {name for name, _severity in expected} == documented
    groups = get_json(mon, "http://127.0.0.1:9090/api/v1/rules")["data"]["groups"]
    loaded = {(r["name"], r["labels"]["severity"]) for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert loaded == expected
    assert all(r["health"] == "ok" for g in groups for r in g["rules"])


def test_alertmanager_routes_critical_and_warning_apart(mon):
    config = "--config.file=/etc/prometheus/alertmanager.yml"
    assert mon.check_output(f"amtool config routes test {config} severity=critical alertname=X") == "critical"
    assert mon.check_output(f"amtool config routes test {config} severity=warning alertname=X") == "warning"


def received(mon, path: str) -> list[dict]:
    """The bodies the role's alert receiver recorded at `path`, oldest first."""
    return [entry["body"] for entry in get_json(mon, "http://127.0.0.1:9095/received") if entry["path"] == path]


def test_alert_receiver_is_sandboxed_and_records_what_it_gets(mon):
    score = mon.check_output("systemd-analyze security mevops-alert-receiver.service | tail -1")
    assert float(score.split("service: ")[1].split()[0]) <= 3.0, score
    code = (
        "import json, urllib.request; urllib.request.urlopen(urllib.request.Request("
        "'http://127.0.0.1:9095/probe', data=json.dumps({'hello': 1}).encode(), method='POST'), timeout=5)"
    )
    mon.check_output(f"python3 -c {json.dumps(code)}")
    assert received(mon, "/probe")[-1] == {"hello": 1}
    assert mon.file("/var/lib/mevops-alert-receiver/received.jsonl").exists


def test_synthetic_low_balance_reaches_the_critical_receiver_and_inhibits_the_warning(mon, db):
    # Only what arrives from now on counts (verify may run more than once on one converge).
    seen = len(received(mon, "/critical"))
    # Push the condition: node_exporter's textfile collector on the db host serves it.
    textfile = "/var/lib/prometheus/node-exporter/molecule-synthetic.prom"
    db.check_output(
        f"printf '%s\\n' 'mev_wallet_balance_eth{{chain=\"devnet\",address=\"0xSYNTH\"}} 0.05' > {textfile}.tmp"
        f" && mv {textfile}.tmp {textfile}"
    )
    try:

        def delivered():
            return [
                alert
                for body in received(mon, "/critical")[seen:]
                for alert in body["alerts"]
                if alert["labels"].get("alertname") == "LowWalletBalance"
                and alert["labels"].get("address") == "0xSYNTH"
            ]

        alerts = wait_for("LowWalletBalance at the critical webhook", delivered)
        assert alerts[0]["status"] == "firing"
        assert alerts[0]["labels"]["severity"] == "critical"
        assert alerts[0]["labels"]["instance"] == DB
        assert alerts[0]["annotations"]["runbook"] == "mevops.infra/docs/alerts.md#lowwalletbalance"

        def warning_inhibited():
            alerts = get_json(mon, "http://127.0.0.1:9093/api/v2/alerts?filter=alertname%3D%22LowWalletBalance%22")
            return [a for a in alerts if a["labels"]["severity"] == "warning" and a["status"]["inhibitedBy"]]

        inhibited = wait_for("the warning inhibited by the critical", warning_inhibited)
        assert inhibited[0]["status"]["state"] == "suppressed"
        # Both went to Alertmanager together; the critical was delivered, the warning never is.
        assert "0xSYNTH" not in json.dumps(received(mon, "/warning"))
    finally:
        db.run(f"rm -f {textfile}")


def run_silence_playbook(state: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(TOP / ".collections"))
    env["ANSIBLE_CONFIG"] = str(TOP / "ansible.cfg")
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "-e",
            f"monitoring_silence_state={state}",
            str(SCENARIO / "silence.yml"),
        ],
        capture_output=True,
        text=True,
        cwd=TOP,
        timeout=300,
        check=False,
    )


def active_silences(mon) -> list[dict]:
    silences = get_json(mon, "http://127.0.0.1:9093/api/v2/silences")
    return [s for s in silences if s["status"]["state"] == "active" and s["comment"].startswith("molecule maintenance")]


def test_maintenance_silence_is_created_once_and_expired(mon):
    first = run_silence_playbook("present")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "changed=1" in first.stdout
    silences = active_silences(mon)
    assert len(silences) == 1
    assert silences[0]["comment"] == f"molecule maintenance of {DB}"
    matchers = {(m["name"], m["value"], m["isRegex"]) for m in silences[0]["matchers"]}
    assert matchers == {("instance", DB, False), ("alertname", "Host.*", True)}

    again = run_silence_playbook("present")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "changed=0" in again.stdout
    assert len(active_silences(mon)) == 1

    removed = run_silence_playbook("absent")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "changed=1" in removed.stdout
    assert active_silences(mon) == []
