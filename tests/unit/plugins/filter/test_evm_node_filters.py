"""The evm_node filters: chain entries to units and flags, input problems, artifacts, endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.mevops.infra.plugins.filter.evm_node import (
    evm_node_args,
    evm_node_artifacts,
    evm_node_endpoints,
    evm_node_exec,
    evm_node_problems,
    evm_node_resolve,
    evm_node_static_peers,
    evm_node_subdirs,
    evm_node_units,
)

ROLE = Path(__file__).resolve().parents[4] / "roles" / "evm_node"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
SHA = "a" * 64


def _clients() -> dict:
    """The role's client map with its Jinja list concatenations rendered, as Ansible sees it."""
    loader = DataLoader()
    raw = loader.load_from_file(str(ROLE / "vars" / "main.yml"), trusted_as_template=True)
    return Templar(loader=loader, variables=raw).template(raw["_evm_node_clients"])


CLIENTS = _clients()
SETTINGS = {
    "http_addr": DEFAULTS["evm_node_http_addr"],
    "ws_addr": DEFAULTS["evm_node_ws_addr"],
    "apis": DEFAULTS["evm_node_apis"],
    "maxpeers": DEFAULTS["evm_node_maxpeers"],
    "txpool": DEFAULTS["evm_node_txpool"],
    "block_time": DEFAULTS["evm_node_block_time"],
    "state_interval": DEFAULTS["evm_node_anvil_state_interval"],
    "data_root": DEFAULTS["evm_node_data_root"],
}
BINARIES = {
    name: {"path": f"/srv/{name}", "sha256": SHA}
    for name in ("erigon", "geth", "reth", "op-geth", "op-node", "nitro", "bor", "heimdalld", "avalanchego")
} | {"anvil": DEFAULTS["evm_node_binaries"]["anvil"]}
L1 = {"l1_rpc_url": "http://l1:8545", "l1_beacon_url": "http://l1:5052"}


def resolve(*chains: dict) -> list[dict]:
    return evm_node_resolve(list(chains), DEFAULTS["evm_node_chain_defaults"], SETTINGS)


def units(*chains: dict) -> list[dict]:
    return evm_node_units(resolve(*chains), CLIENTS, BINARIES, "/opt/evm-node/bin", {"ProtectSystem": "strict"})


def test_resolve_fills_runbook_ports_chain_ids_and_data_dirs():
    eth, base = resolve({"name": "ethereum", "client": "erigon"}, {"name": "base", "client": "anvil", "chain_id": 5})
    assert (eth["http_port"], eth["chain_id"], eth["data_dir"]) == (8545, 1, "/data/ethereum")
    assert eth["apis"] == ["eth", "net", "web3", "txpool"]
    assert eth["enabled"] is True
    assert (base["http_port"], base["chain_id"]) == (8546, 5)


def test_runbook_http_ports_by_chain():
    ports = {
        name: DEFAULTS["evm_node_chain_defaults"][name]["http_port"] for name in DEFAULTS["evm_node_chain_defaults"]
    }
    assert ports == {
        "ethereum": 8545,
        "base": 8546,
        "polygon": 8547,
        "arbitrum": 8548,
        "optimism": 8549,
        "avalanche": 8550,
    }


def test_default_ports_of_all_six_chains_do_not_collide():
    chains = resolve(
        {"name": "ethereum", "client": "erigon"},
        {"name": "base", "client": "op-geth", **L1},
        {"name": "polygon", "client": "bor", **L1},
        {"name": "arbitrum", "client": "nitro", **L1},
        {"name": "optimism", "client": "op-geth", **L1},
        {"name": "avalanche", "client": "avalanchego"},
    )
    assert evm_node_problems(chains, CLIENTS, BINARIES) == []
    names = [unit["name"] for unit in evm_node_units(chains, CLIENTS, BINARIES, "/b")]
    assert names == [
        "ethereum-erigon",
        "base-op-geth",
        "base-op-node",
        "polygon-bor",
        "polygon-heimdall",
        "arbitrum-nitro",
        "optimism-op-geth",
        "optimism-op-node",
        "avalanche-avalanchego",
    ]


