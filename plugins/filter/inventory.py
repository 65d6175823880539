# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""The inventory checks of playbooks/validate_inventory.yml: every problem, as one list.

`inventory_problems(hosts, defaults, secrets)`:
  hosts     {inventory_hostname: {"groups": [...], "ansible_host": ..., <variable>: value, ...}}
            the variables the roles read (unset ones left out), as the inventory gives them
  defaults  {role: its defaults/main.yml} (what applies when a host sets nothing)
  secrets   {inventory_hostname: {vault variable: "ok" | "missing" | "placeholder"}}
Returns sorted, human-readable problems naming the host, the variable and what is wrong:
empty groups, port collisions on a host, engine chains no node serves (or on another port,
another chain id, or on a node listening on loopback only), a PostgreSQL DSN pointing at a
host that listens on localhost only, cold wallets that are not EIP-55 checksummed, and vault
variables missing or still holding a placeholder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from eth_utils import is_hex_address, to_checksum_address

GROUPS = ("evm_nodes", "databases", "engines", "monitoring")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
CHAIN_PORT_FIELDS = ("http_port", "ws_port", "p2p_port", "authrpc_port", "private_api_port", "cl_rpc_port",
                     "cl_p2p_port", "cl_api_port")  # fmt: skip


def _get(host: Mapping[str, Any], defaults: Mapping[str, Any], role: str, name: str) -> Any:
    return host[name] if name in host else defaults.get(role, {}).get(name)


