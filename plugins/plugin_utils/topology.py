# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""The desk's topology, derived from one inventory: the chain catalogue and every flow.

The chain catalogue (`mevops_chains`, group_vars/all) declares each chain once: its name,
client, the group or host that serves it, the chain it follows (`l1`) and how the engine
watches it. From it and the roles' own variables this module derives, for any host:

- the `evm_node_chains` entries of a node host (the L1 RPC and beacon URLs of L2 clients
  and heimdall pointed at the host that serves the L1, at the address it really binds);
- the `mev_engine_chains` of an engine host (HTTP/WS URLs at the serving host's address);
- the engine's PostgreSQL DSN (the database host's address and port);
- the engine API's URL as the controller (the management networks) reaches it;
- the services a host listens on, the flows that reach them from other hosts or from
  the management networks, the firewall rules that admit exactly those flows, the
  listeners the security check expects and Prometheus' scrape targets;
- every problem of the inventory (playbooks/validate_inventory.yml), each flow that could
  not work named in an operator's words:
  "engine mev-engine-01 → node mev-node-01, base ws 8646: dropped by the node host's firewall".

A variable a host does not set falls back to its role's literal default, read from the
role's defaults file in this collection (the one place each default is written). Groups:
evm_nodes, databases, engines, monitoring (DESIGN.md, "Environments and scale").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ansible_collections.mevops.infra.plugins.module_utils.addresses import wallet_problem

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"

NODES, DATABASES, ENGINES, MONITORING = "evm_nodes", "databases", "engines", "monitoring"
GROUPS = (NODES, DATABASES, ENGINES, MONITORING)
GROUP_ROLE = {NODES: "node", DATABASES: "database", ENGINES: "engine", MONITORING: "monitoring"}

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
WILDCARD = frozenset({"", "0.0.0.0", "::", "[::]", "*"})  # noqa: S104 - recognised, not bound

# Keys of a catalogue entry that describe the topology; every other key is the node's
# (evm_node_chains: chain_id, network, ports, extra_args, ...).
CATALOGUE_KEYS = frozenset({"served_by", "l1", "engine"})
ENGINE_KEYS = frozenset({"pending_transactions", "poll_interval_seconds", "max_head_age_seconds", "backups"})
# Companion ports a client binds to loopback only (its own flags say 127.0.0.1).
LOCAL_PORTS = frozenset({"authrpc_port", "private_api_port", "cl_rpc_port", "cl_api_port"})
P2P_PORTS = ("p2p_port", "cl_p2p_port")
# The example placeholder of the shipped inventories' vaults and unset channels.
PLACEHOLDER = "CHANGE-ME"


class TopologyError(ValueError):
    """An inventory the topology cannot be derived from (the message names the variable)."""


# ---------------------------------------------------------------------------- role data
@lru_cache(maxsize=None)
def _role_file(role: str, kind: str) -> Mapping[str, Any]:
    path = ROLES_DIR / role / kind / "main.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return data if isinstance(data, Mapping) else {}


def role_default(role: str, name: str) -> Any:
    """The literal default of a role variable; None when the default is a template."""
    value = _role_file(role, "defaults").get(name)
    if isinstance(value, str) and "{{" in value:
        return None
    return value


def client_specs() -> Mapping[str, Mapping[str, Any]]:
    """The evm_node role's clients (roles/evm_node/vars/main.yml), the keys that matter across
    hosts: ports, optional_ports, requires, rpc_path, ws_path, ws_on_http."""
    return _role_file("evm_node", "vars").get("_evm_node_clients") or {}


# ---------------------------------------------------------------------------- addresses
def is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value).strip("[]"))
    except ValueError:
        return False
    return True


def _host_part(address: str) -> str:
    """'10.0.0.1:9100' -> '10.0.0.1'; '[::1]:9093' -> '::1'; ':9100' -> ''."""
    host = str(address).rsplit(":", 1)[0] if ":" in str(address) else str(address)
    return host.strip("[]") if host.startswith("[") else host


