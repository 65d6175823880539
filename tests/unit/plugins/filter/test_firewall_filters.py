"""CIDR and port validation and the derived ports/addresses of the firewall role."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.filter.firewall import (
    cidr_contains,
    cidr_errors,
    cidr_split,
    port_errors,
)


@pytest.mark.parametrize("good", ["10.0.0.0/8", "192.0.2.7", "192.0.2.7/32", "2001:db8::/32", "::1", " 10.1.0.0/16 "])
def test_cidr_errors_accepts_networks_and_addresses(good):
    assert cidr_errors([good]) == []


@pytest.mark.parametrize(
    "bad", ["10.0.0.0/33", "mgmt-net", "", "300.1.1.1", "10.0.0.0/8,10.1.0.0/16", 10, None, "2001:db8::/129"]
)
def test_cidr_errors_names_each_bad_entry(bad):
    assert cidr_errors(["10.0.0.0/8", bad]) == [bad]


def test_cidr_errors_rejects_a_string_instead_of_a_list():
    assert cidr_errors("10.0.0.0/8") == ["10.0.0.0/8"]


def test_cidr_split_normalises_and_dedupes():
    assert cidr_split(["10.1.2.3/8", "192.0.2.7/32", "192.0.2.7", "2001:db8::1/32"]) == {
        "ipv4": ["10.0.0.0/8", "192.0.2.7"],
        "ipv6": ["2001:db8::/32"],
    }


def test_cidr_split_refuses_bad_input():
    with pytest.raises(AnsibleFilterError, match="not a CIDR"):
        cidr_split(["nope"])


def test_cidr_contains():
    assert cidr_contains(["10.0.0.0/8"], "10.20.30.40")
    assert not cidr_contains(["10.0.0.0/8"], "192.0.2.1")
    assert not cidr_contains(["10.0.0.0/8"], "not-an-ip")
    assert not cidr_contains(["2001:db8::/32"], "10.0.0.1")


@pytest.mark.parametrize("bad", [0, 65536, 70000, -1, "http", True, 22.5, None])
def test_port_errors(bad):
    assert port_errors([22, "8545", 65535, bad]) == [bad]
