"""The topology derivations (plugins/plugin_utils/topology.py) on small inventories given as
plain hostvars: what the roles get from the chain catalogue, and the flows."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mevops.infra.plugins.plugin_utils import topology

CATALOGUE = [
    {"name": "ethereum", "client": "erigon"},
    {"name": "base", "client": "op-geth", "l1": "ethereum"},
    {"name": "polygon", "client": "bor", "l1": "ethereum"},
    {"name": "arbitrum", "client": "nitro", "l1": "ethereum"},
    {"name": "avalanche", "client": "avalanchego", "engine": {"pending_transactions": False}},
]
GROUPS = {"evm_nodes": ["node"], "databases": ["db"], "engines": ["engine"], "monitoring": ["mon"]}
ADDRESSES = {"node": "10.0.1.11", "db": "10.0.2.11", "engine": "10.0.3.11", "mon": "10.0.4.11"}


def hostvars(**per_host: dict) -> dict:
    """Four hosts as production lays them out; services bound to each host's address."""
    out = {}
    for host, address in ADDRESSES.items():
        out[host] = {
            "ansible_host": address,
            "mevops_chains": copy.deepcopy(CATALOGUE),
            "firewall_management_networks": ["10.0.100.0/24"],
            "monitoring_node_exporter_listen_address": f"{address}:9100",
            "monitoring_postgres_exporter_listen_address": f"{address}:9187",
            "monitoring_redis_exporter_enabled": False,
        }
    out["node"].update(evm_node_http_addr="10.0.1.11", evm_node_ws_addr="10.0.1.11")
    out["db"].update(postgresql_listen_addresses="localhost,10.0.2.11")
    out["engine"].update(mev_engine_api_host="10.0.3.11")
    out["mon"].update(
        monitoring_prometheus_listen_address="10.0.4.11:9090", monitoring_alertmanager_listen_address="10.0.4.11:9093"
    )
    for host, values in per_host.items():
        out.setdefault(host, {}).update(values)
    return out


def inventory(**per_host: dict) -> topology.Inventory:
    return topology.Inventory(hostvars(**per_host), GROUPS)


def test_node_chains_point_l2_clients_at_the_l1_where_it_binds():
    chains = {c["name"]: c for c in topology.node_chains(inventory(), "node")}
    assert list(chains) == ["ethereum", "base", "polygon", "arbitrum", "avalanche"]
    # Same host, bound to the private address: the L1 there, not 127.0.0.1 (erigon would not answer).
    assert chains["base"]["l1_rpc_url"] == "http://10.0.1.11:8545"
    assert chains["base"]["l1_beacon_url"] == "http://10.0.1.11:5052"
    assert chains["arbitrum"]["l1_beacon_url"] == "http://10.0.1.11:5052"
    # bor/heimdall need the L1 RPC only; avalanche follows nothing.
    assert chains["polygon"]["l1_rpc_url"] == "http://10.0.1.11:8545"
    assert "l1_beacon_url" not in chains["polygon"]
    assert "l1_rpc_url" not in chains["avalanche"]
    # Per-name defaults filled in: the runbook ports and chain ids.
    assert (chains["ethereum"]["http_port"], chains["ethereum"]["chain_id"]) == (8545, 1)
    assert "served_by" not in chains["base"] and "l1" not in chains["base"]


def test_an_l1_on_another_host_is_reached_at_that_hosts_address():
    hv = {
        "node2": {
            "ansible_host": "10.0.1.12",
            "evm_node_http_addr": "0.0.0.0",
            "mevops_chains": copy.deepcopy(CATALOGUE),
        }
    }
    inv = topology.Inventory(hostvars(**hv), {**GROUPS, "evm_nodes": ["node", "node2"]})
    for host in ("node", "node2"):
        inv.hostvars[host]["mevops_chains"][0]["served_by"] = "node2"
        inv.hostvars[host]["mevops_chains"][1]["served_by"] = "node"
    base = topology.node_chains(inv, "node")[0]
    assert base["name"] == "base"
    assert base["l1_rpc_url"] == "http://10.0.1.12:8545"
    # node2 binds everywhere: on node2 itself the chain is reached on loopback.
    assert topology.chain_url(inv, topology.resolve_chains(inv)[0], "node2") == "http://127.0.0.1:8545"


