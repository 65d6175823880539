# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters for the firewall role: CIDR and port validation without netaddr, address
families for nftables sets, and P2P ports derived from the evm_node chain list.

ansible.utils.ipaddr needs the netaddr package, which this collection does not pin; the
standard library's ipaddress module does everything the firewall needs.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ansible.errors import AnsibleFilterError


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network `value` names (a CIDR or a bare address), or None when it names none."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def cidr_errors(values: Any) -> list[Any]:
    """Entries of `values` that are not an IPv4/IPv6 CIDR or address ("10.0.0.0/8", "2001:db8::/32")."""
    if not isinstance(values, list):
        return [values]
    return [value for value in values if _network(value) is None]


def cidr_split(values: Any) -> dict[str, list[str]]:
    """Normalised networks by family: {"ipv4": [...], "ipv6": [...]}, duplicates removed, order kept."""
    bad = cidr_errors(values)
    if bad:
        raise AnsibleFilterError(f"cidr_split: not a CIDR or address: {bad!r}")
    out: dict[str, list[str]] = {"ipv4": [], "ipv6": []}
    for value in values:
        net = _network(value)
        assert net is not None
        family = "ipv4" if net.version == 4 else "ipv6"
        text = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
        if text not in out[family]:
            out[family].append(text)
    return out


def cidr_contains(values: Any, address: Any) -> bool:
    """Whether `address` (an IP) lies in any of the networks `values`."""
    try:
        ip = ipaddress.ip_address(str(address).strip())
    except ValueError:
        return False
    networks = [_network(value) for value in (values if isinstance(values, list) else [])]
    return any(net is not None and ip.version == net.version and ip in net for net in networks)


def _is_port(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return isinstance(value, int) and 1 <= value <= 65535


def port_errors(values: Any) -> list[Any]:
    """Entries of `values` that are not a port number 1-65535."""
    if not isinstance(values, list):
        return [values]
    return [value for value in values if not _is_port(value)]


def chain_p2p_ports(chains: Any) -> list[int]:
    """P2P ports of the evm_node chain list: each entry's `p2p_port` (and `p2p_ports` when a
    client has several, e.g. op-node beside op-geth), sorted and without duplicates."""
    if chains is None:
        return []
    if not isinstance(chains, list):
        raise AnsibleFilterError(f"chain_p2p_ports: evm_node_chains must be a list, got {type(chains).__name__}")
    ports: set[int] = set()
    for chain in chains:
        if not isinstance(chain, dict):
            raise AnsibleFilterError(f"chain_p2p_ports: a chain entry must be a mapping, got {chain!r}")
        candidates = [chain.get("p2p_port"), *list(chain.get("p2p_ports") or [])]
        for port in candidates:
            if port is None:
                continue
            if not _is_port(port):
                raise AnsibleFilterError(
                    f"chain_p2p_ports: chain {chain.get('name', '?')!r} has p2p port {port!r}; expected 1-65535"
                )
            ports.add(int(port))
    return sorted(ports)


def host_addresses(hosts: Any, hostvars: Any) -> dict[str, list[str]]:
    """Addresses of inventory `hosts` for firewall rules: the default IPv4/IPv6 address from
    their facts, else ansible_host or the inventory name when it is an IP. Hosts with none of
    these are listed under "unresolved" so the caller can fail naming them."""
    addresses: list[str] = []
    unresolved: list[str] = []
    for name in hosts or []:
        hv = hostvars[name]
        facts = hv.get("ansible_facts") or {}
        found = [
            (facts.get(key) or {}).get("address")
            for key in ("default_ipv4", "default_ipv6")
            if (facts.get(key) or {}).get("address")
        ]
        if not found:
            found = [
                str(candidate)
                for candidate in (hv.get("ansible_host"), name)
                if candidate is not None and _network(str(candidate)) is not None and "/" not in str(candidate)
            ][:1]
        if found:
            addresses.extend(address for address in found if address not in addresses)
        else:
            unresolved.append(str(name))
    return {"addresses": addresses, "unresolved": unresolved}


class FilterModule:
    """mevops.infra firewall filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "cidr_errors": cidr_errors,
            "cidr_split": cidr_split,
            "cidr_contains": cidr_contains,
            "port_errors": port_errors,
            "chain_p2p_ports": chain_p2p_ports,
            "host_addresses": host_addresses,
        }
