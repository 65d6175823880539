"""The production topology on the devnet: four hosts, the six runbook chains, host security on.

What the chain catalogue derives (docs/topology.md) is checked against the running devnet,
the way production would be: the engine watches every chain of the catalogue at its real
chain id; Prometheus scrapes exactly the targets the inventory derives and all are up; only
named alerts fire; the security check passes; each node port answers from the engine host and
is dropped from the database host; the engine API answers only where it is needed.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
from devnet_hosts import DB_HOST, ENGINE_HOST, MON_HOST, NODE_HOST

# Alerts a healthy devnet may fire, and why: two shared cores under a test run (CPU, detection
# latency), and a desk that has not traded this hour (the pools are balanced between tests).
TOLERATED_ALERTS = {
    "HostHighCpu": "two cores shared by four hosts and the test run",
    "HighDetectionLatency": "the same shared cores",
    "NoOpportunities": "no imbalance between tests",
    "LowProfitability": "no trade between tests",
}

# One TCP connection from a host: "open", "refused" (nothing listens, RST) or "dropped" (no answer).
_PROBE = r"""
import socket, sys
s = socket.socket(); s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("open")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("dropped")
"""


def probe(devnet, host: str, address: str, port: int | str) -> str:
    return devnet.exec(host, "python3", "-c", _PROBE, address, str(port)).stdout.strip()


def controller_get(url: str, timeout: float = 10) -> tuple[int, object]:
    """A GET from the controller itself (the management network)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, json.loads(response.read())


def test_the_engine_watches_every_catalogue_chain_at_its_real_chain_id(devnet_ready):
    devnet = devnet_ready
    catalogue = devnet.derived(ENGINE_HOST, "topology_engine_chains")
    assert [c["name"] for c in catalogue] == ["ethereum", "base", "polygon", "arbitrum", "optimism", "avalanche"]
    assert [c["chain_id"] for c in catalogue] == [1, 8453, 137, 42161, 10, 43114]
    status, body = devnet.api("GET", "/api/v1/status")
    assert status == 200, body
    assert sorted(body["chains"]) == sorted(c["name"] for c in catalogue)
    for chain in catalogue:
        assert int(devnet.rpc(chain["name"], "eth_chainId"), 16) == chain["chain_id"], chain
    assert devnet.engine_ready()


def test_node_ports_answer_from_the_engine_host_and_are_dropped_elsewhere(devnet_ready):
    devnet = devnet_ready
    node = devnet.address(NODE_HOST)
    ports = sorted({r["port"] for r in devnet.derived(NODE_HOST, "topology_firewall")["rules"] if r["port"] != 9100})
    assert ports == [8545, 8546, 8547, 8548, 8549, 8550]
    for port in ports:
        assert probe(devnet, ENGINE_HOST, node, port) == "open", port
        assert probe(devnet, DB_HOST, node, port) == "dropped", port
        assert probe(devnet, MON_HOST, node, port) == "dropped", port


def test_the_engine_api_answers_only_where_it_is_needed(devnet_ready):
    devnet = devnet_ready
    engine, port = devnet.target("mev-engine", ENGINE_HOST).rsplit(":", 1)
    # The devnet's API port is not the role default: every procedure test (maintenance, upgrade,
    # restore, key rotation, emergency) then reaches the API only through the derived URL.
    assert int(port) == devnet.hostvars(ENGINE_HOST, "mev_engine_api_port")["mev_engine_api_port"] != 8090
    assert probe(devnet, ENGINE_HOST, engine, 8090) == "refused"
    # Prometheus scrapes it; the controller (management network) calls it; the engine host itself.
    assert probe(devnet, MON_HOST, engine, port) == "open"
    assert controller_get(f"http://{engine}:{port}/health/live")[0] == 200
    assert probe(devnet, ENGINE_HOST, engine, port) == "open"
    # Nobody else.
    assert probe(devnet, NODE_HOST, engine, port) == "dropped"
    assert probe(devnet, DB_HOST, engine, port) == "dropped"
    # PostgreSQL: the engine host only.
    database = devnet.address(DB_HOST)
    assert probe(devnet, ENGINE_HOST, database, 5432) == "open"
    assert probe(devnet, NODE_HOST, database, 5432) == "dropped"


