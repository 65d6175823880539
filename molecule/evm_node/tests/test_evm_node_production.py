"""Verify evm_node's production clients as rendered (erigon, op-geth + op-node, nitro):
unit files and flags, the shared JWT secret, the pinned binaries, and nothing started."""

from __future__ import annotations

import re

import pytest

testinfra_hosts = ["ansible://mevops-evm-node-prod"]

UNITS = ["ethereum-erigon", "base-op-geth", "base-op-node", "arbitrum-nitro"]
DUMMY_SHA256 = {
    "erigon": "0ce2e2c36c48c5ed31130a256b82dcbf207513dd207ce0292919f2becf36e5bb",
    "op-geth": "9c13d38ac488ff1de4a9cb6b35283c179821efe3944588592a1c487ebf0190b3",
    "op-node": "ec071f3cf75fae52e4f9ba6931c5706ca002b3644e4cf23ea9beb4bb0c4be111",
    "nitro": "624829cdb3d85227b34785b6afb5909a621f4cb88830c606a8a14f360d7a6063",
}


def exec_args(host, unit: str) -> list[str]:
    """ExecStart of the unit as systemd parsed it: the argv list."""
    out = host.check_output(f"systemctl show {unit} -p ExecStart --value")
    argv = re.search(r"argv\[\]=(.*?) ;", out)
    assert argv, out
    return argv.group(1).split(" ")


def assert_flags(args: list[str], flags: list[str]) -> None:
    assert [flag for flag in flags if flag not in args] == [], args


def prop(host, unit: str, name: str) -> str:
    return host.check_output(f"systemctl show {unit} -p {name} --value")


@pytest.mark.parametrize("unit", UNITS)
def test_unit_is_installed_verified_and_not_started(host, unit):
    path = f"/etc/systemd/system/{unit}.service"
    f = host.file(path)
    assert f.user == "root"
    assert f.mode == 0o644
    # What the role validated before writing still verifies in place.
    verify = host.run(f"systemd-analyze verify {path}")
    assert verify.rc == 0, verify.stderr
    assert prop(host, unit, "LoadState") == "loaded"
    assert prop(host, unit, "ActiveState") == "inactive"
    assert prop(host, unit, "UnitFileState") == "disabled"


@pytest.mark.parametrize("unit", UNITS)
def test_unit_runs_sandboxed_as_the_service_user(host, unit):
    assert prop(host, unit, "User") == "evm-node"
    assert prop(host, unit, "Restart") == "on-failure"
    assert prop(host, unit, "LimitNOFILE") == "1048576"
    assert prop(host, unit, "ProtectSystem") == "strict"
    assert prop(host, unit, "NoNewPrivileges") == "yes"
    assert prop(host, unit, "PrivateTmp") == "yes"
    assert prop(host, unit, "ProtectHome") == "yes"
    chain = unit.split("-", 1)[0]
    assert prop(host, unit, "ReadWritePaths") == f"/data/{chain}"


def test_nitro_may_write_and_execute_memory(host):
    # Stylus compiles contracts at run time; everything else keeps W^X.
    assert prop(host, "arbitrum-nitro", "MemoryDenyWriteExecute") == "no"
    assert prop(host, "ethereum-erigon", "MemoryDenyWriteExecute") == "yes"


def test_erigon_flags(host):
    args = exec_args(host, "ethereum-erigon")
    assert args[0] == "/opt/evm-node/bin/erigon"
    assert_flags(
        args,
        [
            "--datadir=/data/ethereum",
            "--chain=mainnet",
            "--http",
            "--http.addr=127.0.0.1",
            "--http.port=8545",
            "--http.api=eth,net,web3,txpool",
            "--ws",
            "--ws.port=8645",
            "--port=30303",
            "--maxpeers=100",
            "--staticpeers=enode://aaaa@10.0.0.5:30303,enode://bbbb@10.0.0.6:30303",
            "--authrpc.addr=127.0.0.1",
            "--authrpc.port=8551",
            "--authrpc.jwtsecret=/data/ethereum/jwt.hex",
            "--private.api.addr=127.0.0.1:9190",
            "--txpool.globalslots=20000",
            "--txpool.globalbasefeeslots=30000",
            "--txpool.accountslots=16",
            "--txpool.pricebump=10",
        ],
    )
    assert args[-1] == "--prune.mode=full"


