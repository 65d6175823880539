"""Detection latency and pending-transaction ingest rate of the MEV engine on a devnet.

    scripts/bench.sh engine_latency        (or .venv/bin/python bench/engine_latency.py [--txs 5000])

Starts throwaway services on loopback with the engine's own test helpers
(files/mev_engine/tests: anvil mining a block a second, Redis, PostgreSQL with the
migrations), runs `mev-engine run detection` over WebSocket, then floods anvil with
value transfers from ten unlocked accounts (batched eth_sendTransaction) and measures:

  p50/p95/p99   mev_detection_latency_seconds (node message read -> candidate acknowledged
                by Redis), from detection's own histogram, interpolated within buckets;
  ingest_tps    pending-transaction candidates published per second while the flood lasts
                (first to last candidate's seen_at);
  offered_tps   the rate anvil accepted the transactions (the ceiling of this run).

Compared, in one line, with the runbooks' targets (p95 < 50 ms, > 100 TPS). Needs the
engine's test virtualenv (.cache/mev-engine-venv, made by scripts/unit.sh): it re-executes
itself there when the current Python lacks the engine. Nothing fails on a number; every
process started is stopped.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
ENGINE_VENV = TOP / ".cache" / "mev-engine-venv" / "bin" / "python"

if importlib.util.find_spec("psycopg") is None or importlib.util.find_spec("mev_engine") is None:
    if not ENGINE_VENV.exists():
        raise SystemExit("engine_latency: needs .cache/mev-engine-venv (scripts/unit.sh makes it)") from None
    os.execv(str(ENGINE_VENV), [str(ENGINE_VENV), __file__, *sys.argv[1:]])

sys.path.insert(0, str(TOP / "files" / "mev_engine" / "tests"))

import redis as redis_lib  # noqa: E402
import requests  # noqa: E402
import services  # noqa: E402
from devnet import EngineProcesses, engine_config, wait_for  # noqa: E402
from eth_account import Account  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from mev_engine.keystore import create_keystore  # noqa: E402

PASSWORD = "bench-keystore-password"
TOKEN = "b" * 40


def quantiles(exposition: str, wanted: tuple[float, ...]) -> tuple[list[float], int]:
    """Quantiles (seconds) of mev_detection_latency_seconds summed over labels, and the count."""
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(exposition):
        if family.name != "mev_detection_latency_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    bounds = sorted(buckets)
    total = buckets.get(float("inf"), 0.0)
    results = []
    for q in wanted:
        rank, lower, below = q * total, 0.0, 0.0
        for bound in bounds:
            if buckets[bound] >= rank:
                upper = bound if bound != float("inf") else lower
                inside = buckets[bound] - below
                results.append(lower + (upper - lower) * ((rank - below) / inside if inside else 0))
                break
            lower, below = bound, buckets[bound]
    return results, int(total)


def flood(url: str, accounts: list[str], count: int, batch: int = 100) -> float:
    """Send `count` transfers in JSON-RPC batches; return the seconds it took."""
    session = requests.Session()
    session.trust_env = False
    nonces = {}
    for a in accounts:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionCount", "params": [a, "pending"]}
        nonces[a] = int(session.post(url, json=body, timeout=10).json()["result"], 16)
    started = time.monotonic()
    for first in range(0, count, batch):
        calls = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction",
             "params": [{"from": accounts[i % len(accounts)], "to": accounts[(i + 1) % len(accounts)], "value": "0x1",
                         "gas": "0x5208", "nonce": hex(nonces[accounts[i % len(accounts)]] + i // len(accounts))}]}
            for i in range(first, min(first + batch, count))
        ]  # fmt: skip
        answers = session.post(url, json=calls, timeout=60).json()
        errors = [a["error"] for a in answers if "error" in a]
        if errors:
            raise SystemExit(f"engine_latency: anvil refused transactions: {errors[:3]}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--txs", type=int, default=2000, help="pending transactions to send")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    started: list = []
    try:
        pg = services.start_postgres()
        started.append(pg)
        services.apply_migrations(pg)
        rd = services.start_redis()
        started.append(rd)
        node = services.start_anvil(services.find_anvil(), chain_id=31337, block_time=1)
        started.append(node)
        keystore = folder / "hot.json"
        create_keystore(keystore, PASSWORD)
        config = engine_config(folder, redis_url=rd.url, postgres_dsn=pg.engine_dsn, chain_url=node.url,
                               chain_id=31337, keystore=keystore, cold_wallet=Account.create().address,
                               api_port=services.free_port(), pools=None)  # fmt: skip
        engine = EngineProcesses(config, {"MEV_API_TOKEN": TOKEN, "MEV_KEYSTORE_PASSWORD": PASSWORD,
                                          "MEV_DB_PASSWORD": services.ENGINE_DB_PASSWORD}, "", TOKEN)  # fmt: skip
        started.append(engine)
        client = redis_lib.Redis.from_url(rd.url)
        engine.start("detection")
        wait_for(lambda: client.exists("mev:chain:ethereum"), 30, "detection's first head", engine)
        time.sleep(1.5)  # the subscriptions are live once the first head arrived; let one more block pass
        accounts = node.rpc("eth_accounts")[:10]
        send_seconds = flood(node.url, accounts, args.txs)

        def pending() -> list:
            return [f for _id, f in client.xrange("mev:candidates") if f[b"kind"] == b"pending_tx"]

        # Until every transaction arrived, or the count stopped growing for 3 s.
        last, still = -1, time.monotonic()
        while len(found := pending()) < args.txs and time.monotonic() - still < 3:
            if len(found) != last:
                last, still = len(found), time.monotonic()
            time.sleep(0.2)
        engine.alive()
        seen = sorted(float(f[b"seen_at"]) for f in found)
        ingest = (len(seen) - 1) / (seen[-1] - seen[0]) if seen[-1] > seen[0] else float("nan")
        time.sleep(1.2)  # detection pushes its metrics every second
        (p50, p95, p99), observed = quantiles(client.get("mev:metrics:detection").decode(), (0.5, 0.95, 0.99))
        offered = args.txs / send_seconds
        print(
            f"engine_latency p50_ms={p50 * 1000:.2f} p95_ms={p95 * 1000:.2f} p99_ms={p99 * 1000:.2f} "
            f"observations={observed} seen={len(seen)} ingest_tps={ingest:.0f} offered_tps={offered:.0f} "
            f"txs={args.txs} "
            f"target_p95_ms=50 target_tps=100 p95_vs_target={p95 * 1000 / 50:.3f} tps_vs_target={ingest / 100:.1f} "
            f"meets_targets={'yes' if p95 < 0.05 and ingest > 100 else 'no'}"
        )
    finally:
        for item in reversed(started):
            (item.stop_all if isinstance(item, EngineProcesses) else item.stop)()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