def _port_part(address: Any) -> int | None:
    try:
        return int(str(address).rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _in_networks(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    for net in networks:
        try:
            if ip in ipaddress.ip_network(str(net).strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


# ---------------------------------------------------------------------------- inventory
class Inventory:
    """Read-only view of an inventory: variables per host (or the role's default), groups,
    the address other hosts reach a host at."""

    def __init__(self, hostvars: Any, groups: Mapping[str, list[str]]) -> None:
        self.hostvars = hostvars
        self.groups = {name: list(hosts or []) for name, hosts in (groups or {}).items()}
        self._cache: dict[tuple[str, str], Any] = {}

    def hosts(self) -> list[str]:
        seen: list[str] = []
        for group in GROUPS:
            seen.extend(h for h in self.groups.get(group, []) if h not in seen)
        return seen

    def group(self, name: str) -> list[str]:
        return self.groups.get(name, [])

    def in_group(self, host: str, group: str) -> bool:
        return host in self.groups.get(group, [])

    def has(self, host: str, name: str) -> bool:
        try:
            return name in self.hostvars[host]
        except KeyError:
            return False

    def get(self, host: str, name: str, role: str | None = None, default: Any = None) -> Any:
        """The host's value of `name`, else the role's literal default, else `default`."""
        key = (host, name)
        if key not in self._cache:
            if self.has(host, name):
                self._cache[key] = self.hostvars[host][name]
            else:
                value = role_default(role, name) if role else None
                self._cache[key] = default if value is None else value
        return self._cache[key]

    def flag(self, host: str, name: str, role: str, default: bool) -> bool:
        value = self.get(host, name, role, default)
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "yes", "1", "on")

    def address(self, host: str) -> str:
        """Where the desk's other hosts reach `host`: mevops_address, else ansible_host when it
        is an IP, else the default IPv4 from facts, else ansible_host or the name as they are."""
        explicit = self.get(host, "mevops_address")
        if explicit:
            return str(explicit)
        ansible_host = self.get(host, "ansible_host")
        if ansible_host and is_ip(ansible_host):
            return str(ansible_host)
        facts = self.get(host, "ansible_facts") or {}
        found = (facts.get("default_ipv4") or {}).get("address") if isinstance(facts, Mapping) else None
        return str(found or ansible_host or host)

    def reach(self, source: str, dest: str, bind: str) -> str:
        """The host part of a URL `source` uses to reach a service of `dest` bound to `bind`."""
        bind = str(bind or "")
        if bind not in WILDCARD and bind not in LOOPBACK:
            return bind
        if source == dest:
            return "127.0.0.1"
        return self.address(dest)


def local_url(listen_address: str, scheme: str = "http") -> str:
    """The URL of a service bound to `listen_address` ("host:port") from its own host: a wildcard or
    empty host is loopback, an IPv6 host is bracketed."""
    host, sep, port = listen_address.rpartition(":")
    if not sep or not port.isdigit():
        raise TopologyError(f"{listen_address!r} is not host:port")
    host = "127.0.0.1" if host in WILDCARD or host == "localhost" else host
    return f"{scheme}://{_url_host(host)}:{port}"


# ---------------------------------------------------------------------------- chains
@dataclass
class Chain:
    """One resolved catalogue entry."""

    name: str
    client: str
    entry: dict[str, Any]
    hosts: list[str]
    l1: str | None
    engine: dict[str, Any] | None
    spec: Mapping[str, Any]

    def port(self, name: str) -> int | None:
        """A port the client really listens on (ports and optional_ports of its spec)."""
        listened = list(self.spec.get("ports") or []) + list(self.spec.get("optional_ports") or [])
        if name == "ws_port" and self.spec.get("ws_on_http"):
            return self.port("http_port")
        value = self.entry.get(name)
        if name not in listened or value in (None, ""):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    def requires(self, name: str) -> bool:
        return name in (self.spec.get("requires") or [])


def _catalogue(inv: Inventory, host: str | None) -> Any:
    """The chain catalogue as the inventory gives it (the same for every host)."""
    hosts = [host] if host else inv.hosts()
    for name in hosts:
        if inv.has(name, "mevops_chains"):
            return inv.get(name, "mevops_chains")
    return None


def _engine_settings(raw: Mapping[str, Any], label: str, problems: list[str]) -> dict[str, Any] | None:
    """A catalogue entry's `engine` key: the engine's settings for the chain, None when unwatched."""
    engine = raw.get("engine", {})
    if engine is False:
        return None
    if not (isinstance(engine, Mapping) or engine is True or engine is None):
        problems.append(f"{label}: engine must be a mapping of the engine's chain settings, or false")
        return None
    settings = dict(engine) if isinstance(engine, Mapping) else {}
    unknown = sorted(set(settings) - ENGINE_KEYS)
    if unknown:
        problems.append(f"{label}: engine has unknown keys {unknown}; allowed: {sorted(ENGINE_KEYS)}")
    problems += _backup_problems(f"{label}: engine.backups", settings.get("backups"))
    return settings


def _backup_problems(label: str, backups: Any) -> list[str]:
    """A chain's backup providers: [{http_url, ws_url?}], tried in order after the serving node."""
    if backups is None:
        return []
    if not isinstance(backups, list):
        return [f"{label} must be a list of {{http_url, ws_url}} (the providers after the node, in order)"]
    problems = []
    for index, backup in enumerate(backups):
        at = f"{label}[{index}]"
        if not isinstance(backup, Mapping) or not backup.get("http_url"):
            problems.append(f"{at} must be a mapping with http_url (and optionally ws_url)")
            continue
        if set(backup) - {"http_url", "ws_url"}:
            problems.append(f"{at} has unknown keys {sorted(set(backup) - {'http_url', 'ws_url'})}")
        for key, schemes in (("http_url", ("http", "https")), ("ws_url", ("ws", "wss"))):
            # Not the URL itself in the message: a provider's key is in its path or query.
            if _url_problems(at, backup.get(key), schemes):
                problems.append(f"{at}.{key} must be a {' or '.join(s + '://' for s in schemes)} URL with a host")
    return problems


def _resolve_entry(inv: Inventory, raw: Any, index: int, names: set[str], problems: list[str]) -> Chain | None:
    """One catalogue entry resolved, or None with the reason in `problems`."""
    if not isinstance(raw, Mapping):
        problems.append(f"mevops_chains[{index}] must be a mapping with name and client, got {raw!r}")
        return None
    name = str(raw.get("name") or "")
    label = f"mevops_chains {name}" if name else f"mevops_chains[{index}]"
    specs = client_specs()
    client = raw.get("client")
    served_by = str(raw.get("served_by") or NODES)
    hosts = inv.group(served_by) if served_by in inv.groups else ([served_by] if served_by in inv.hosts() else [])
    reason = (
        f"{label}: name is missing"
        if not name
        else f"{label}: the chain is declared twice"
        if name in names
        else f"{label}: client {client!r} is unknown; supported: {', '.join(sorted(specs))}"
        if client not in specs
        else f"{label}: served_by {served_by!r} is neither an inventory group with hosts nor a host"
        if not hosts
        else None
    )
    names.add(name)
    if reason:
        problems.append(reason)
        return None
    defaults_by_name = inv.get(hosts[0], "evm_node_chain_defaults", "evm_node") or {}
    entry = dict(defaults_by_name.get(name) or {})
    entry.update({k: v for k, v in raw.items() if k not in CATALOGUE_KEYS and v is not None})
    l1 = raw.get("l1")
    engine = _engine_settings(raw, label, problems)
    return Chain(name, str(client), entry, hosts, str(l1) if l1 else None, engine, specs[str(client)])


def _hand_written_chains(inv: Inventory) -> list[Chain]:
    """Without a catalogue: the chains node hosts list in their own evm_node_chains (each
    engine then lists its chains by hand in mev_engine_chains)."""
    specs = client_specs()
    chains: dict[str, Chain] = {}
    for host in inv.group(NODES):
        defaults_by_name = inv.get(host, "evm_node_chain_defaults", "evm_node") or {}
        for raw in inv.get(host, "evm_node_chains") or []:
            if not isinstance(raw, Mapping) or not raw.get("name") or raw.get("client") not in specs:
                continue
            if not raw.get("enabled", True):
                continue
            name = str(raw["name"])
            if name in chains:
                chains[name].hosts.append(host)
                continue
            entry = dict(defaults_by_name.get(name) or {})
            entry.update({k: v for k, v in raw.items() if v is not None})
            chains[name] = Chain(name, str(raw["client"]), entry, [host], None, None, specs[str(raw["client"])])
    return list(chains.values())


def resolve_chains(inv: Inventory, host: str | None = None, problems: list[str] | None = None) -> list[Chain]:
    """The catalogue's entries resolved: defaults by chain name (the serving hosts'
    evm_node_chain_defaults), the client's spec, the serving hosts. Entries that cannot be
    resolved are skipped; `problems` collects why."""
    problems = problems if problems is not None else []
    catalogue = _catalogue(inv, host)
    if catalogue is None:
        return _hand_written_chains(inv)
    if not isinstance(catalogue, list):
        problems.append(f"mevops_chains must be a list of chains, got {type(catalogue).__name__}")
        return []
    names: set[str] = set()
    chains = [c for i, raw in enumerate(catalogue) if (c := _resolve_entry(inv, raw, i, names, problems)) is not None]
    by_name = {chain.name: chain for chain in chains}
    for chain in chains:
        if chain.l1 and (chain.l1 not in by_name or chain.l1 == chain.name):
            problems.append(f"mevops_chains {chain.name}: l1 {chain.l1!r} is not another chain of the catalogue")
            chain.l1 = None
    return chains


def _bind(inv: Inventory, chain: Chain, host: str, kind: str = "http") -> str:
    """The address a chain's `kind` (http/ws) endpoint binds to on `host`."""
    if kind == "ws" and chain.spec.get("ws_on_http"):
        kind = "http"
    value = chain.entry.get(f"{kind}_addr") or inv.get(host, f"evm_node_{kind}_addr", "evm_node", "127.0.0.1")
    return str(value)


def _serving_host(chain: Chain, source: str) -> str:
    """The host `source` uses for a chain: itself when it serves it, else the first server."""
    return source if source in chain.hosts else chain.hosts[0]


def chain_url(inv: Inventory, chain: Chain, source: str, kind: str = "http") -> str | None:
    """http_url / ws_url / beacon_url of `chain` as `source` reaches it."""
    dest = _serving_host(chain, source)
    field_name = {"http": "http_port", "ws": "ws_port", "beacon": "beacon_port"}[kind]
    port = chain.port(field_name)
    if port is None:
        return None
    host = _url_host(inv.reach(source, dest, _bind(inv, chain, dest, "ws" if kind == "ws" else "http")))
    scheme = "ws" if kind == "ws" else "http"
    path = {"http": chain.spec.get("rpc_path"), "ws": chain.spec.get("ws_path"), "beacon": ""}[kind] or ""
    return f"{scheme}://{host}:{port}{path}"


# ---------------------------------------------------------------------------- per-host derivations
def node_chains(inv: Inventory, host: str) -> list[dict[str, Any]]:
    """`evm_node_chains` for a node host: the catalogue's chains it serves, with the L1 URLs
    (l1_rpc_url, l1_beacon_url) of chains that follow another one."""
    if _catalogue(inv, host) is None:
        return []
    chains = resolve_chains(inv, host)
    by_name = {chain.name: chain for chain in chains}
    out = []
    for chain in chains:
        if host not in chain.hosts:
            continue
        entry = {"name": chain.name, "client": chain.client, **chain.entry}
        parent = by_name.get(chain.l1) if chain.l1 else None
        if parent is not None:
            if chain.requires("l1_rpc_url") and not entry.get("l1_rpc_url"):
                entry["l1_rpc_url"] = chain_url(inv, parent, host, "http")
            if chain.requires("l1_beacon_url") and not entry.get("l1_beacon_url"):
                entry["l1_beacon_url"] = chain_url(inv, parent, host, "beacon")
        out.append({k: v for k, v in entry.items() if v is not None})
    return out


def engine_chains(inv: Inventory, host: str) -> list[dict[str, Any]]:
    """`mev_engine_chains` for an engine host: every chain the engine watches, its URLs at the
    serving host's address as this host reaches it."""
    if _catalogue(inv, host) is None:
        return []
    out = []
    for chain in resolve_chains(inv, host):
        if chain.engine is None:
            continue
        entry: dict[str, Any] = {"name": chain.name}
        if chain.entry.get("chain_id") is not None:
            entry["chain_id"] = int(chain.entry["chain_id"])
        entry["http_url"] = chain_url(inv, chain, host, "http")
        ws_url = chain_url(inv, chain, host, "ws")
        if ws_url:
            entry["ws_url"] = ws_url
        entry.update(chain.engine)
        out.append(entry)
    return out


def postgres_dsn(inv: Inventory, host: str) -> str:
    """The engine's DSN (no password): the app user and database at the database host's
    address as `host` reaches it (itself first), on its postgresql_port."""
    databases = inv.group(DATABASES)
    dest = host if host in databases or not databases else databases[0]
    listen = str(inv.get(dest, "postgresql_listen_addresses", "postgresql", "localhost"))
    binds = [a.strip() for a in listen.split(",") if a.strip()]
    specific = [a for a in binds if a not in WILDCARD and a not in LOOPBACK]
    if dest == host:
        address = "127.0.0.1"
    elif inv.address(dest) in binds or "*" in binds or not specific:
        address = inv.address(dest)
    else:
        address = specific[0]
    port = inv.get(dest, "postgresql_port", "postgresql", 5432)
    user = inv.get(dest, "postgresql_app_user", "postgresql", "mev_user")
    database = inv.get(dest, "postgresql_database", "postgresql", "mev_infrastructure")
    return f"postgresql://{user}@{_url_host(address)}:{port}/{database}"


def postgres_clients(inv: Inventory, host: str) -> list[str]:
    """Addresses of the other hosts whose engine connects to PostgreSQL on `host` (pg_hba)."""
    return [
        inv.address(flow.source)
        for flow in flows(inv)
        if flow.service.host == host and flow.service.key == "postgresql" and flow.source != host
    ]


# ---------------------------------------------------------------------------- services and flows
@dataclass
class Service:
    """A port a host listens on."""

    host: str
    key: str  # stable id: "chain:base:ws", "postgresql", "engine-api", ...
    label: str  # in words: "base ws", "PostgreSQL", "engine API"
    port: int
    binds: list[str]
    variable: str  # the variable that sets where it binds
    protocol: str = "tcp"

    @property
    def loopback_only(self) -> bool:
        return all(b in LOOPBACK for b in self.binds)

    def reachable_at(self, address: str) -> bool:
        return any(b in WILDCARD or b == address for b in self.binds)


@dataclass
class Flow:
    """Traffic from a source (a host, the management networks, anywhere) to a service."""

    source: str  # an inventory host, "management" or "anywhere"
    source_role: str  # engine, node, monitoring, management, anywhere
    service: Service
    address: str  # the address the source uses to reach the service
    why: str = ""

    def words(self, inv: Inventory) -> str:
        dest_role = _role_of(inv, self.service.host)
        source = self.source if self.source_role in ("management", "anywhere") else f"{self.source_role} {self.source}"
        if self.source_role == "management":
            source = "management networks (the controller, operators)"
        return f"{source} → {dest_role} {self.service.host}, {self.service.label} {self.service.port}"


def _role_of(inv: Inventory, host: str) -> str:
    roles = [GROUP_ROLE[g] for g in GROUPS if inv.in_group(host, g)]
    return "/".join(roles) or "host"


def _listen_address(inv: Inventory, host: str, variable: str) -> tuple[list[str], int | None]:
    value = inv.get(host, variable, "monitoring")
    if not value:
        return [], None
    return [_host_part(str(value))], _port_part(value)


def _monitoring_services(inv: Inventory, host: str) -> list[Service]:
    out = []

    def add(key: str, label: str, variable: str) -> None:
        binds, port = _listen_address(inv, host, variable)
        if port:
            out.append(Service(host, key, label, port, binds, variable))

    if inv.flag(host, "monitoring_node_exporter_enabled", "monitoring", True):
        add("node-exporter", "node_exporter", "monitoring_node_exporter_listen_address")
    if inv.flag(host, "monitoring_postgres_exporter_enabled", "monitoring", inv.in_group(host, DATABASES)):
        add("postgres-exporter", "postgres_exporter", "monitoring_postgres_exporter_listen_address")
    if inv.flag(host, "monitoring_redis_exporter_enabled", "monitoring", inv.in_group(host, ENGINES)):
        add("redis-exporter", "redis_exporter", "monitoring_redis_exporter_listen_address")
    prometheus = inv.flag(host, "monitoring_prometheus_enabled", "monitoring", inv.in_group(host, MONITORING))
    if prometheus:
        add("prometheus", "Prometheus", "monitoring_prometheus_listen_address")
        if inv.flag(host, "monitoring_alertmanager_enabled", "monitoring", True):
            add("alertmanager", "Alertmanager", "monitoring_alertmanager_listen_address")
            add("alertmanager-cluster", "Alertmanager cluster", "monitoring_alertmanager_cluster_listen_address")
        if inv.flag(host, "monitoring_grafana_enabled", "monitoring", False):
            bind = str(inv.get(host, "monitoring_grafana_http_addr", "monitoring", "127.0.0.1"))
            port = int(inv.get(host, "monitoring_grafana_http_port", "monitoring", 3000))
            out.append(Service(host, "grafana", "Grafana", port, [bind], "monitoring_grafana_http_addr"))
    if inv.flag(host, "monitoring_alert_receiver_enabled", "monitoring", False):
        add("alert-receiver", "alert receiver", "monitoring_alert_receiver_listen_address")
    return out


def services(inv: Inventory, host: str, chains: list[Chain] | None = None) -> list[Service]:
    """Everything `host` listens on, per its groups and the catalogue."""
    chains = resolve_chains(inv, host) if chains is None else chains
    out: list[Service] = []
    ssh_port = int(inv.get(host, "ssh_port", "ssh", 22))
    ssh_binds = [str(a).strip("[]") for a in (inv.get(host, "ssh_listen_addresses", "ssh", []) or [])]
    out.append(Service(host, "ssh", "SSH", ssh_port, ssh_binds or ["0.0.0.0"], "ssh_listen_addresses"))  # noqa: S104
    for chain in chains:
        if host not in chain.hosts:
            continue
        http_bind = _bind(inv, chain, host, "http")
        for field_name, kind, label, bind, variable in (
            ("http_port", "http", "http", http_bind, "evm_node_http_addr"),
            ("ws_port", "ws", "ws", _bind(inv, chain, host, "ws"), "evm_node_ws_addr"),
            ("beacon_port", "beacon", "beacon API", http_bind, "evm_node_http_addr"),
        ):
            port = chain.port(field_name)
            if port is None or (field_name == "ws_port" and port == chain.port("http_port")):
                continue
            out.append(Service(host, f"chain:{chain.name}:{kind}", f"{chain.name} {label}", port, [bind], variable))
        for field_name in P2P_PORTS:
            port = chain.port(field_name)
            if port is not None:
                for protocol in ("tcp", "udp"):
                    out.append(Service(host, f"chain:{chain.name}:p2p", f"{chain.name} p2p", port, ["0.0.0.0"],  # noqa: S104
                                       f"mevops_chains {chain.name}.{field_name}", protocol))  # fmt: skip
    if inv.in_group(host, DATABASES):
        listen = str(inv.get(host, "postgresql_listen_addresses", "postgresql", "localhost"))
        binds = [a.strip() for a in listen.split(",") if a.strip()]
        port = int(inv.get(host, "postgresql_port", "postgresql", 5432))
        out.append(Service(host, "postgresql", "PostgreSQL", port, binds, "postgresql_listen_addresses"))
    if inv.in_group(host, ENGINES):
        redis_binds = [str(b).lstrip("-") for b in (inv.get(host, "redis_bind", "redis", ["127.0.0.1"]) or [])]
        out.append(Service(host, "redis", "Redis", int(inv.get(host, "redis_port", "redis", 6379)), redis_binds,
                           "redis_bind"))  # fmt: skip
        out.append(_engine_api_service(inv, host))
    out.extend(_monitoring_services(inv, host))
    return out


def _engine_api_service(inv: Inventory, host: str) -> Service:
    bind = str(inv.get(host, "mev_engine_api_host", "mev_engine", "127.0.0.1"))
    port = int(inv.get(host, "mev_engine_api_port", "mev_engine", 8090))
    return Service(host, "engine-api", "engine API and /metrics", port, [bind], "mev_engine_api_host")


def engine_api_url(inv: Inventory, host: str) -> str:
    """The engine API's base URL as the management networks (the controller) reach it: the address
    the API binds, or the host's address when it binds every interface; "" when it listens on
    loopback only (only the host itself reaches it) or `host` is no engine host."""
    if not inv.in_group(host, ENGINES):
        return ""
    service = _engine_api_service(inv, host)
    if service.loopback_only:
        return ""
    return f"http://{_url_host(inv.reach('management', host, service.binds[0]))}:{service.port}"


def _service(services_of: Mapping[str, list[Service]], host: str, key: str) -> Service | None:
    return next((s for s in services_of.get(host, []) if s.key == key and s.protocol == "tcp"), None)


class _Flows:
    """Builds the flow list once: each (source, destination service) pair appears once."""

    def __init__(self, inv: Inventory) -> None:
        self.inv = inv
        self.chains = resolve_chains(inv)
        self.hosts = inv.hosts()
        self.services_of = {host: services(inv, host, self.chains) for host in self.hosts}
        self.out: list[Flow] = []
        self._seen: set[tuple[str, str, str, str]] = set()

    def add(self, source: str, role: str, dest: str, key: str, why: str = "") -> None:
        service = _service(self.services_of, dest, key)
        if service is None or (source, dest, key, service.protocol) in self._seen:
            return
        self._seen.add((source, dest, key, service.protocol))
        address = self.inv.reach(source, dest, service.binds[0]) if source in self.hosts else self.inv.address(dest)
        self.out.append(Flow(source, role, service, address, why))

    def add_url(self, source: str, role: str, url: Any, why: str = "") -> None:
        """A flow to the inventory host and service a hand-written URL names (none for an
        address outside the inventory, e.g. a provider)."""
        parts = urlsplit(str(url or ""))
        if not parts.hostname:
            return
        host = parts.hostname
        dest = source if host in LOOPBACK else next((h for h in self.hosts if host in (h, self.inv.address(h))), None)
        port = parts.port or {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(parts.scheme)
        service = next(
            (x for x in self.services_of.get(dest or "", []) if x.port == port and x.protocol == "tcp"), None
        )
        if dest is not None and service is not None:
            self.add(source, role, dest, service.key, why)

    def engines(self) -> None:
        databases = self.inv.group(DATABASES)
        for engine in self.inv.group(ENGINES):
            if self.inv.has(engine, "mev_engine_chains"):
                for entry in self.inv.get(engine, "mev_engine_chains") or []:
                    if isinstance(entry, Mapping):
                        self.add_url(engine, "engine", entry.get("http_url"))
                        self.add_url(engine, "engine", entry.get("ws_url"))
            else:
                for chain in self.chains:
                    if chain.engine is not None:
                        dest = _serving_host(chain, engine)
                        self.add(engine, "engine", dest, f"chain:{chain.name}:http")
                        self.add(engine, "engine", dest, f"chain:{chain.name}:ws")
            if self.inv.has(engine, "mev_engine_postgres_dsn"):
                self.add_url(engine, "engine", self.inv.get(engine, "mev_engine_postgres_dsn"))
            elif databases:
                self.add(engine, "engine", engine if engine in databases else databases[0], "postgresql")

    def l1(self) -> None:
        by_name = {chain.name: chain for chain in self.chains}
        for chain in self.chains:
            parent = by_name.get(chain.l1) if chain.l1 else None
            for node in chain.hosts:
                for key, kind in (("l1_rpc_url", "http"), ("l1_beacon_url", "beacon")):
                    why = f"{chain.name}'s {key}"
                    if chain.entry.get(key):
                        self.add_url(node, "node", chain.entry[key], why)
                    elif parent is not None and chain.requires(key):
                        self.add(node, "node", _serving_host(parent, node), f"chain:{parent.name}:{kind}", why)

    def monitoring(self) -> None:
        for server in self.hosts:
            if self.inv.flag(
                server, "monitoring_prometheus_enabled", "monitoring", self.inv.in_group(server, MONITORING)
            ):
                for host in self.hosts:
                    for key in ("node-exporter", "postgres-exporter", "redis-exporter", "engine-api"):
                        self.add(server, "monitoring", host, key)
                self.add(server, "monitoring", server, "alertmanager")

    def management(self) -> None:
        for host in self.hosts:
            # The alert receiver: the controller posts the emergency notices to it.
            for key in ("ssh", "prometheus", "alertmanager", "alert-receiver", "grafana", "engine-api"):
                self.add("management", "management", host, key)
            for service in self.services_of[host]:
                if service.key.endswith(":p2p"):
                    self.out.append(Flow("anywhere", "anywhere", service, self.inv.address(host)))


def flows(inv: Inventory) -> list[Flow]:
    """Every flow of the desk: engines → nodes, L2 nodes → their L1, engines → PostgreSQL,
    Prometheus → every exporter and the engine's /metrics, the management networks → SSH,
    the engine API and the monitoring UIs, anywhere → P2P."""
    builder = _Flows(inv)
    builder.engines()
    builder.l1()
    builder.monitoring()
    builder.management()
    return builder.out


# ---------------------------------------------------------------------------- firewall
def _source_networks(inv: Inventory, flow: Flow) -> list[str]:
    """The networks a flow comes from, as the destination's firewall names them."""
    dest = flow.service.host
    if flow.source_role == "anywhere":
        return []
    if flow.source_role == "management":
        return [str(n) for n in inv.get(dest, "firewall_management_networks", "firewall", []) or []]
    address = inv.address(flow.source)
    networks = [address] if is_ip(address) else []
    if flow.source_role == "monitoring":
        networks += [str(n) for n in inv.get(dest, "firewall_monitoring_networks", "firewall", []) or []]
    return networks


def firewall_rules(inv: Inventory, host: str) -> dict[str, Any]:
    """What `host`'s firewall admits for the inventory's flows: {rules: [{name, port, protocol,
    sources}], p2p_ports: [...], unresolved: [hosts without an IP address]}. SSH from the
    management networks is the firewall role's own rule and is left out here."""
    rules: dict[tuple[int, str], dict[str, Any]] = {}
    p2p: set[int] = set()
    unresolved: list[str] = []
    for flow in flows(inv):
        service = flow.service
        if service.host != host or flow.source == host or service.key == "ssh":
            continue
        if flow.source_role == "anywhere":
            p2p.add(service.port)
            continue
        if flow.source_role not in ("management",) and not is_ip(inv.address(flow.source)):
            if flow.source not in unresolved:
                unresolved.append(flow.source)
            continue
        rule = rules.setdefault(
            (service.port, service.protocol),
            {"name": service.label, "port": service.port, "protocol": service.protocol, "sources": [], "from": []},
        )
        for network in _source_networks(inv, flow):
            if network not in rule["sources"]:
                rule["sources"].append(network)
        if flow.source_role not in rule["from"]:
            rule["from"].append(flow.source_role)
    out = []
    for rule in sorted(rules.values(), key=lambda r: (r["port"], r["protocol"])):
        if rule["sources"]:
            rule["name"] = f"{rule['name']} from {', '.join(rule.pop('from'))}"
            out.append(rule)
    return {"rules": out, "p2p_ports": sorted(p2p), "unresolved": unresolved}


def firewall_applied(inv: Inventory, host: str) -> bool:
    """Whether site.yml gives `host` the firewall (site_host_security and firewall_enabled)."""
    return inv.flag(host, "site_host_security", "", True) and inv.flag(host, "firewall_enabled", "firewall", True)


def _admitted(inv: Inventory, flow: Flow) -> bool:
    """Whether the destination's firewall, as its inventory configures it, admits the flow."""
    host = flow.service.host
    if flow.source == host or not firewall_applied(inv, host):
        return True
    port, protocol = flow.service.port, flow.service.protocol
    sources = _source_networks(inv, flow)
    if flow.source_role == "anywhere":
        open_ports = [int(p) for p in inv.get(host, "firewall_p2p_ports", "firewall", []) or []]
        return port in open_ports or inv.flag(host, "firewall_inventory_flows", "firewall", True)
    if flow.service.key == "ssh":
        return port == int(inv.get(host, "firewall_ssh_port", "firewall", 22))
    if inv.flag(host, "firewall_inventory_flows", "firewall", True):
        return True
    hand = inv.get(host, "firewall_restricted_services", "firewall", []) or []
    admitted: list[str] = []
    for rule in hand:
        if (
            isinstance(rule, Mapping)
            and int(rule.get("port") or 0) == port
            and str(rule.get("protocol") or "tcp") == protocol
        ):
            admitted.extend(str(s) for s in rule.get("sources") or [])
    if flow.source_role == "management":
        return bool(sources) and all(_in_networks(_first_ip(n), admitted) for n in sources)
    return bool(sources) and _in_networks(sources[0], admitted)


def _first_ip(network: str) -> str:
    try:
        return str(ipaddress.ip_network(network, strict=False).network_address)
    except ValueError:
        return network


def expected_listeners(inv: Inventory, host: str) -> list[dict[str, Any]]:
    """The sockets `host` is expected to listen on beyond loopback ({port, protocol, service})."""
    seen: dict[tuple[int, str], dict[str, Any]] = {}
    for service in services(inv, host):
        if service.loopback_only:
            continue
        seen.setdefault((service.port, service.protocol), {"port": service.port, "protocol": service.protocol,
                                                           "service": service.label})  # fmt: skip
    return [seen[key] for key in sorted(seen)]


def scrape_targets(inv: Inventory, server: str) -> list[dict[str, Any]]:
    """Prometheus' targets on `server`: {job, host, address, variable, target, path, labels,
    unreachable} for every exporter, the engines' /metrics, Alertmanager and Prometheus itself."""
    jobs = {"node-exporter": "node-exporter", "postgres-exporter": "postgres-exporter",
            "redis-exporter": "redis-exporter", "engine-api": "mev-engine", "alertmanager": "alertmanager"}  # fmt: skip
    out = []
    own = {s.key: s for s in services(inv, server)}
    if "prometheus" in own:
        out.append(_target(inv, server, own["prometheus"], "prometheus", "/metrics"))
    for flow in flows(inv):
        if flow.source != server or flow.source_role != "monitoring" or flow.service.key not in jobs:
            continue
        path = "/metrics"
        if flow.service.key == "engine-api":
            path = str(inv.get(flow.service.host, "monitoring_engine_metrics_path", "monitoring", "/metrics"))
        out.append(_target(inv, server, flow.service, jobs[flow.service.key], path))
    for host in inv.group(NODES):
        for client in inv.get(host, "monitoring_evm_client_metrics", "monitoring", []) or []:
            service = Service(host, "evm-client", "client metrics", _port_part(client["address"]) or 0,
                              [_host_part(client["address"])], "monitoring_evm_client_metrics")  # fmt: skip
            target = _target(inv, server, service, "evm-node", client.get("path") or "/metrics")
            target["labels"]["chain"] = client.get("chain")
            target["address"] = client["address"]
            out.append(target)
    return out


def _target(inv: Inventory, server: str, service: Service, job: str, path: str) -> dict[str, Any]:
    reach = inv.reach(server, service.host, service.binds[0] if service.binds else "")
    return {
        "job": job,
        "host": service.host,
        "address": f"{_url_host(service.binds[0]) if service.binds else ''}:{service.port}",
        "variable": service.variable,
        "target": f"{_url_host(reach)}:{service.port}",
        "path": path,
        "labels": {"instance": service.host},
        "unreachable": service.host != server and service.loopback_only,
    }


# ---------------------------------------------------------------------------- validation
def _url_problems(label: str, url: Any, schemes: tuple[str, ...]) -> list[str]:
    if url in (None, ""):
        return []
    parts = urlsplit(str(url))
    if parts.scheme not in schemes or not parts.hostname:
        return [f"{label} {url!r} must be a URL with a scheme ({' or '.join(s + '://' for s in schemes)}) and a host"]
    return []


def _engine_chain_problems(inv: Inventory, engine: str, chains: list[Chain]) -> list[str]:
    """Problems of an engine's chain list, whether derived or written by hand."""
    given = inv.get(engine, "mev_engine_chains") if inv.has(engine, "mev_engine_chains") else None
    entries = given if given is not None else engine_chains(inv, engine)
    by_name = {chain.name: chain for chain in chains}
    problems = []
    names: set[str] = set()
    ids: dict[int, str] = {}
    for entry in entries or []:
        name = str(entry.get("name"))
        label = f"engine {engine}: mev_engine_chains {name}"
        if name in names:
            problems.append(f"{label} is listed twice")
            continue
        names.add(name)
        if given is not None:  # a derived list's backups were checked in the catalogue
            problems += _backup_problems(f"{label}.backups", entry.get("backups"))
        problems += _url_problems(f"{label}.http_url", entry.get("http_url"), ("http", "https"))
        problems += _url_problems(f"{label}.ws_url", entry.get("ws_url"), ("ws", "wss"))
        if given is not None and entry.get("chain_id") is not None:
            chain_id = int(entry["chain_id"])
            if chain_id in ids:
                problems.append(f"{label}: chain_id {chain_id} is also {ids[chain_id]}'s")
            ids[chain_id] = name
        chain = by_name.get(name)
        if chain is None:
            problems.append(
                f"{label} is served by no node host (no mevops_chains or evm_node_chains entry by that name)"
            )
            continue
        served_id = chain.entry.get("chain_id")
        if entry.get("chain_id") is not None and served_id is not None and int(entry["chain_id"]) != int(served_id):
            problems.append(
                f"{label}: chain_id {entry['chain_id']} but {', '.join(chain.hosts)} serve chain_id {served_id}"
            )
        for key, kind in (("http_url", "http"), ("ws_url", "ws")):
            url = urlsplit(str(entry.get(key) or ""))
            if not url.hostname:
                continue
            if url.hostname in LOOPBACK and engine not in chain.hosts:
                problems.append(
                    f"{label}.{key} {entry[key]} points at this host's loopback, but {name} is served by "
                    f"{', '.join(chain.hosts)}"
                )
            port = chain.port("http_port" if kind == "http" else "ws_port")
            targets = {inv.address(h) for h in chain.hosts} | set(chain.hosts)
            if url.hostname in targets and port and url.port not in (None, port):
                problems.append(f"{label}.{key} {entry[key]} uses port {url.port}, but {name} is served on {port}")
    return problems


def _chain_problems(inv: Inventory, chains: list[Chain]) -> list[str]:
    problems = []
    ids: dict[int, str] = {}
    for chain in chains:
        label = f"mevops_chains {chain.name}"
        chain_id = chain.entry.get("chain_id")
        if chain_id is None:
            problems.append(f"{label}: chain_id is missing (no default for a chain named {chain.name})")
        else:
            if int(chain_id) in ids:
                problems.append(f"{label}: chain_id {chain_id} is also {ids[int(chain_id)]}'s (duplicate chain id)")
            ids[int(chain_id)] = chain.name
        for key in ("l1_rpc_url", "l1_beacon_url"):
            url = urlsplit(str(chain.entry.get(key) or ""))
            if url.hostname in LOOPBACK:
                parent = next((c for c in chains if c.name == chain.l1), None)
                if parent is None or any(h not in parent.hosts for h in chain.hosts):
                    problems.append(
                        f"{label}: {key} {chain.entry[key]} is on loopback, but the L1 is not served on "
                        f"{', '.join(chain.hosts)} (set l1 instead and let the catalogue derive it)"
                    )
        parent = next((c for c in chains if c.name == chain.l1), None)
        needs_beacon = chain.requires("l1_beacon_url") and not chain.entry.get("l1_beacon_url")
        if parent is not None and needs_beacon and not parent.port("beacon_port"):
            problems.append(
                f"{label}: client {chain.client} needs a beacon endpoint and its l1 {parent.name} (client "
                f"{parent.client}) serves none: set l1_beacon_url on {chain.name} or a beacon_port on {parent.name}"
            )
        if chain.l1 is None and any(
            chain.requires(k) and not chain.entry.get(k) for k in ("l1_rpc_url", "l1_beacon_url")
        ):
            problems.append(
                f"{label}: client {chain.client} follows an L1: set l1 (the chain it follows) or l1_rpc_url"
            )
    return problems


def _flow_problems(inv: Inventory) -> list[str]:
    problems = []
    for flow in flows(inv):
        service = flow.service
        if flow.source == service.host or flow.source_role == "anywhere":
            continue
        where = flow.words(inv)
        if flow.source_role != "management" and flow.why:
            where += f" ({flow.why})"
        if service.loopback_only:
            problems.append(
                f"{where}: {service.host} binds it to loopback only ({service.variable}={', '.join(service.binds)})"
            )
        elif not service.reachable_at(flow.address) and flow.source_role != "management":
            problems.append(
                f"{where}: reached at {flow.address}, but bound to {', '.join(service.binds)} ({service.variable})"
            )
        elif not _admitted(inv, flow):
            problems.append(f"{where}: dropped by the {_role_of(inv, service.host)} host's firewall")
    return problems


def _hand_written_problems(inv: Inventory) -> list[str]:
    """With a catalogue, nodes and engines take their chains from it: a hand-written list
    beside it would make the two disagree."""
    if _catalogue(inv, None) is None:
        return []
    out = [
        f"node {host}: evm_node_chains is set by hand, but the chain catalogue mevops_chains is the one place "
        "chains are declared (remove it, or serve the chain from this host with served_by)"
        for host in inv.group(NODES)
        if inv.has(host, "evm_node_chains")
    ]
    out += [
        f"engine {host}: mev_engine_chains is set by hand, but it is derived from the chain catalogue mevops_chains "
        "(remove it; `engine: false` on a chain leaves it unwatched)"
        for host in inv.group(ENGINES)
        if inv.has(host, "mev_engine_chains")
    ]
    return out


def _port_problems(inv: Inventory, host: str) -> list[str]:
    seen: dict[tuple[int, str], str] = {}
    problems = []
    for service in services(inv, host):
        key = (service.port, service.protocol)
        if key in seen and seen[key] != service.label:
            problems.append(
                f"{host}: port {service.port}/{service.protocol} is used twice: {seen[key]} and {service.label}"
            )
        seen.setdefault(key, service.label)
    return problems


def _dsn_problems(inv: Inventory, engine: str) -> list[str]:
    dsn = inv.get(engine, "mev_engine_postgres_dsn") if inv.has(engine, "mev_engine_postgres_dsn") else None
    if dsn is None:
        return []
    target = urlsplit(str(dsn)).hostname or ""
    databases = inv.group(DATABASES)
    if target in LOOPBACK and databases and engine not in databases:
        where = ", ".join(databases)
        return [f"engine {engine}: mev_engine_postgres_dsn {dsn} is on loopback, but PostgreSQL runs on {where}"]
    return []


def _secret_problem(where: str, variable: str, value: Any, placeholder: str) -> list[str]:
    if not str(value or "").strip():
        return [f"{where}: {variable} is empty"]
    if placeholder and str(value).startswith(placeholder):
        return [f"{where}: {variable} still holds the example placeholder"]
    return []


def _notification_problems(inv: Inventory, placeholder: str = "") -> list[str]:
    """Alerts and emergency notices that would go nowhere: an Alertmanager whose critical or
    warning receiver has no channel (alertmanager.yml.j2 routes each severity to its own), an
    enabled channel whose secret is empty or the example's placeholder, no emergency webhook."""
    out = []
    secrets = {
        "slack": "monitoring_alertmanager_slack_api_url",
        "pagerduty": "monitoring_alertmanager_pagerduty_routing_key",
    }
    for host in inv.hosts():
        prometheus = inv.flag(host, "monitoring_prometheus_enabled", "monitoring", inv.in_group(host, MONITORING))
        if not (prometheus and inv.flag(host, "monitoring_alertmanager_enabled", "monitoring", True)):
            continue
        enabled = {
            n
            for n in ("slack", "email", "pagerduty")
            if inv.flag(host, f"monitoring_alertmanager_{n}_enabled", "monitoring", False)
        }
        for name in sorted(enabled & set(secrets)):
            out += _secret_problem(
                f"monitoring {host}", secrets[name], inv.get(host, secrets[name], "monitoring"), placeholder
            )
        for severity, own in (("critical", {"slack", "email", "pagerduty"}), ("warning", {"slack", "email"})):
            variable = f"monitoring_alertmanager_{severity}_webhook_urls"
            hooks = inv.get(host, variable, "monitoring", []) or []
            for url in hooks:
                out += _secret_problem(f"monitoring {host}", variable, url, placeholder)
            if not hooks and not enabled & own:
                out.append(
                    f"monitoring {host}: Alertmanager's {severity} receiver has no channel: {severity} alerts"
                    f" go nowhere (set {variable}, or enable {', '.join(sorted(own))})"
                )
    hooks: dict[str, Any] = {}
    for host in inv.hosts():
        for hook in inv.get(host, "emergency_webhooks", "emergency", []) or []:
            try:
                url = hook.get("url")
                str(url)
            except Exception:  # a URL made from other hosts' variables (hostvars) cannot be
                url = None  # resolved by this controller-only check: counted, not checked
            hooks.setdefault(str(hook.get("name") or "webhook"), url)
    for name, url in sorted(hooks.items()):
        if url is not None:
            out += _secret_problem(f"emergency webhook {name}", "url", url, placeholder)
    if inv.hosts() and not hooks:
        out.append("emergency_webhooks is empty: the emergency playbook's notices go nowhere")
    return out


def problems(
    inv: Inventory, secrets: Mapping[str, Mapping[str, str]], checksum: Any, placeholder: str = ""
) -> list[str]:
    """Every problem of the inventory, sorted; [] when it is sound."""
    out: list[str] = []
    for group in GROUPS:
        if not inv.group(group):
            out.append(f"group {group} has no host")
    chains = resolve_chains(inv, problems=out)
    out += _chain_problems(inv, chains)
    out += _hand_written_problems(inv)
    for host in inv.hosts():
        out += _port_problems(inv, host)
    for engine in inv.group(ENGINES):
        out += _engine_chain_problems(inv, engine, chains)
        out += _dsn_problems(inv, engine)
        issue = wallet_problem(
            "mev_engine_cold_wallet", inv.get(engine, "mev_engine_cold_wallet", "mev_engine"), checksum
        )
        if issue:
            out.append(f"engine {engine}: {issue}")
    out += _flow_problems(inv)
    out += _notification_problems(inv, placeholder)
    out += [
        f"{host}: firewall_management_networks is empty while the firewall is on: nobody could reach SSH"
        for host in inv.hosts()
        if firewall_applied(inv, host) and not inv.get(host, "firewall_management_networks", "firewall", [])
    ]
    for host, status in (secrets or {}).items():
        for variable, state in status.items():
            if state == "missing":
                out.append(f"{host}: vault variable {variable} is missing (add it to group_vars/all/vault.yml)")
            elif state == "placeholder":
                out.append(f"{host}: vault variable {variable} still holds the example placeholder")
    return sorted(dict.fromkeys(out))


def flow_table(inv: Inventory) -> list[dict[str, Any]]:
    """The flows as rows (for reports and tests): source, destination, service, port, protocol."""
    return [
        {
            "source": flow.source,
            "source_role": flow.source_role,
            "dest": flow.service.host,
            "service": flow.service.label,
            "key": flow.service.key,
            "port": flow.service.port,
            "protocol": flow.service.protocol,
            "address": flow.address,
        }
        for flow in flows(inv)
    ]


__all__ = [
    "Chain",
    "Flow",
    "Inventory",
    "Service",
    "TopologyError",
    "engine_api_url",
    "engine_chains",
    "expected_listeners",
    "firewall_rules",
    "flow_table",
    "flows",
    "node_chains",
    "postgres_clients",
    "postgres_dsn",
    "problems",
    "resolve_chains",
    "scrape_targets",
    "services",
]