def test_op_geth_flags_and_static_peers_file(host):
    args = exec_args(host, "base-op-geth")
    assert args[0] == "/opt/evm-node/bin/op-geth"
    assert_flags(
        args,
        [
            "--op-network=base-mainnet",
            "--datadir=/data/base",
            "--rollup.sequencerhttp=https://mainnet-sequencer.base.org",
            "--http.port=8546",
            "--http.api=eth,net,web3,txpool",
            "--ws.port=8646",
            "--port=30304",
            "--authrpc.port=8552",
            "--authrpc.jwtsecret=/data/base/jwt.hex",
            "--txpool.globalslots=20000",
            "--config=/data/base/static-nodes.toml",
        ],
    )
    # geth has no globalbasefeeslots: the flag is left out rather than crash the node.
    assert not any(arg.startswith("--txpool.globalbasefeeslots") for arg in args)
    peers = host.file("/data/base/static-nodes.toml").content_string
    assert "[Node.P2P]" in peers
    assert 'StaticNodes = ["enode://cccc@10.0.0.7:30303"]' in peers


def test_op_node_pairs_with_op_geth(host):
    args = exec_args(host, "base-op-node")
    assert args[0] == "/opt/evm-node/bin/op-node"
    assert_flags(
        args,
        [
            "--network=base-mainnet",
            "--l1=http://10.0.0.5:8545",
            "--l1.beacon=http://10.0.0.5:5052",
            "--l2=http://127.0.0.1:8552",
            "--l2.jwt-secret=/data/base/jwt.hex",
            "--rpc.port=9545",
            "--p2p.listen.tcp=9222",
        ],
    )
    assert args[-1] == "--syncmode=execution-layer"
    assert "base-op-geth.service" in prop(host, "base-op-node", "After")
    assert host.file("/data/base/op-node").is_directory


def test_nitro_flags(host):
    args = exec_args(host, "arbitrum-nitro")
    assert_flags(
        args,
        [
            "--persistent.chain=/data/arbitrum",
            "--parent-chain.connection.url=http://10.0.0.5:8545",
            "--chain.id=42161",
            "--http.addr=0.0.0.0",
            "--http.port=8548",
            # nitro has no txpool namespace: only the APIs it has are passed.
            "--http.api=eth,net,web3",
            "--ws.port=8648",
        ],
    )


def test_jwt_secret_is_private_shared_and_kept(host):
    jwt = host.file("/data/base/jwt.hex")
    assert jwt.user == "evm-node"
    assert jwt.group == "evm-node"
    assert jwt.mode == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}\n", jwt.content_string)
    # One file for both units of the pair.
    assert "--authrpc.jwtsecret=/data/base/jwt.hex" in exec_args(host, "base-op-geth")
    assert "--l2.jwt-secret=/data/base/jwt.hex" in exec_args(host, "base-op-node")
    # The idempotence run did not regenerate it.
    first = host.file("/root/evm-node-test-jwt.sha256").content_string.strip()
    assert host.check_output("sha256sum /data/base/jwt.hex").split()[0] == first
    assert host.file("/data/ethereum/jwt.hex").mode == 0o600
    assert not host.file("/data/arbitrum/jwt.hex").exists


def test_binaries_are_the_pinned_ones(host):
    for binary, sha256 in DUMMY_SHA256.items():
        f = host.file(f"/opt/evm-node/bin/{binary}")
        assert f.mode == 0o755
        assert host.check_output(f"sha256sum {f.path}").split()[0] == sha256


def test_data_folders_belong_to_the_service_user(host):
    for chain in ("ethereum", "base", "arbitrum"):
        d = host.file(f"/data/{chain}")
        assert d.user == "evm-node"
        assert d.mode == 0o750


def test_units_of_removed_chains_are_gone_but_their_data_and_other_units_stay(host):
    assert not host.file("/etc/systemd/system/goerli-geth.service").exists
    assert not host.file("/etc/systemd/system/multi-user.target.wants/goerli-geth.service").exists
    assert host.run("systemctl is-active goerli-geth.service").stdout.strip() != "active"
    assert host.file("/data/goerli/keep").content_string == "chain data\n"
    assert host.file("/etc/systemd/system/other-node.service").exists
