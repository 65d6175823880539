"""Make sure a devnet chain carries the reference strategy's contracts (devnet only).

    devnet_contracts.py --deploy|--check HOT_ADDRESS [--ssh JSON] CHAIN=RPC_URL ...

RPC_URL is the chain's URL as the engine uses it (mev_engine_chains[*].http_url). With --ssh
(a JSON list: the ssh options and destination of an engine host) the controller reaches every
URL through that host, as production admits the nodes' RPC from engine hosts only: one
`ssh -N` with a local forward per node address and port, ended when the script ends.

Prints one JSON object: {"changed": bool, "contracts": {chain: {base, other, pool_a,
pool_b, executor}}, "strategies": {chain: {executor, base_token, pairs, gas_limit}}} (each
strategy entry is engine.yml's `strategies.v2_cross_pool_arb.chains.<chain>`).

The addresses are deterministic: on a new anvil chain the first four transactions of
anvil's account 0 create the two tokens and the two pools, and the hot wallet's first
creates the executor it owns. So the script only checks the code at those addresses; it
deploys (and funds the hot wallet with 100 ETH) only on a chain where neither account has
sent anything yet (with --check it only says it would), and fails on a chain that has
history but not the contracts (recreate the devnet: make devnet-down devnet). With the
node keeping its state (evm_node's state_interval) the contracts survive restarts. Reuses
molecule/mev_engine/devnet.py (the solc-js compile and the engine's test helper
files/mev_engine/tests/devnet.py).

On a chain whose chain id is an OP-stack chain's (base, optimism), it also places the L1 prices
and a stand-in GasPriceOracle (the devnet's anvil lacks the predeploy) where none is, so that the
sweeps and withdrawals quote the L1 data fee as on op-geth (Devnet.op_stack_predeploys)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import SplitResult, urlsplit, urlunsplit

from eth_utils import keccak, to_bytes, to_checksum_address
from web3 import Web3

TOP = Path(__file__).resolve().parents[2]
KEYS = ("base", "other", "pool_a", "pool_b")
GAS_LIMIT = 300_000


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


FEES = _load("evm_fees", TOP / "plugins" / "module_utils" / "evm_fees.py")


def create_address(sender: str, nonce: int) -> str:
    """CREATE's address: keccak(rlp([sender, nonce]))[12:] (nonce < 128 here)."""
    assert 0 <= nonce < 0x80
    payload = b"\x94" + to_bytes(hexstr=sender) + (bytes([nonce]) if nonce else b"\x80")
    return to_checksum_address(keccak(bytes([0xC0 + len(payload)]) + payload)[12:])


def expected(dev: str, hot: str) -> dict[str, str]:
    addresses = {key: create_address(dev, nonce) for nonce, key in enumerate(KEYS)}
    addresses["executor"] = create_address(hot, 0)
    return addresses


def ensure(url: str, hot: str, check: bool) -> tuple[bool, dict[str, str]]:
    """(changed, addresses) for one chain; deploys unless check."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"proxies": {"http": "", "https": ""}}))
    dev = w3.eth.accounts[0]
    wanted = expected(dev, hot)
    present = {key: len(w3.eth.get_code(address)) > 0 for key, address in wanted.items()}
    if all(present.values()):
        return False, wanted
    nonces = {"anvil account 0": w3.eth.get_transaction_count(dev), "hot wallet": w3.eth.get_transaction_count(hot)}
    if any(nonces.values()):
        missing = ", ".join(key for key, ok in present.items() if not ok)
        raise SystemExit(
            f"{url}: the contracts ({missing}) are missing but the chain has history ({nonces}); "
            "recreate the devnet (make devnet-down devnet)"
        )
    if not check:
        scenario = _scenario()
        devnet = scenario.Devnet(url, scenario.compile_contracts())
        devnet.fund(hot, 100 * scenario.ETH)
        pools = devnet.setup_pools(hot)
        deployed = {key: getattr(pools, key).address for key in wanted}
        if deployed != wanted:
            raise SystemExit(f"{url}: deployed {deployed}, expected {wanted}")
    return True, wanted


def _scenario():
    """The mev_engine scenario's helper: solc-js compile + the engine's Devnet class."""
    return _load("scenario_devnet", TOP / "molecule" / "mev_engine" / "devnet.py")


def ensure_op_stack(url: str, check: bool) -> bool:
    """On a chain whose chain id is an OP-stack chain's (module_utils/evm_fees.py): the L1 prices
    and the stand-in GasPriceOracle the sweeps quote the L1 data fee from (Devnet.op_stack_predeploys);
    the node runs in anvil's OP-stack mode (evm_node). Returns whether it placed them."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"proxies": {"http": "", "https": ""}}))
    if FEES.fee_family(w3.eth.chain_id) != FEES.OP_STACK:
        return False
    if len(w3.eth.get_code(to_checksum_address(FEES.GAS_PRICE_ORACLE))) > 0:
        return False
    if not check:
        _scenario().Devnet(url, {}).op_stack_predeploys()
    return True