def test_txpool_override_merges_over_the_defaults():
    (chain,) = resolve({"name": "ethereum", "client": "erigon", "txpool": {"globalslots": 50000}})
    assert chain["txpool"] == {"globalslots": 50000, "globalbasefeeslots": 30000, "accountslots": 16, "pricebump": 10}


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        ({"name": "ethereum", "client": "parity"}, "chain ethereum: client 'parity' is unknown; supported: anvil,"),
        ({"name": "devnet", "client": "anvil", "chain_id": 31337}, "chain devnet: http_port is missing"),
        ({"name": "devnet", "client": "anvil", "http_port": 8545}, "chain devnet: chain_id is missing"),
        ({"name": "ethereum", "client": "anvil", "http_port": 70000}, "chain ethereum: http_port=70000 is not a port"),
        ({"name": "ethereum", "client": "anvil", "http_port": "x"}, "chain ethereum: http_port='x' is not a port"),
        ({"name": "base", "client": "op-geth"}, "chain base: l1_rpc_url is missing (client op-geth needs it)"),
        ({"name": "Eth Main", "client": "anvil", "http_port": 1, "chain_id": 1}, "name 'Eth Main' must be"),
        ({"client": "anvil", "http_port": 1, "chain_id": 1}, "evm_node_chains[0]: name is missing"),
        ({"name": "ethereum", "client": "anvil", "extra_args": "--x"}, "chain ethereum: extra_args must be a list"),
        ({"name": "ethereum", "client": "anvil", "data_dir": "data/eth"}, "data_dir='data/eth' must be an absolute"),
    ],
)
def test_bad_chain_names_the_chain_and_field(chain, expected):
    problems = evm_node_problems(resolve(chain), CLIENTS, BINARIES)
    assert any(expected in line for line in problems), problems


def test_duplicate_ports_name_both_chains():
    chains = resolve(
        {"name": "ethereum", "client": "anvil", "http_port": 8546},
        {"name": "base", "client": "anvil"},
    )
    assert evm_node_problems(chains, CLIENTS, BINARIES) == [
        "chain base: http_port=8546 is already used by ethereum.http_port"
    ]


def test_ports_collide_across_fields_and_companions():
    chains = resolve(
        {"name": "ethereum", "client": "erigon", "ws_port": 9545},
        {"name": "base", "client": "op-geth", **L1},
    )
    assert evm_node_problems(chains, CLIENTS, BINARIES) == [
        "chain base: cl_rpc_port=9545 is already used by ethereum.ws_port"
    ]


def test_duplicate_chain_names_fail():
    chains = resolve({"name": "ethereum", "client": "anvil"}, {"name": "ethereum", "client": "anvil", "http_port": 1})
    assert "chain ethereum: name appears more than once in evm_node_chains" in evm_node_problems(
        chains, CLIENTS, BINARIES
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (None, "evm_node_binaries.erigon is missing: give url, path or npm, and sha256"),
        ({"url": "https://x/erigon"}, "evm_node_binaries.erigon.sha256 is missing"),
        ({"path": "/x", "sha256": "ABC"}, "evm_node_binaries.erigon.sha256='ABC' is not 64 lowercase hex digits"),
        ({"url": "https://x", "path": "/x", "sha256": SHA}, "needs exactly one of url, path, npm (found: url, path)"),
        ({"npm": "erigon@1.0.0", "sha256": SHA}, "evm_node_binaries.erigon.member is missing"),
        ({"path": "/x", "sha256": SHA, "archive_sha256": "z"}, "evm_node_binaries.erigon.archive_sha256='z'"),
    ],
)
def test_binary_without_pinned_checksum_names_the_chain_and_field(source, expected):
    binaries = dict(BINARIES)
    if source is None:
        binaries.pop("erigon")
    else:
        binaries["erigon"] = source
    problems = evm_node_problems(resolve({"name": "ethereum", "client": "erigon"}), CLIENTS, binaries)
    assert any(line.startswith("chain ethereum: ") and expected in line for line in problems), problems


def test_anvil_unit():
    (unit,) = units({"name": "base", "client": "anvil", "block_time": 2})
    assert unit["name"] == "base-anvil"
    assert unit["argv"] == [
        "/opt/evm-node/bin/anvil",
        "--host=127.0.0.1",
        "--port=8546",
        "--chain-id=8453",
        "--block-time=2",
        "--network=optimism",  # base's chain id is an OP-stack chain's: anvil charges the L1 data fee
    ]
    assert unit["sha256"] == DEFAULTS["evm_node_binaries"]["anvil"]["sha256"]
    assert unit["after"] == []
    assert unit["enabled"] is True


def test_anvil_is_an_op_stack_chain_by_chain_id_not_by_name():
    (arbitrum,) = units({"name": "arbitrum", "client": "anvil"})
    (renamed,) = units({"name": "l2", "client": "anvil", "chain_id": 10, "http_port": 8600})
    assert "--network=optimism" not in arbitrum["argv"]
    assert "--network=optimism" in renamed["argv"]


