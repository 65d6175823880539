"""Make sure a devnet chain carries the reference strategy's contracts (devnet only).

    devnet_contracts.py --deploy|--check HOT_ADDRESS CHAIN=RPC_URL ...

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
files/mev_engine/tests/devnet.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from eth_utils import keccak, to_bytes, to_checksum_address
from web3 import Web3

TOP = Path(__file__).resolve().parents[2]
KEYS = ("base", "other", "pool_a", "pool_b")
GAS_LIMIT = 300_000


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
        # The mev_engine scenario's helper: solc-js compile + the engine's Devnet class.
        scenario = _load("scenario_devnet", TOP / "molecule" / "mev_engine" / "devnet.py")
        devnet = scenario.Devnet(url, scenario.compile_contracts())
        devnet.fund(hot, 100 * scenario.ETH)
        pools = devnet.setup_pools(hot)
        deployed = {key: getattr(pools, key).address for key in wanted}
        if deployed != wanted:
            raise SystemExit(f"{url}: deployed {deployed}, expected {wanted}")
    return True, wanted


def main() -> None:
    mode, hot, chains = sys.argv[1], to_checksum_address(sys.argv[2]), sys.argv[3:]
    if mode not in ("--deploy", "--check") or not chains or not all("=" in chain for chain in chains):
        raise SystemExit(__doc__)
    out: dict = {"changed": False, "contracts": {}, "strategies": {}}
    for chain in chains:
        name, url = chain.split("=", 1)
        changed, addresses = ensure(url, hot, check=mode == "--check")
        out["changed"] |= changed
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
