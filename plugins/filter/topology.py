# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters over the desk's topology (plugins/plugin_utils/topology.py): the chain catalogue
`mevops_chains` and every cross-host flow, derived from the inventory.

Every filter takes `hostvars` first, then `groups`, then the host it derives for:

    evm_node_chains: "{{ hostvars | mevops.infra.topology_node_chains(groups, inventory_hostname) }}"
    mev_engine_chains: "{{ hostvars | mevops.infra.topology_engine_chains(groups, inventory_hostname) }}"
    _rules: "{{ hostvars | mevops.infra.topology_firewall(groups, inventory_hostname) }}"
    emergency_controller_api_url: "{{ hostvars | mevops.infra.topology_engine_api_url(groups, inventory_hostname) }}"
    _problems: "{{ hostvars | mevops.infra.topology_problems(groups, secrets) }}"

and one that needs no inventory, the URL of a service from its own host:

    monitoring_alertmanager_url: "{{ monitoring_alertmanager_listen_address | mevops.infra.topology_local_url }}"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.plugin_utils import deps, topology


def _inventory(hostvars: Any, groups: Any) -> topology.Inventory:
    if not isinstance(groups, Mapping):
        raise AnsibleFilterError(f"topology filters need `groups` as their first argument, got {type(groups).__name__}")
    return topology.Inventory(hostvars, groups)


def _wrap(function: Any) -> Any:
    def filter_(hostvars: Any, groups: Any, host: str) -> Any:
        try:
            return function(_inventory(hostvars, groups), str(host))
        except (topology.TopologyError, KeyError, TypeError, ValueError) as exc:
            raise AnsibleFilterError(f"mevops.infra.{function.__name__}: {exc}") from exc

    filter_.__name__ = f"topology_{function.__name__}"
    filter_.__doc__ = function.__doc__
    return filter_


def _checksum(address: str) -> str:
    eth_utils = deps.require("eth_utils", "mevops.infra.topology_problems (EIP-55 cold wallet check)")
    return str(eth_utils.to_checksum_address(address))


def topology_problems(
    hostvars: Any, groups: Any, secrets: Mapping[str, Mapping[str, str]] | None = None, placeholder: str = ""
) -> list[str]:
    """Every problem of the inventory, sorted; [] when it is sound (validate_inventory.yml)."""
    return topology.problems(_inventory(hostvars, groups), secrets or {}, _checksum, placeholder)


def topology_flows(hostvars: Any, groups: Any) -> list[dict[str, Any]]:
    """Every flow as a row: source, source_role, dest, service, key, port, protocol, address."""
    return topology.flow_table(_inventory(hostvars, groups))


def topology_address(hostvars: Any, groups: Any, host: str) -> str:
    """The address the desk's other hosts reach `host` at."""
    return _inventory(hostvars, groups).address(str(host))


def topology_local_url(listen_address: Any, scheme: str = "http") -> str:
    """The URL a service listening on `listen_address` (host:port) is reached at from its own host."""
    try:
        return topology.local_url(str(listen_address), scheme)
    except topology.TopologyError as exc:
        raise AnsibleFilterError(f"mevops.infra.topology_local_url: {exc}") from exc


class FilterModule:
    """Topology filters."""

    def filters(self) -> dict[str, Any]:
        derived = {
            f"topology_{fn.__name__}": _wrap(fn)
            for fn in (
                topology.node_chains,
                topology.engine_chains,
                topology.postgres_dsn,
                topology.postgres_clients,
                topology.expected_listeners,
                topology.scrape_targets,
                topology.engine_api_url,
            )
        }
        derived["topology_firewall"] = _wrap(topology.firewall_rules)
        derived.update(
            topology_problems=topology_problems,
            topology_flows=topology_flows,
            topology_address=topology_address,
            topology_local_url=topology_local_url,
        )
        return derived
