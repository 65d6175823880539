"""The reference strategy's contracts on the scenario's anvil, driven from the controller.

    devnet.py deploy RPC_URL HOT_ADDRESS OUT.yml   compile (solc-js from npm), deploy two
                                                  balanced pools and an executor owned by
                                                  the hot wallet; write their addresses
    devnet.py imbalance RPC_URL OUT.yml           dump TUSD into pool B (an opportunity)

Reuses the engine's test helpers (files/mev_engine/tests/devnet.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parents[2]
PACKAGE = TOP / "files" / "mev_engine"
sys.path.insert(0, str(PACKAGE / "tests"))

from devnet import ETH, Devnet, Pools  # noqa: E402


def compile_contracts() -> dict:
    solcjs = (
        subprocess.run(
            [str(PACKAGE / "scripts" / "ensure-solc.sh")], capture_output=True, text=True, check=True, timeout=600
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    done = subprocess.run(
        ["node", str(PACKAGE / "contracts" / "compile.js"), solcjs, str(PACKAGE / "contracts")],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return json.loads(done.stdout)


def attach(devnet: Devnet, addresses: dict) -> Pools:
    def at(name: str, key: str):
        return devnet.w3.eth.contract(address=addresses[key], abi=devnet.compiled[name]["abi"])

    return Pools(at("TestToken", "base"), at("TestToken", "other"), at("V2Pair", "pool_a"),
                 at("V2Pair", "pool_b"), at("ArbExecutor", "executor"))  # fmt: skip


def main() -> None:
    action, url = sys.argv[1], sys.argv[2]
    devnet = Devnet(url, compile_contracts())
    if action == "deploy":
        hot, out = sys.argv[3], Path(sys.argv[4])
        devnet.fund(hot, 100 * ETH)
        pools = devnet.setup_pools(hot)
        addresses = {key: getattr(pools, key).address for key in ("base", "other", "pool_a", "pool_b", "executor")}
        out.write_text(yaml.safe_dump({"devnet_hot": hot, "devnet_contracts": addresses}))
    elif action == "imbalance":
        addresses = yaml.safe_load(Path(sys.argv[3]).read_text())["devnet_contracts"]
        devnet.imbalance(attach(devnet, addresses))
    else:
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main()