def test_engine_chains_use_the_serving_hosts_address():
    chains = {c["name"]: c for c in topology.engine_chains(inventory(), "engine")}
    assert chains["ethereum"] == {
        "name": "ethereum",
        "chain_id": 1,
        "http_url": "http://10.0.1.11:8545",
        "ws_url": "ws://10.0.1.11:8645",
    }
    # avalanchego: JSON-RPC and WebSocket under their paths on the HTTP port.
    assert chains["avalanche"]["http_url"] == "http://10.0.1.11:8550/ext/bc/C/rpc"
    assert chains["avalanche"]["ws_url"] == "ws://10.0.1.11:8550/ext/bc/C/ws"
    assert chains["avalanche"]["pending_transactions"] is False


def test_anvil_serves_websocket_on_its_http_port():
    hv = hostvars()
    for values in hv.values():
        values["mevops_chains"] = [{"name": "ethereum", "client": "anvil"}, {"name": "base", "client": "anvil"}]
    inv = topology.Inventory(hv, GROUPS)
    assert topology.engine_chains(inv, "engine")[1] == {
        "name": "base",
        "chain_id": 8453,
        "http_url": "http://10.0.1.11:8546",
        "ws_url": "ws://10.0.1.11:8546",
    }
    # No P2P, no separate WebSocket port: anvil listens on its HTTP port only.
    rules = topology.firewall_rules(inv, "node")
    assert rules["p2p_ports"] == []
    assert [r["port"] for r in rules["rules"]] == [8545, 8546, 9100]


def test_the_node_firewall_admits_exactly_the_engine_and_p2p():
    rules = topology.firewall_rules(inventory(), "node")
    by_port = {r["port"]: r for r in rules["rules"]}
    assert set(by_port) == {8545, 8546, 8547, 8548, 8550, 8645, 8646, 8647, 8648, 9100}
    assert by_port[8646] == {"name": "base ws from engine", "port": 8646, "protocol": "tcp", "sources": ["10.0.3.11"]}
    assert by_port[9100]["sources"] == ["10.0.4.11"]
    # P2P from each client's defaults (erigon, op-geth + op-node, bor + heimdall, avalanchego;
    # nitro has none): the chain list's own entries are not enough.
    assert rules["p2p_ports"] == [9222, 9651, 26656, 30303, 30304, 30305]
    assert rules["unresolved"] == []


def test_the_engine_api_is_admitted_from_monitoring_and_management_only():
    rules = topology.firewall_rules(inventory(), "engine")["rules"]
    assert rules[0] == {
        "name": "engine API and /metrics from monitoring, management",
        "port": 8090,
        "protocol": "tcp",
        "sources": ["10.0.4.11", "10.0.100.0/24"],
    }
    assert [r["port"] for r in rules] == [8090, 9100]


def test_postgresql_flows_the_dsn_and_pg_hba_clients():
    inv = inventory()
    assert topology.postgres_dsn(inv, "engine") == "postgresql://mev_user@10.0.2.11:5432/mev_infrastructure"
    assert topology.postgres_clients(inv, "db") == ["10.0.3.11"]
    box = topology.Inventory({"box": {"ansible_host": "10.0.0.5"}}, {g: ["box"] for g in GROUPS})
    assert topology.postgres_dsn(box, "box") == "postgresql://mev_user@127.0.0.1:5432/mev_infrastructure"
    assert topology.postgres_clients(box, "box") == []


def test_expected_listeners_leave_loopback_out():
    ports = {(x["port"], x["protocol"]) for x in topology.expected_listeners(inventory(), "node")}
    assert {(22, "tcp"), (8545, "tcp"), (5052, "tcp"), (8645, "tcp"), (9100, "tcp"), (30303, "udp")} <= ports
    # Companion ports bound to loopback by their flags (authrpc, erigon's private API) are not listeners.
    assert (8551, "tcp") not in ports and (9190, "tcp") not in ports
    engine = {x["port"] for x in topology.expected_listeners(inventory(), "engine")}
    assert engine == {22, 8090, 9100}  # Redis stays on loopback