def test_anvil_keeps_its_state_only_when_asked():
    (kept,) = units({"name": "ethereum", "client": "anvil", "chain_id": 31337, "state_interval": 30})
    assert kept["argv"][-2:] == ["--state=/data/ethereum/anvil-state.json", "--state-interval=30"]
    (fresh,) = units({"name": "ethereum", "client": "anvil", "chain_id": 31337})
    assert DEFAULTS["evm_node_anvil_state_interval"] is None
    assert not any(arg.startswith("--state") for arg in fresh["argv"])


def test_erigon_gets_the_troubleshooting_guide_txpool_flags():
    (unit,) = units({"name": "ethereum", "client": "erigon"})
    for flag in (
        "--txpool.globalslots=20000",
        "--txpool.globalbasefeeslots=30000",
        "--txpool.accountslots=16",
        "--txpool.pricebump=10",
        "--http.api=eth,net,web3,txpool",
        "--maxpeers=100",
        "--authrpc.jwtsecret=/data/ethereum/jwt.hex",
    ):
        assert flag in unit["argv"]
    # No static peers: the flag is left out, not passed empty.
    assert not any(arg.startswith("--staticpeers") for arg in unit["argv"])


def test_geth_uses_its_network_flag_and_static_peers_config():
    (unit,) = units({"name": "ethereum", "client": "geth", "static_peers": ["enode://a@1.2.3.4:30303"]})
    assert unit["argv"][1:3] == ["--mainnet", "--datadir=/data/ethereum"]
    assert "--config=/data/ethereum/static-nodes.toml" in unit["argv"]
    assert "--txpool.globalslots=20000" in unit["argv"]


def test_reth_and_erigon_take_static_peers_as_flags():
    peers = ["enode://a@1.2.3.4:30303", "enode://b@1.2.3.5:30303"]
    (reth,) = units({"name": "ethereum", "client": "reth", "static_peers": peers})
    assert reth["argv"][1] == "node"
    assert "--trusted-peers=enode://a@1.2.3.4:30303,enode://b@1.2.3.5:30303" in reth["argv"]
    (erigon,) = units({"name": "ethereum", "client": "erigon", "static_peers": peers})
    assert "--staticpeers=enode://a@1.2.3.4:30303,enode://b@1.2.3.5:30303" in erigon["argv"]
    assert (
        evm_node_static_peers(resolve({"name": "ethereum", "client": "erigon", "static_peers": peers}), CLIENTS) == []
    )


def test_op_geth_pairs_with_op_node_through_one_jwt_file():
    geth, node = units(
        {"name": "optimism", "client": "op-geth", **L1, "cl_extra_args": ["--x=1"], "extra_args": ["--y"]}
    )
    assert (geth["name"], node["name"]) == ("optimism-op-geth", "optimism-op-node")
    assert "--authrpc.jwtsecret=/data/optimism/jwt.hex" in geth["argv"]
    assert "--l2.jwt-secret=/data/optimism/jwt.hex" in node["argv"]
    assert "--l2=http://127.0.0.1:8553" in node["argv"]
    assert "--authrpc.port=8553" in geth["argv"]
    assert node["after"] == ["optimism-op-geth.service"]
    assert geth["argv"][-1] == "--y"
    assert node["argv"][-1] == "--x=1"


def test_bor_and_heimdall():
    bor, heimdall = units({"name": "polygon", "client": "bor", **L1})
    assert heimdall["name"] == "polygon-heimdall"
    assert heimdall["binary"] == "heimdalld"
    assert "--bor.heimdall=http://127.0.0.1:1317" in bor["argv"]
    assert "--bor_rpc_url=http://127.0.0.1:8547" in heimdall["argv"]
    assert evm_node_subdirs(resolve({"name": "polygon", "client": "bor", **L1}), CLIENTS) == ["/data/polygon/heimdall"]


def test_nitro_drops_apis_it_does_not_have_and_keeps_write_execute():
    (unit,) = units({"name": "arbitrum", "client": "nitro", **L1})
    assert "--http.api=eth,net,web3" in unit["argv"]
    assert unit["sandbox"] == {"ProtectSystem": "strict", "MemoryDenyWriteExecute": False}


def test_disabled_chain_keeps_its_unit_but_not_its_endpoint():
    chains = resolve({"name": "ethereum", "client": "anvil", "enabled": False}, {"name": "base", "client": "anvil"})
    assert [unit["enabled"] for unit in evm_node_units(chains, CLIENTS, BINARIES, "/b")] == [False, True]
    assert evm_node_endpoints(chains, CLIENTS) == [{"name": "base", "url": "http://127.0.0.1:8546", "chain_id": 8453}]