def test_prometheus_scrapes_every_derived_target_and_all_are_up(devnet_ready):
    devnet = devnet_ready
    expected = {(t["job"], t["host"], t["target"]) for t in devnet.derived(MON_HOST, "topology_scrape_targets")}
    # What the inventory implies: a node_exporter on each of the four hosts, postgres_exporter with
    # PostgreSQL, redis_exporter with Redis (the engine host), the engine's /metrics, Prometheus, Alertmanager.
    assert {(job, host) for job, host, _target in expected} >= {
        *(("node-exporter", h) for h in (NODE_HOST, DB_HOST, ENGINE_HOST, MON_HOST)),
        ("postgres-exporter", DB_HOST), ("redis-exporter", ENGINE_HOST), ("mev-engine", ENGINE_HOST),
        ("prometheus", MON_HOST), ("alertmanager", MON_HOST),
    }  # fmt: skip
    url = f"http://{devnet.target('prometheus', MON_HOST)}/api/v1/targets?state=active"
    deadline = time.monotonic() + 90
    while True:
        status, body = controller_get(url)  # from the management network
        assert status == 200
        active = body["data"]["activeTargets"]
        seen = {(t["labels"]["job"], t["labels"]["instance"], t["scrapeUrl"].split("/")[2]) for t in active}
        down = [(t["labels"]["job"], t["labels"]["instance"], t["lastError"]) for t in active if t["health"] != "up"]
        if seen == expected and not down:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"targets: expected {sorted(expected)}, seen {sorted(seen)}; down: {down}")
        time.sleep(3)


_RANGE_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _longest_lookback(devnet, names: set[str]) -> float:
    """Seconds an alert of `names` may keep firing once its cause has ended: the longest range its
    expression looks back over (e.g. `[5m]`), read from Prometheus's own loaded rules."""
    status, body = controller_get(f"http://{devnet.target('prometheus', MON_HOST)}/api/v1/rules?type=alert")
    assert status == 200
    ranges = [
        int(n) * _RANGE_SECONDS[unit]
        for group in body["data"]["groups"]
        for rule in group["rules"]
        if rule["name"] in names
        for n, unit in re.findall(r"\[(\d+)([smhd])\]", rule["query"])
    ]
    return max(ranges, default=0)


def test_only_named_alerts_fire(devnet_ready):
    """Nothing but the tolerated alerts fires on the devnet. A test that ran before may have caused a
    real alert on purpose (the upgrade rollback's broken release answers 5xx, the emergency stops the
    API): such an alert must clear by itself within its expression's look-back window plus a minute
    (evaluation and Alertmanager), so the test waits that long for it and names what it waited for."""
    devnet = devnet_ready
    url = f"http://{devnet.target('alertmanager', MON_HOST)}/api/v2/alerts?active=true&silenced=false"

    def unexpected_alerts() -> dict[str, dict[str, str]]:
        status, alerts = controller_get(url)
        assert status == 200
        firing = {a["labels"]["alertname"]: a["labels"] for a in alerts}
        return {name: labels for name, labels in firing.items() if name not in TOLERATED_ALERTS}

    unexpected = unexpected_alerts()
    if not unexpected:
        return
    settle = _longest_lookback(devnet, set(unexpected)) + 60
    print(f"waiting up to {settle:.0f} s for alerts a previous test may have caused to clear: {sorted(unexpected)}")
    deadline = time.monotonic() + settle
    while unexpected and time.monotonic() < deadline:
        time.sleep(10)
        unexpected = unexpected_alerts()
    assert not unexpected, (
        f"alerts still firing on a healthy devnet {settle:.0f} s after first seen (longer than their look-back): "
        f"{unexpected}"
    )


def test_the_security_check_passes_on_every_host(devnet_ready):
    devnet = devnet_ready
    run = devnet.playbook("security_check.yml")
    assert run.returncode == 0, run.stdout[-6000:]
    for host in (NODE_HOST, DB_HOST, ENGINE_HOST, MON_HOST):
        report = json.loads(devnet.exec(host, "cat", "/var/lib/mevops/security_check.json").stdout)
        critical = [f for f in report["findings"] if f["severity"] == "critical"]
        assert not critical, f"{host}: {critical}"
