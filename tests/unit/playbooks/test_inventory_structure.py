"""The devnet is production in miniature: inventories/devnet and inventories/production have the
same groups, host layout, group_vars files and variables, and the same chain catalogue, and
differ only in addresses, client binaries, secrets and sizes (DESIGN.md, "Environments and
scale"). Any other difference fails here, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TOP = Path(__file__).resolve().parents[3]
DEVNET, PRODUCTION = TOP / "inventories" / "devnet", TOP / "inventories" / "production"

# Variables one of the two may set and the other not, by why they may differ.
MAY_DIFFER = {
    # How the controller reaches the hosts (the devnet's key and known hosts are made at bring-up).
    "addresses": {"ansible_ssh_private_key_file", "ansible_ssh_common_args", "devnet_ssh_dir",
                  "devnet_ssh_known_hosts", "devnet_network"},
    # Anvil's own settings on the devnet; pinned releases in production.
    "client binaries": {"evm_node_binaries", "evm_node_block_time", "evm_node_anvil_state_interval"},
    # Smaller containers.
    "sizes": {"evm_node_limit_nofile", "postgresql_memory_mb", "postgresql_cpus"},
    # Where alerts go (secrets): production's Slack and PagerDuty; on the devnet, which reaches
    # neither, the monitoring role's alert receiver stands in for them.
    "alert channels": {"monitoring_alertmanager_slack_enabled", "monitoring_alertmanager_slack_api_url",
                       "monitoring_alertmanager_pagerduty_enabled", "monitoring_alertmanager_pagerduty_routing_key",
                       "monitoring_alert_receiver_enabled", "monitoring_alert_receiver_listen_address",
                       "monitoring_alertmanager_critical_webhook_urls", "monitoring_alertmanager_warning_webhook_urls"},
}  # fmt: skip
ALLOWED = set().union(*MAY_DIFFER.values())
# Catalogue keys that are the client's (anvil stands in for each production client).
CLIENT_KEYS = {"client", "network", "sequencer_url", "extra_args", "cl_extra_args", "static_peers"}


def _load(path: Path) -> dict:
    if "vault" in path.name:
        return {}  # encrypted: its keys are checked by validate_inventory (missing vault variables)
    return yaml.safe_load(path.read_text()) or {}


def _group_vars(root: Path) -> dict[str, dict]:
    return {str(p.relative_to(root / "group_vars")): _load(p) for p in sorted((root / "group_vars").rglob("*.yml"))}


def _layout(root: Path) -> dict[str, int]:
    children = yaml.safe_load((root / "hosts.yml").read_text())["all"]["children"]
    return {group: len(spec.get("hosts") or {}) for group, spec in children.items()}


def _hosts(root: Path) -> dict[str, list[str]]:
    """{host: its groups}."""
    children = yaml.safe_load((root / "hosts.yml").read_text())["all"]["children"]
    out: dict[str, list[str]] = {}
    for group, spec in children.items():
        for host in spec.get("hosts") or {}:
            out.setdefault(host, []).append(group)
    return out


def test_same_groups_and_host_layout():
    assert _layout(DEVNET) == _layout(PRODUCTION)
    # One host per group in both: every host in exactly one group.
    assert sorted(map(len, _hosts(DEVNET).values())) == sorted(map(len, _hosts(PRODUCTION).values()))


def test_same_group_vars_files():
    assert sorted(_group_vars(DEVNET)) == sorted(_group_vars(PRODUCTION))


@pytest.mark.parametrize("name", sorted(_group_vars(PRODUCTION)))
def test_same_variables_in_each_file(name):
    devnet, production = _group_vars(DEVNET)[name], _group_vars(PRODUCTION)[name]
    only_devnet = sorted(set(devnet) - set(production) - ALLOWED)
    only_production = sorted(set(production) - set(devnet) - ALLOWED)
    assert not only_devnet, f"group_vars/{name}: only the devnet sets {only_devnet}"
    assert not only_production, f"group_vars/{name}: only production sets {only_production}"


def _shape(chain: dict) -> dict:
    """A catalogue entry without its client's keys, each backup provider reduced to one: the
    devnet's stand-in relay and production's hosted provider differ in URL and WebSocket."""
    out = {k: v for k, v in chain.items() if k not in CLIENT_KEYS}
    if isinstance(out.get("engine"), dict) and "backups" in out["engine"]:
        out["engine"] = {**out["engine"], "backups": [{"http_url"} <= set(b) for b in out["engine"]["backups"]]}
    return out


def test_same_chain_catalogue_but_the_clients():
    devnet = _group_vars(DEVNET)["all/chains.yml"]["mevops_chains"]
    production = _group_vars(PRODUCTION)["all/chains.yml"]["mevops_chains"]
    assert [c["name"] for c in devnet] == [c["name"] for c in production]
    for d, p in zip(devnet, production, strict=True):
        assert _shape(d) == _shape(p), f"chain {d['name']}: the devnet and production differ beyond the client"
    assert {c["client"] for c in devnet} == {"anvil"}


def test_the_allowed_differences_are_used():
    """The allow-list stays honest: each entry is set by one of the two inventories."""
    used = set()
    for root in (DEVNET, PRODUCTION):
        for values in _group_vars(root).values():
            used |= set(values)
    for hosts_file in (DEVNET / "hosts.yml", PRODUCTION / "hosts.yml"):
        used |= set(yaml.safe_load(hosts_file.read_text())["all"].get("vars") or {})
    assert ALLOWED - used == set(), f"allowed but set by neither inventory: {sorted(ALLOWED - used)}"
