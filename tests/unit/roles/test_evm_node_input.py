"""Bad input to evm_node fails before anything changes, naming the chain and the field;
a binary that does not match its pinned sha256 fails on the controller.

Runs the role for real with ansible-playbook against localhost in check mode, limited to
its preflight (and, for the checksum, the controller side of its install phase).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from roleplay import run_role


def run_evm_node(tmp_path: Path, variables: dict, tags: str = "evm_node_preflight") -> subprocess.CompletedProcess[str]:
    cache = {"evm_node_controller_cache_dir": str(tmp_path / "cache")}
    return run_role(tmp_path, "evm_node", {**cache, **variables}, tags=tags)


ANVILS = [{"name": "ethereum", "client": "anvil"}, {"name": "base", "client": "anvil"}]


def test_runbook_chains_pass_preflight(tmp_path):
    result = run_evm_node(tmp_path, {"evm_node_chains": ANVILS})
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("chains", "binaries", "expected"),
    [
        ([{"name": "ethereum", "client": "parity"}], None, "chain ethereum: client 'parity' is unknown"),
        (
            [{"name": "ethereum", "client": "anvil"}, {"name": "base", "client": "anvil", "http_port": 8545}],
            None,
            "chain base: http_port=8545 is already used by ethereum.http_port",
        ),
        ([{"name": "devnet", "client": "anvil", "chain_id": 31337}], None, "chain devnet: http_port is missing"),
        (
            [{"name": "ethereum", "client": "erigon"}],
            {"erigon": {"url": "https://example.invalid/erigon"}},
            "chain ethereum: evm_node_binaries.erigon.sha256 is missing",
        ),
        ([{"name": "ethereum", "client": "erigon"}], None, "chain ethereum: evm_node_binaries.erigon is missing"),
        # A mistyped key is refused by the argument specs instead of silently ignored.
        ([{"name": "ethereum", "client": "anvil", "http_prot": 1}], None, "http_prot"),
    ],
)
def test_bad_input_names_the_chain_and_field(tmp_path, chains, binaries, expected):
    variables: dict = {"evm_node_chains": chains}
    if binaries is not None:
        variables["evm_node_binaries"] = binaries
    result = run_evm_node(tmp_path, variables)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output, output


def test_binary_that_differs_from_its_pin_fails_on_the_controller(tmp_path):
    binary = tmp_path / "erigon"
    binary.write_text("#!/bin/sh\necho tampered\n")
    binary.chmod(0o755)
    pinned = hashlib.sha256(b"the real erigon").hexdigest()
    variables = {
        "evm_node_chains": [{"name": "ethereum", "client": "erigon"}],
        "evm_node_binaries": {"erigon": {"path": str(binary), "sha256": pinned}},
    }
    result = run_evm_node(tmp_path, variables, tags="evm_node_preflight,evm_node_install")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    actual = hashlib.sha256(binary.read_bytes()).hexdigest()
    assert f"evm_node_binaries.erigon.sha256: {binary} has sha256 {actual}" in output, output
    assert f"expected {pinned}" in output, output
