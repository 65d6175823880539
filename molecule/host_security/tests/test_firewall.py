"""The node's nftables ruleset, probed from the second container on the scenario network."""

from __future__ import annotations

import pytest

testinfra_hosts = ["docker://mevops-security-node"]

LISTENERS = [30303, 30304, 8545, 8546, 9100, 8999]


@pytest.fixture(scope="module", autouse=True)
def listeners(node):
    for port in LISTENERS:
        node.run(f"systemctl stop mevops-test-{port}; systemctl reset-failed mevops-test-{port}")
        node.check_output(f"systemd-run --unit=mevops-test-{port} python3 -m http.server {port} --bind 0.0.0.0")
    node.check_output("for i in $(seq 50); do ss -Hltn | grep -q ':8999 ' && exit 0; sleep 0.2; done; exit 1")
    yield
    for port in LISTENERS:
        node.run(f"systemctl stop mevops-test-{port}")


def test_nft_works_in_the_container_and_the_table_is_loaded(host):
    ruleset = host.check_output("nft list table inet mevops_filter")
    assert "policy drop" in ruleset
    assert "udp dport { 30303, 30304 } accept" in ruleset


def test_other_tables_are_left_alone(host):
    # Docker's embedded DNS rules live in this network namespace too.
    assert "DOCKER_OUTPUT" in host.check_output("nft list ruleset")
    assert host.run("getent hosts mevops-security-probe").rc == 0


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        (22, "open"),  # ssh from the management network (the probe)
        (30303, "open"),  # p2p derived from evm_node_chains
        (30304, "open"),  # firewall_p2p_ports
        (9100, "open"),  # scraping from the monitoring group (the probe)
        (8546, "open"),  # restricted service listing the probe
        (8545, "dropped"),  # restricted service listing another network
        (8999, "dropped"),  # not allowed at all
    ],
)
def test_ports_from_the_probe(probe, node_ip, port, expected, tcp):
    assert tcp(probe, node_ip, port) == expected


def test_loopback_reaches_everything(host, tcp):
    assert tcp(host, "127.0.0.1", 8545) == "open"


def test_ruleset_loads_at_boot(host):
    assert host.service("nftables").is_enabled
    assert "mevops_filter" in host.file("/etc/nftables.conf").content_string
    assert (
        "delete table inet mevops_filter"
        in host.file("/etc/systemd/system/nftables.service.d/60-mevops.conf").content_string
    )


def test_cutting_ruleset_was_rolled_back(host, probe_ip):
    # side_effect applied 192.0.2.0/24 as the only management network; the probe kept access.
    conf = host.file("/etc/nftables.conf").content_string
    assert f"ip saddr {{ {probe_ip} }} tcp dport 22 accept" in conf
    assert "192.0.2.0/24 } tcp dport 22" not in conf
    assert "rolled back to the previous ruleset" in host.check_output("journalctl -t mevops-firewall --no-pager -q")
    assert host.run("systemctl is-active mevops-firewall-rollback.timer").stdout.strip() != "active"


def test_isolation_was_lifted_by_its_timer(host):
    assert host.run("nft list table inet mevops_isolate").rc != 0