def _target(url: SplitResult) -> tuple[str, int]:
    return url.hostname or "", url.port or (443 if url.scheme in ("https", "wss") else 80)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def tunnel(ssh: list[str], urls: Iterable[str], timeout: float = 30) -> Iterator[dict[str, str]]:
    """Yield {url: the same URL on a local forward} through one `ssh -N` to the host that `ssh`
    (options, then the destination) names; the forwards end with the block."""
    parts = {url: urlsplit(url) for url in urls}
    targets = sorted({_target(p) for p in parts.values()})
    local = {target: _free_port() for target in targets}
    forwards = [arg for (host, port), lport in local.items() for arg in ("-L", f"127.0.0.1:{lport}:{host}:{port}")]
    # Options first: ssh keeps the first value it reads. No shared control socket: the forwards
    # must belong to this process, so that ending it ends them.
    argv = ["ssh", "-N", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "ControlMaster=no",
            "-o", "ControlPath=none", *forwards, *ssh]  # fmt: skip
    # The ssh options come from the inventory, through the playbook (no shell).
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    try:
        deadline = time.monotonic() + timeout
        waiting = set(local.values())
        while waiting:
            if proc.poll() is not None:
                raise SystemExit(
                    f"ssh tunnel ({' '.join(argv)}) exited {proc.returncode}: {proc.stderr.read().decode()}"
                )
            if time.monotonic() > deadline:
                raise SystemExit(f"ssh tunnel ({' '.join(argv)}) not up after {timeout}s")
            for lport in list(waiting):
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", lport)) == 0:
                        waiting.discard(lport)
            time.sleep(0.2)
        yield {url: urlunsplit(p._replace(netloc=f"127.0.0.1:{local[_target(p)]}")) for url, p in parts.items()}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def _direct(urls: Iterable[str]) -> Iterator[dict[str, str]]:
    yield {url: url for url in urls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--deploy", action="store_true")
    mode.add_argument("--check", action="store_true")
    parser.add_argument("hot")
    parser.add_argument("--ssh", type=json.loads, help="JSON list: ssh options and the engine host")
    parser.add_argument("chains", nargs="+", metavar="CHAIN=RPC_URL")
    args = parser.parse_args()
    if not all("=" in chain for chain in args.chains):
        parser.error("each chain is CHAIN=RPC_URL")
    hot = to_checksum_address(args.hot)
    chains = dict(chain.split("=", 1) for chain in args.chains)
    out: dict = {"changed": False, "contracts": {}, "strategies": {}}
    with tunnel(args.ssh, chains.values()) if args.ssh else _direct(chains.values()) as local:
        for name, url in chains.items():
            changed, addresses = ensure(local[url], hot, check=args.check)
            out["changed"] |= changed | ensure_op_stack(local[url], check=args.check)
            out["contracts"][name] = addresses
            out["strategies"][name] = {
                "executor": addresses["executor"],
                "base_token": addresses["base"],
                "pairs": [[addresses["pool_a"], addresses["pool_b"]]],
                "gas_limit": GAS_LIMIT,
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
