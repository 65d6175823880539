# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters for the firewall role: CIDR and port validation without netaddr, and address
families for nftables sets. The ports and sources to admit come from the inventory's flows
(mevops.infra.topology_firewall, plugins/plugin_utils/topology.py).

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
        if net is None:  # not reached: cidr_errors above let only networks through
            continue
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


class FilterModule:
    """mevops.infra firewall filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "cidr_errors": cidr_errors,
            "cidr_split": cidr_split,
            "cidr_contains": cidr_contains,
            "port_errors": port_errors,
        }