def test_endpoints_reach_wildcard_binds_on_loopback_and_avalanche_on_its_c_chain_path():
    chains = resolve(
        {"name": "ethereum", "client": "anvil", "http_addr": "0.0.0.0"},
        {"name": "avalanche", "client": "avalanchego"},
        {"name": "base", "client": "anvil", "http_addr": "::1"},
    )
    assert evm_node_endpoints(chains, CLIENTS) == [
        {"name": "ethereum", "url": "http://127.0.0.1:8545", "chain_id": 1},
        {"name": "avalanche", "url": "http://127.0.0.1:8550/ext/bc/C/rpc", "chain_id": 43114},
        {"name": "base", "url": "http://[::1]:8546", "chain_id": 8453},
    ]


def test_static_peer_files_by_format():
    chains = resolve(
        {"name": "base", "client": "op-geth", **L1, "static_peers": ["enode://a@1:1"]},
        {"name": "polygon", "client": "bor", **L1, "static_peers": ["enode://b@1:1"]},
        {"name": "optimism", "client": "op-geth", **L1},
    )
    assert evm_node_static_peers(chains, CLIENTS) == [
        {"chain": "base", "path": "/data/base/static-nodes.toml", "format": "geth_toml", "peers": ["enode://a@1:1"]},
        {
            "chain": "polygon",
            "path": "/data/polygon/static-nodes.toml",
            "format": "bor_toml",
            "peers": ["enode://b@1:1"],
        },
    ]


def test_args_templates_drop_unset_fields_and_conditional_groups():
    chain = {"a": 1, "b": None, "c": "", "d": [], "e": ["x", "y"], "f": {"g": 3}}
    templates = ["--a={a}", "--b={b}", "--c={c}", "--d={d}", "--e={e}", "--g={f[g]}", "--h={f[h]}", "--plain"]
    templates += [{"when": "b", "args": ["--never"]}, {"when": "a", "args": ["--yes={a:03d}"]}]
    assert evm_node_args(templates, chain) == ["--a=1", "--e=x,y", "--g=3", "--plain", "--yes=001"]


def test_malformed_flag_template_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match=r"--bad=\{"):
        evm_node_args(["--bad={"], {})


def test_exec_escapes_percent_dollar_and_quotes_spaces():
    line = evm_node_exec(["/bin/x", "--a=50%", "--b=$HOME", "--c=two words", 'q"uote'])
    assert line.split(" \\\n    ") == ["/bin/x", "--a=50%%", "--b=$$HOME", '"--c=two words"', '"q\\"uote"']
    with pytest.raises(AnsibleFilterError):
        evm_node_exec([])


def test_artifacts_once_per_binary_and_checksum_across_hosts():
    host_a = units({"name": "ethereum", "client": "anvil"}, {"name": "base", "client": "anvil"})
    host_b = units({"name": "ethereum", "client": "erigon"})
    binaries = dict(BINARIES, erigon={"url": "https://dl/erigon_3.tar.gz?x=1", "member": "e/erigon", "sha256": SHA})
    artifacts = evm_node_artifacts([host_a, host_b], binaries, "/cache")
    assert [a["binary"] for a in artifacts] == ["anvil", "erigon"]
    anvil, erigon = artifacts
    sha = DEFAULTS["evm_node_binaries"]["anvil"]["sha256"]
    assert anvil["kind"] == "npm"
    assert anvil["fetched"] == f"/cache/anvil/{sha}/foundry-rs-anvil-linux-amd64-1.7.1.tgz"
    assert anvil["binary_path"] == f"/cache/anvil/{sha}/package/bin/anvil"
    assert erigon["kind"] == "url"
    assert erigon["fetched"] == f"/cache/erigon/{SHA}/erigon_3.tar.gz"
    assert erigon["binary_path"] == f"/cache/erigon/{SHA}/e/erigon"


def test_artifacts_of_plain_binaries():
    binaries = dict(BINARIES, geth={"url": "https://dl/geth-linux", "sha256": SHA})
    (url,) = evm_node_artifacts(units({"name": "ethereum", "client": "geth"}), binaries, "/c")
    assert url["fetched"] == url["binary_path"] == f"/c/geth/{SHA}/geth"
    (path,) = evm_node_artifacts(units({"name": "ethereum", "client": "reth"}), BINARIES, "/c")
    assert path["kind"] == "path"
    assert path["binary_path"] == "/srv/reth"


def test_npm_package_must_be_pinned():
    binaries = dict(BINARIES, anvil={"npm": "@foundry-rs/anvil-linux-amd64@^1.7", "member": "m", "sha256": SHA})
    with pytest.raises(AnsibleFilterError, match="pinned"):
        evm_node_artifacts(units({"name": "ethereum", "client": "anvil"}), binaries, "/c")


def test_resolve_rejects_non_list():
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        evm_node_resolve({"name": "ethereum"})