def test_scrape_targets_follow_the_binds():
    targets = {(t["job"], t["host"]): t for t in topology.scrape_targets(inventory(), "mon")}
    assert targets[("mev-engine", "engine")]["target"] == "10.0.3.11:8090"
    assert targets[("postgres-exporter", "db")]["target"] == "10.0.2.11:9187"
    assert targets[("prometheus", "mon")]["target"] == "10.0.4.11:9090"
    assert not any(t["unreachable"] for t in targets.values())
    looped = topology.Inventory(hostvars(db={"monitoring_node_exporter_listen_address": "127.0.0.1:9100"}), GROUPS)
    assert [t["host"] for t in topology.scrape_targets(looped, "mon") if t["unreachable"]] == ["db"]


def test_the_controller_reaches_the_engine_api_where_it_binds():
    assert topology.engine_api_url(inventory(), "engine") == "http://10.0.3.11:8090"
    # Every interface: the host's address; a port of its own; IPv6 in brackets.
    everywhere = inventory(engine={"mev_engine_api_host": "0.0.0.0", "mev_engine_api_port": 9443})
    assert topology.engine_api_url(everywhere, "engine") == "http://10.0.3.11:9443"
    v6 = inventory(engine={"mev_engine_api_host": "fd00::3"})
    assert topology.engine_api_url(v6, "engine") == "http://[fd00::3]:8090"
    # Loopback only (the role's default): the controller cannot reach it; nor is a node host an engine.
    assert topology.engine_api_url(inventory(engine={"mev_engine_api_host": "127.0.0.1"}), "engine") == ""
    del_bind = hostvars()
    del del_bind["engine"]["mev_engine_api_host"]
    assert topology.engine_api_url(topology.Inventory(del_bind, GROUPS), "engine") == ""
    assert topology.engine_api_url(inventory(), "node") == ""


def test_without_a_catalogue_the_hand_written_chains_count():
    hv = hostvars()
    for values in hv.values():
        del values["mevops_chains"]
    hv["node"]["evm_node_chains"] = [{"name": "ethereum", "client": "anvil", "chain_id": 31337}]
    inv = topology.Inventory(hv, GROUPS)
    assert topology.node_chains(inv, "node") == []  # nothing derived: the role uses its own list
    assert [c.name for c in topology.resolve_chains(inv)] == ["ethereum"]
    assert topology.engine_chains(inv, "engine") == []


def test_local_url_reaches_a_wildcard_bind_at_loopback():
    expected = {
        "0.0.0.0:9093": "http://127.0.0.1:9093",
        "[::]:9093": "http://127.0.0.1:9093",
        ":::8090": "http://127.0.0.1:8090",
        "*:9093": "http://127.0.0.1:9093",
        ":9093": "http://127.0.0.1:9093",
        "localhost:8090": "http://127.0.0.1:8090",
        "10.0.4.11:9095": "http://10.0.4.11:9095",
        "fd00::5:8090": "http://[fd00::5]:8090",
        "[fd00::5]:8090": "http://[fd00::5]:8090",
    }
    assert {listen: topology.local_url(listen) for listen in expected} == expected
    assert topology.local_url("10.0.4.11:9093", "https") == "https://10.0.4.11:9093"
    for bad in ("10.0.4.11", "10.0.4.11:http", ""):
        with pytest.raises(topology.TopologyError, match="host:port"):
            topology.local_url(bad)


def test_a_chains_backup_providers_reach_the_engine_and_are_checked_without_their_keys():
    hv = hostvars()
    backups = [{"http_url": "https://eth.example.net/v2/KEY1", "ws_url": "wss://eth.example.net/ws/v2/KEY1"}]
    for values in hv.values():
        values["mevops_chains"][0]["engine"] = {"backups": backups}
    inv = topology.Inventory(hv, GROUPS)
    assert topology.engine_chains(inv, "engine")[0]["backups"] == backups
    problems: list[str] = []
    topology.resolve_chains(inv, problems=problems)
    assert problems == []
    for values in hv.values():
        values["mevops_chains"][0]["engine"] = {"backups": [{"http_url": "eth.example.net/v2/KEY2"}, "KEY3", {}]}
    topology.resolve_chains(topology.Inventory(hv, GROUPS), problems=problems)
    assert problems == [
        "mevops_chains ethereum: engine.backups[0].http_url must be a http:// or https:// URL with a host",
        "mevops_chains ethereum: engine.backups[1] must be a mapping with http_url (and optionally ws_url)",
        "mevops_chains ethereum: engine.backups[2] must be a mapping with http_url (and optionally ws_url)",
    ]
    assert not any("KEY" in problem for problem in problems)