def _chains(host: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The host's enabled evm_node chains with the per-chain defaults filled in."""
    per_chain = _get(host, defaults, "evm_node", "evm_node_chain_defaults") or {}
    chains = []
    for chain in host.get("evm_node_chains") or []:
        if not isinstance(chain, Mapping) or not chain.get("enabled", True):
            continue
        entry = dict(per_chain.get(chain.get("name"), {}) or {})
        entry.update({k: v for k, v in chain.items() if v is not None})
        entry.setdefault("http_addr", _get(host, defaults, "evm_node", "evm_node_http_addr"))
        if entry.get("client") == "anvil":
            # Anvil listens on its HTTP port only, WebSocket included; the name's other ports are unused.
            entry = {k: v for k, v in entry.items() if k not in CHAIN_PORT_FIELDS or k == "http_port"}
            entry["ws_port"] = entry.get("http_port")
        chains.append(entry)
    return chains


def _port_of(address: Any) -> int | None:
    """9100 for '0.0.0.0:9100' / '[::1]:9093'; None when unset."""
    if not address:
        return None
    try:
        return int(str(address).rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _ports(name: str, host: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(port, what) for everything this host listens on, per its groups."""
    groups = set(host.get("groups") or [])
    used: list[tuple[int, str]] = []
    if "evm_nodes" in groups:
        for chain in _chains(host, defaults):
            for field in CHAIN_PORT_FIELDS:
                if chain.get(field) and not (field == "ws_port" and chain["ws_port"] == chain.get("http_port")):
                    used.append((int(chain[field]), f"evm_node_chains {chain.get('name')}.{field}"))
    if "databases" in groups:
        used.append((int(_get(host, defaults, "postgresql", "postgresql_port")), "postgresql_port"))
    if "engines" in groups:
        used.append((int(_get(host, defaults, "redis", "redis_port")), "redis_port"))
        used.append((int(_get(host, defaults, "mev_engine", "mev_engine_api_port")), "mev_engine_api_port"))

    def monitoring(variable: str) -> None:
        port = _port_of(_get(host, defaults, "monitoring", variable))
        if port is not None:
            used.append((port, variable))

    def enabled(variable: str, default: bool) -> bool:
        value = host.get(variable, default)
        return value if isinstance(value, bool) else str(value).lower() in ("true", "yes", "1")

    if "monitoring" in groups and enabled("monitoring_prometheus_enabled", True):
        monitoring("monitoring_prometheus_listen_address")
        if enabled("monitoring_alertmanager_enabled", True):
            monitoring("monitoring_alertmanager_listen_address")
            monitoring("monitoring_alertmanager_cluster_listen_address")
    if enabled("monitoring_node_exporter_enabled", True):
        monitoring("monitoring_node_exporter_listen_address")
    if enabled("monitoring_postgres_exporter_enabled", "databases" in groups):
        monitoring("monitoring_postgres_exporter_listen_address")
    if enabled("monitoring_redis_exporter_enabled", "databases" in groups):
        monitoring("monitoring_redis_exporter_listen_address")
    return used


def _port_problems(name: str, host: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[str]:
    seen: dict[int, str] = {}
    problems = []
    for port, what in _ports(name, host, defaults):
        if port in seen:
            problems.append(f"{name}: port {port} is used twice: {seen[port]} and {what}")
        else:
            seen[port] = what
    return problems


def _addresses(name: str, host: Mapping[str, Any]) -> set[str]:
    return {name, str(host.get("ansible_host") or name)}


def _chain_problems(hosts: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, Any]) -> list[str]:
    served = {
        node: _chains(host, defaults) for node, host in hosts.items() if "evm_nodes" in (host.get("groups") or [])
    }
    problems = []
    for name, host in hosts.items():
        if "engines" not in (host.get("groups") or []):
            continue
        for chain in host.get("mev_engine_chains") or []:
            label = f"{name}: mev_engine_chains {chain.get('name')}"
            nodes = [(node, c) for node, chains in served.items() for c in chains if c.get("name") == chain.get("name")]
            if not nodes:
                problems.append(
                    f"{label} is served by no evm_nodes host (no enabled evm_node_chains entry of that name)"
                )
                continue
            if chain.get("chain_id") is not None and all(
                c.get("chain_id") is not None and int(c["chain_id"]) != int(chain["chain_id"]) for _, c in nodes
            ):
                ids = ", ".join(f"{node}: {c.get('chain_id')}" for node, c in nodes)
                problems.append(f"{label}: chain_id {chain['chain_id']} but the nodes serve chain_id {ids}")
            for key, port_field in (("http_url", "http_port"), ("ws_url", "ws_port")):
                if not chain.get(key):
                    continue
                url = urlsplit(str(chain[key]))
                target = url.hostname or ""
                matches = [
                    (node, c)
                    for node, c in nodes
                    if (target in _addresses(node, hosts[node]) or (target in LOOPBACK and node == name))
                ]
                if not matches:
                    # An address the inventory does not know (a load balancer): nothing more to check.
                    continue
                node, c = matches[0]
                if url.port is not None and c.get(port_field) and url.port != int(c[port_field]):
                    problems.append(
                        f"{label}.{key} {chain[key]} uses port {url.port}, but {node} serves it on {port_field} "
                        f"{c[port_field]}"
                    )
                bind = str(c.get(port_field.replace("port", "addr")) or c.get("http_addr") or "127.0.0.1")
                if node != name and bind in LOOPBACK:
                    problems.append(
                        f"{label}.{key} reaches {node}, whose node listens on {bind} only "
                        "(set evm_node_http_addr / the chain's http_addr on that host)"
                    )
    return problems


def _dsn_problems(hosts: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, host in hosts.items():
        if "engines" not in (host.get("groups") or []):
            continue
        dsn = _get(host, defaults, "mev_engine", "mev_engine_postgres_dsn")
        target = urlsplit(str(dsn)).hostname or ""
        for db, db_host in hosts.items():
            if db == name or "databases" not in (db_host.get("groups") or []) or target not in _addresses(db, db_host):
                continue
            listen = str(_get(db_host, defaults, "postgresql", "postgresql_listen_addresses"))
            if {a.strip() for a in listen.split(",")} <= LOOPBACK:
                problems.append(
                    f"{name}: mev_engine_postgres_dsn points at {db}, whose postgresql_listen_addresses is "
                    f"{listen!r} (loopback only)"
                )
    return problems


def _wallet_problems(hosts: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, host in hosts.items():
        if "engines" not in (host.get("groups") or []):
            continue
        wallet = _get(host, defaults, "mev_engine", "mev_engine_cold_wallet")
        if not wallet:
            problems.append(f"{name}: mev_engine_cold_wallet is empty (the only withdrawal target must be set)")
        elif not isinstance(wallet, str) or not wallet.startswith("0x") or not is_hex_address(wallet):
            problems.append(f"{name}: mev_engine_cold_wallet {wallet!r} is not a 0x-prefixed 20-byte address")
        elif wallet != to_checksum_address(wallet):
            problems.append(
                f"{name}: mev_engine_cold_wallet {wallet} is not EIP-55 checksummed "
                f"(expected {to_checksum_address(wallet)})"
            )
    return problems


def inventory_problems(
    hosts: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, Any], secrets: Mapping[str, Mapping[str, str]]
) -> list[str]:
    """Every problem of the inventory (see the module docstring); [] when it is sound."""
    problems = []
    for group in GROUPS:
        if not any(group in (host.get("groups") or []) for host in hosts.values()):
            problems.append(f"group {group} has no host")
    for name, host in hosts.items():
        problems += _port_problems(name, host, defaults)
    problems += _chain_problems(hosts, defaults)
    problems += _dsn_problems(hosts, defaults)
    problems += _wallet_problems(hosts, defaults)
    for name, status in secrets.items():
        for variable, state in status.items():
            if state == "missing":
                problems.append(f"{name}: vault variable {variable} is missing (add it to group_vars/all/vault.yml)")
            elif state == "placeholder":
                problems.append(f"{name}: vault variable {variable} still holds the example placeholder")
    return sorted(problems)


class FilterModule:
    """Inventory validation filter."""

    def filters(self) -> dict[str, Any]:
        return {"inventory_problems": inventory_problems}
