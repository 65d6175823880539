"""Deploy the reference strategy's contracts to an anvil node with web3 and run engine
components as real processes against it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml
from web3 import Web3

ETH = 10**18
# OP-stack predeploys: L1 prices, and the L1 data fee quote (getL1Fee). The stand-in's code
# returns its storage slot 0 to any call: SLOAD(0) MSTORE(0) RETURN(0, 32).
L1_BLOCK = "0x4200000000000000000000000000000000000015"
GAS_PRICE_ORACLE = "0x420000000000000000000000000000000000000F"
ORACLE_STAND_IN = "0x60005460005260206000f3"


@dataclass
class Pools:
    base: Any  # "WETH": the base token, ETH-equivalent
    other: Any
    pool_a: Any
    pool_b: Any
    executor: Any


class Devnet:
    def __init__(self, url: str, compiled: dict[str, dict[str, Any]]) -> None:
        self.url = url
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"proxies": {"http": "", "https": ""}}))
        self.compiled = compiled
        self.dev = self.w3.eth.accounts[0]

    def rpc(self, method: str, params: list[Any]) -> Any:
        return self.w3.provider.make_request(method, params)["result"]  # type: ignore[arg-type]

    def wait(self, tx_hash: Any) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, f"transaction {tx_hash.hex()} reverted"
        return receipt

    def deploy(self, name: str, *args: Any, sender: str | None = None) -> Any:
        spec = self.compiled[name]
        factory = self.w3.eth.contract(abi=spec["abi"], bytecode=spec["bytecode"])
        receipt = self.wait(factory.constructor(*args).transact({"from": sender or self.dev}))
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=spec["abi"])

    def send(self, call: Any, sender: str | None = None) -> Any:
        return self.wait(call.transact({"from": sender or self.dev}))

    def fund(self, address: str, wei: int) -> None:
        self.rpc("anvil_setBalance", [address, hex(wei)])

    def op_stack_predeploys(self, l1_price: int = 10**11) -> int:
        """Shape an anvil in OP-stack mode (--network optimism) like an OP-stack chain: L1 prices in
        the L1Block predeploy's storage (anvil then charges an L1 data fee, as op-geth does) and, at
        the GasPriceOracle predeploy (which anvil lacks), a STAND-IN answering every call - getL1Fee
        included - with the L1 fee anvil charges for a transfer, measured with a probe transfer from
        a fresh impersonated address (a transfer's L1 fee is the minimum compressed size's, whatever
        its value). Returns that fee; does nothing but return it when the stand-in is there."""
        oracle = Web3.to_checksum_address(GAS_PRICE_ORACLE)
        if len(self.w3.eth.get_code(oracle)) > 0:
            return int.from_bytes(self.w3.eth.get_storage_at(oracle, 0), "big")
        for slot in range(10):
            self.rpc("anvil_setStorageAt", [L1_BLOCK, hex(slot), "0x" + l1_price.to_bytes(32, "big").hex()])
        probe = self.w3.eth.account.create().address
        self.fund(probe, ETH)
        self.rpc("anvil_impersonateAccount", [probe])
        try:
            price = 2 * self.w3.eth.gas_price
            receipt = self.wait(self.w3.eth.send_transaction(
                {"from": probe, "to": self.dev, "value": 1, "gas": 21000, "maxFeePerGas": price,
                 "maxPriorityFeePerGas": price}))  # fmt: skip
        finally:
            self.rpc("anvil_stopImpersonatingAccount", [probe])
        l1_fee = ETH - 1 - self.w3.eth.get_balance(probe) - receipt["gasUsed"] * receipt["effectiveGasPrice"]
        assert l1_fee > 0, f"{self.url}: no L1 data fee charged: is anvil running with --network optimism?"
        self.rpc("anvil_setCode", [GAS_PRICE_ORACLE, ORACLE_STAND_IN])
        self.rpc("anvil_setStorageAt", [GAS_PRICE_ORACLE, "0x0", "0x" + l1_fee.to_bytes(32, "big").hex()])
        return l1_fee

    def set_pool(self, pool: Any, pools: Pools, base_reserve: int, other_reserve: int) -> None:
        """Give a pool exactly these reserves (mint the difference, sync)."""
        for token, wanted in ((pools.base, base_reserve), (pools.other, other_reserve)):
            have = token.functions.balanceOf(pool.address).call()
            assert wanted >= have, "set_pool only adds liquidity"
            if wanted > have:
                self.send(token.functions.mint(pool.address, wanted - have))
        self.send(pool.functions.sync())

    def setup_pools(self, hot: str, inventory: int = 10 * ETH) -> Pools:
        base = self.deploy("TestToken", "Wrapped Ether", "WETH")
        other = self.deploy("TestToken", "Test Dollar", "TUSD")
        pool_a = self.deploy("V2Pair", base.address, other.address)
        pool_b = self.deploy("V2Pair", base.address, other.address)
        self.rpc("anvil_impersonateAccount", [hot])
        try:
            executor = self.deploy("ArbExecutor", sender=hot)
        finally:
            self.rpc("anvil_stopImpersonatingAccount", [hot])
        pools = Pools(base, other, pool_a, pool_b, executor)
        self.send(base.functions.mint(executor.address, inventory))
        # Balanced to start with: same price on both pools, no opportunity.
        self.set_pool(pool_a, pools, 100 * ETH, 200_000 * ETH)
        self.set_pool(pool_b, pools, 100 * ETH, 200_000 * ETH)
        return pools

    def imbalance(self, pools: Pools, tusd: int = 20_000 * ETH) -> None:
        """Dump TUSD into pool B (as a large trade would): WETH becomes dearer there."""
        self.send(pools.other.functions.mint(pools.pool_b.address, tusd))
        self.send(pools.pool_b.functions.sync())


def engine_config(
    folder: Path,
    *,
    redis_url: str,
    postgres_dsn: str,
    chain_url: str,
    chain_id: int,
    keystore: Path,
    cold_wallet: str,
    api_port: int,
    pools: Pools | None,
    ws: bool = True,
    min_profit_eth: str = "0.0001",
    extra_chains: tuple[tuple[str, str, int], ...] = (),
    claim_idle_seconds: float | None = None,
    trading: dict[str, Any] | None = None,
    backups: tuple[str, ...] = (),
) -> Path:
    chain: dict[str, Any] = {
        "name": "ethereum",
        "chain_id": chain_id,
        "devnet": True,
        "http_url": chain_url,
        "pending_transactions": True,
        "poll_interval_seconds": 0.1,
    }
    if ws:
        chain["ws_url"] = chain_url.replace("http://", "ws://")
    if backups:
        chain["backups"] = [
            {"http_url": url} | ({"ws_url": url.replace("http://", "ws://")} if ws else {}) for url in backups
        ]
    document: dict[str, Any] = {
        "engine": {"instance": "test", "log_level": "info", "stop_file": str(folder / "emergency-stop.json")},
        "redis": {"url": redis_url}
        | ({} if claim_idle_seconds is None else {"claim_idle_seconds": claim_idle_seconds}),
        "postgres": {"dsn": postgres_dsn},
        "api": {"host": "127.0.0.1", "port": api_port},
        "chains": [
            chain,
            *(
                {"name": name, "chain_id": cid, "devnet": True, "http_url": url, "poll_interval_seconds": 0.1}
                for name, url, cid in extra_chains
            ),
        ],
        "wallet": {"keystore": str(keystore), "cold_wallet": cold_wallet, "min_balance_eth": 0.1},
        "trading": {"min_profit_eth": min_profit_eth, "max_gas_price_gwei": 1000, "order_ttl_seconds": 30}
        | (trading or {}),
        "strategies": {},
    }
    if pools is not None:
        document["strategies"]["v2_cross_pool_arb"] = {
            "chains": {
                "ethereum": {
                    "executor": pools.executor.address,
                    "base_token": pools.base.address,
                    "pairs": [[pools.pool_a.address, pools.pool_b.address]],
                    "gas_limit": 300_000,
                }
            }
        }
    path = folder / "engine.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@dataclass
class EngineProcesses:
    config: Path
    env: dict[str, str]
    api: str
    token: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    python: str = sys.executable  # the engine's Python (bench/engine_latency.py runs an older one too)

    def start(self, component: str) -> None:
        log = Path(tempfile.mkstemp(prefix=f"mev-{component}-", suffix=".log")[1])
        self.logs[component] = log
        with log.open("wb") as handle:
            self.processes[component] = subprocess.Popen(
                [self.python, "-m", "mev_engine.cli", "run", component, "--config", str(self.config)],
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
            )

    def stop(self, component: str, timeout: float = 15) -> int:
        process = self.processes.pop(component)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(f"{component} ignored SIGTERM for {timeout}s:\n{self.log(component)}") from None
        return process.returncode

    def wait_up(self, *components: str, timeout: float = 60) -> None:
        """Until each component has published its metrics (it is past its start-up)."""
        wait_for(
            lambda: all(self.call("GET", "/api/v1/status").json()["components"][c]["up"] for c in components),
            timeout,
            f"{', '.join(components)} up",
            self,
        )

    def log(self, component: str) -> str:
        return self.logs[component].read_text(errors="replace")[-4000:]

    def alive(self) -> None:
        for component, process in self.processes.items():
            assert process.poll() is None, f"{component} exited with {process.returncode}:\n{self.log(component)}"

    def stop_all(self) -> dict[str, int]:
        return {component: self.stop(component) for component in list(self.processes)}

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, **query: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        return requests.request(
            method, self.api + path, json=body, params=query, headers=headers, timeout=90,
            proxies={"http": "", "https": ""},
        )  # fmt: skip

    def wait_http(self, path: str = "/health/live", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.alive()
            try:
                if self.call("GET", path).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.api}{path} did not answer within {timeout}s")


def wait_for(predicate: Any, timeout: float, what: str, engine: EngineProcesses | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine is not None:
            engine.alive()
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    logs = ""
    if engine is not None:
        logs = "\n".join(f"--- {c}\n{engine.log(c)}" for c in engine.logs)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")
