"""End-to-end detection latency, ingest rate and signing time of the MEV engine, optionally
side by side with an older ref of it.

    scripts/bench.sh engine_latency
    .venv/bin/python bench/engine_latency.py [--baseline main] [--rate 1000] [--paced 3000] [--flood 6000] [--repeat 2]

Per engine (this tree's, and with --baseline REF the one at REF: a `git worktree` of REF in a
temporary folder, installed into its own temporary virtualenv), on fresh throwaway services on
loopback (anvil mining a block a second, Redis; detection does not use PostgreSQL):

  detection     `mev-engine run detection` over WebSocket; the bench sends pre-signed transfers
                with eth_sendRawTransaction at --rate tx/s (JSON-RPC batches every 10 ms) and a
                reader of its own stamps each `pending_tx` candidate when it appears on
                `mev:candidates`. Latency = that moment - the bench's send time of the
                transaction (matched by hash): node acceptance + node -> engine + engine ->
                Redis -> reader, from raw samples, not from histogram buckets. seen must equal
                sent; what never appeared is reported as lost.
                Also printed: seen_at -> read, the engine's share as the engine itself stamps it
                (the baseline's seen_at may be taken later than the transport).
  ingest        the same, with --flood transactions sent as fast as anvil accepts them (batches
                of 250): candidates per second from the first send to the last candidate, with the
                rate anvil accepted them (offered), the ceiling of this run.
  signing       N transactions signed by the engine's own path (keystore.load_account, then
                LocalAccount.sign_transaction) in that engine's virtualenv: p50, and the backend.
  head -> sent  the whole engine (four components, PostgreSQL) trading the test pools' arbitrage on
                an auto-mining anvil: --rounds times the bench imbalances the pools; the block that
                makes the opportunity is a head, the engine's arbitrage transaction follows. Both
                are stamped by the bench's own WebSocket subscription to anvil (newHeads,
                newPendingTransactions): head -> sent = the transaction's stamp - its
                opportunity's head's stamp (node -> engine -> strategy -> order -> signing ->
                broadcast -> node -> bench).

Both engines get the same transactions (the same signed bytes: each run has a fresh anvil), the
same rate and the same checks; each engine runs --repeat times, the engines alternating which goes
first, and the raw samples of its runs are pooled (the machine is shared: its load drifts).
Targets are printed with MISS where missed; nothing fails on a number. Every process started
(anvil, Redis, PostgreSQL, the engine's) is stopped, the baseline's worktree and virtualenv
removed. Needs the engine's test virtualenv (.cache/mev-engine-venv, made by
scripts/unit.sh): it re-executes itself there when the current Python lacks the engine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOP = Path(__file__).resolve().parents[1]
ENGINE_VENV = TOP / ".cache" / "mev-engine-venv" / "bin" / "python"

if importlib.util.find_spec("psycopg") is None or importlib.util.find_spec("mev_engine") is None:
    if not ENGINE_VENV.exists():
        raise SystemExit("engine_latency: needs .cache/mev-engine-venv (scripts/unit.sh makes it)") from None
    os.execv(str(ENGINE_VENV), [str(ENGINE_VENV), __file__, *sys.argv[1:]])

sys.path.insert(0, str(TOP / "files" / "mev_engine" / "tests"))

import psycopg  # noqa: E402
import redis as redis_lib  # noqa: E402
import requests  # noqa: E402
import services  # noqa: E402
from devnet import ETH, Devnet, EngineProcesses, engine_config, wait_for  # noqa: E402
from eth_account import Account  # noqa: E402
from websockets.sync.client import connect as ws_connect  # noqa: E402

from mev_engine.keystore import create_keystore  # noqa: E402

PASSWORD = "bench-keystore-password"
TOKEN = "b" * 40
CHAIN_ID = 31337
SENDERS = 20
SIGN_SNIPPET = """
import json, sys, tempfile, time
from pathlib import Path
from mev_engine.keystore import create_keystore, load_account
folder = Path(tempfile.mkdtemp(prefix="bench-sign-"))
create_keystore(folder / "hot.json", "pw")
account = load_account(folder / "hot.json", "pw")
(folder / "hot.json").unlink(); folder.rmdir()
tx = {"type": 2, "chainId": 31337, "to": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "data": "0xd0e30db0",
      "value": 0, "gas": 300000, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9}
times = []
for nonce in range(int(sys.argv[1])):
    started = time.perf_counter()
    account.sign_transaction({**tx, "nonce": nonce})
    times.append(time.perf_counter() - started)
print(json.dumps({"times": times, "backend": type(account._key_obj.backend).__name__}))
"""


@dataclass
class Load:
    """Pre-signed transfers from SENDERS fresh accounts (funded with anvil_setBalance on each node)."""

    senders: list[str]
    paced: list[tuple[str, str]]  # (hash, raw)
    flood: list[tuple[str, str]]


def make_load(paced: int, flood: int) -> Load:
    accounts = [Account.create() for _sender in range(SENDERS)]
    nonces = [0] * SENDERS
    to = Account.create().address

    def sign(count: int) -> list[tuple[str, str]]:
        signed = []
        for i in range(count):
            sender = i % SENDERS
            tx = {"type": 2, "chainId": CHAIN_ID, "nonce": nonces[sender], "to": to, "value": 1, "gas": 21_000,
                  "maxFeePerGas": 100 * 10**9, "maxPriorityFeePerGas": 10**9}  # fmt: skip
            nonces[sender] += 1
            done = accounts[sender].sign_transaction(tx)
            signed.append(("0x" + bytes(done.hash).hex(), "0x" + bytes(done.raw_transaction).hex()))
        return signed

    return Load([a.address for a in accounts], sign(paced), sign(flood))


class Reader(threading.Thread):
    """Stamps every pending_tx candidate (wall clock) the moment XREAD hands it to the bench."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = redis_lib.Redis.from_url(url)
        self.appeared: dict[str, float] = {}
        self.seen_at: dict[str, float] = {}  # the candidate's own seen_at: when detection received it
        self.stopping = threading.Event()

    def run(self) -> None:
        last = "0-0"
        while not self.stopping.is_set():
            answer = self.client.xread({"mev:candidates": last}, count=10_000, block=100)
            now = time.time()
            for _stream, items in answer or []:
                for entry_id, fields in items:
                    last = entry_id
                    if fields.get(b"kind") == b"pending_tx":
                        tx_hash = fields[b"tx_hash"].decode()
                        self.appeared.setdefault(tx_hash, now)
                        self.seen_at.setdefault(tx_hash, float(fields[b"seen_at"]))


def send(
    url: str, load: list[tuple[str, str]], per_request: int, interval: float | None
) -> tuple[dict[str, float], float]:
    """Send `load` with eth_sendRawTransaction in batches of `per_request`, one batch every `interval`
    seconds (None: as fast as the node answers). Returns each hash's send time and the seconds it took."""
    session = requests.Session()
    session.trust_env = False
    sent: dict[str, float] = {}
    started = time.monotonic()
    for index, first in enumerate(range(0, len(load), per_request)):
        if interval is not None:
            pause = started + index * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        batch = load[first : first + per_request]
        calls = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]}
                 for i, (_hash, raw) in enumerate(batch)]  # fmt: skip
        at = time.time()
        answers = session.post(url, json=calls, timeout=60).json()
        errors = [a["error"] for a in answers if "error" in a]
        if errors:
            raise SystemExit(f"engine_latency: anvil refused transactions: {errors[:3]}")
        for tx_hash, _raw in batch:
            sent[tx_hash] = at
    return sent, time.monotonic() - started


def settle(reader: Reader, hashes: dict[str, float], quiet: float = 3.0) -> None:
    """Until every hash appeared, or nothing new appeared for `quiet` seconds."""
    last, still = -1, time.monotonic()
    while time.monotonic() - still < quiet:
        found = sum(1 for h in hashes if h in reader.appeared)
        if found == len(hashes):
            return
        if found != last:
            last, still = found, time.monotonic()
        time.sleep(0.1)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def signing(python: str, count: int) -> dict[str, Any]:
    answer = subprocess.run(
        [python, "-c", SIGN_SNIPPET, str(count)], capture_output=True, text=True, check=True, timeout=300
    )
    found = json.loads(answer.stdout)
    return {"sign_p50_ms": statistics.median(found["times"]) * 1000, "backend": found["backend"]}


def stop_everything(started: list[Any], folder: Path) -> None:
    """Stop what a run started, last started first (the engine before its Redis), and remove its folder."""
    for item in reversed(started):
        (item.stop_all if isinstance(item, EngineProcesses) else item.stop)()
    shutil.rmtree(folder, ignore_errors=True)


def measure(python: str, load: Load, rate: float) -> dict[str, Any]:
    """One engine's run on fresh services; every process it starts is stopped."""
    folder = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    started: list[Any] = []
    reader: Reader | None = None
    try:
        rd = services.start_redis()
        started.append(rd)
        node = services.start_anvil(services.find_anvil(), chain_id=CHAIN_ID, block_time=1)
        started.append(node)
        for sender in load.senders:
            node.rpc("anvil_setBalance", [sender, hex(10**24)])
        config = engine_config(folder, redis_url=rd.url, postgres_dsn="postgresql://unused@127.0.0.1:1/unused",
                               chain_url=node.url, chain_id=CHAIN_ID, keystore=folder / "unused.json",
                               cold_wallet=Account.create().address, api_port=services.free_port(),
                               pools=None)  # fmt: skip
        engine = EngineProcesses(config, {"MEV_API_TOKEN": TOKEN, "MEV_KEYSTORE_PASSWORD": PASSWORD,
                                 "MEV_DB_PASSWORD": "unused"}, "", TOKEN, python=python)  # fmt: skip
        started.append(engine)
        client = redis_lib.Redis.from_url(rd.url)
        engine.start("detection")
        wait_for(lambda: client.exists("mev:chain:ethereum"), 30, "detection's first head", engine)
        time.sleep(1.5)  # the subscriptions are live once the first head arrived; let one more block pass
        reader = Reader(rd.url)
        reader.start()

        per_request = max(1, round(rate / 100))  # a batch every 10 ms
        paced, paced_seconds = send(node.url, load.paced, per_request, 0.01)
        settle(reader, paced)
        latencies = [reader.appeared[h] - at for h, at in paced.items() if h in reader.appeared]
        # The engine's share: from when detection says it received the notification (seen_at) to the
        # candidate read here; what the older engine calls seen_at may be later than the transport.
        inside = [reader.appeared[h] - reader.seen_at[h] for h in paced if h in reader.appeared]

        flood, flood_seconds = send(node.url, load.flood, 250, None)
        settle(reader, flood)
        engine.alive()
        arrived = [reader.appeared[h] for h in flood if h in reader.appeared]
        first_send = min(flood.values())
        ingest = len(arrived) / (max(arrived) - first_send) if arrived else 0.0
        return {
            "latencies": latencies,
            "inside": inside,
            "paced_sent": len(paced),
            "paced_tps": len(paced) / paced_seconds,
            "ingest_tps": ingest,
            "offered_tps": len(flood) / flood_seconds,
            "flood_sent": len(flood),
            "flood_seen": len(arrived),
        }
    finally:
        if reader is not None:
            reader.stopping.set()
            reader.join(timeout=2)
        stop_everything(started, folder)


class NodeWatcher(threading.Thread):
    """Stamps (wall clock) every new head and pending transaction anvil announces to the bench."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.socket = ws_connect(url.replace("http://", "ws://"), max_size=2**24)
        for number, kind in enumerate(("newHeads", "newPendingTransactions"), 1):
            self.socket.send(json.dumps({"jsonrpc": "2.0", "id": number, "method": "eth_subscribe", "params": [kind]}))
        self.kinds: dict[str, str] = {}
        self.heads: dict[int, float] = {}
        self.pending: dict[str, float] = {}

    def run(self) -> None:
        try:
            for raw in self.socket:
                now = time.time()
                message = json.loads(raw)
                if "id" in message:
                    self.kinds[message["result"]] = "head" if message["id"] == 1 else "pending"
                    continue
                params = message["params"]
                if self.kinds.get(params["subscription"]) == "head":
                    self.heads.setdefault(int(params["result"]["number"], 16), now)
                else:
                    result = params["result"]
                    self.pending.setdefault(result if isinstance(result, str) else result["hash"], now)
        except Exception:  # the socket closed: the measurement is over
            return


def head_to_sent(python: str, compiled: dict[str, Any], rounds: int) -> dict[str, Any]:
    """One engine trading the test pools `rounds` times on fresh services; all of them stopped after."""
    folder = Path(tempfile.mkdtemp(prefix="bench-trade-"))
    started: list[Any] = []
    watcher: NodeWatcher | None = None
    try:
        pg = services.start_postgres()
        started.append(pg)
        services.apply_migrations(pg)
        rd = services.start_redis()
        started.append(rd)
        node = services.start_anvil(services.find_anvil(), chain_id=CHAIN_ID)  # auto-mining
        started.append(node)
        devnet = Devnet(node.url, compiled)
        hot = Account.create()
        create_keystore(folder / "hot.json", PASSWORD, hot.key.hex())
        devnet.fund(hot.address, 100 * ETH)
        pools = devnet.setup_pools(hot.address)
        api_port = services.free_port()
        config = engine_config(folder, redis_url=rd.url, postgres_dsn=pg.engine_dsn, chain_url=node.url,
                               chain_id=CHAIN_ID, keystore=folder / "hot.json", cold_wallet=Account.create().address,
                               api_port=api_port, pools=pools)  # fmt: skip
        secrets = {"MEV_API_TOKEN": TOKEN, "MEV_KEYSTORE_PASSWORD": PASSWORD,
                   "MEV_DB_PASSWORD": services.ENGINE_DB_PASSWORD}  # fmt: skip
        engine = EngineProcesses(config, secrets, f"http://127.0.0.1:{api_port}", TOKEN, python=python)
        started.append(engine)
        for component in ("detection", "calculation", "execution", "monitoring"):
            engine.start(component)
        engine.wait_http()
        wait_for(lambda: engine.call("GET", "/health/ready").status_code == 200, 60, "engine ready", engine)
        if engine.call("POST", "/api/v1/trading/enable").status_code != 200:
            raise SystemExit("engine_latency: the engine did not enable trading")
        watcher = NodeWatcher(node.url)
        watcher.start()
        time.sleep(0.5)
        with psycopg.connect(pg.admin_dsn, autocommit=True) as db:

            def trades() -> list[tuple[str, int]]:
                return db.execute(
                    "SELECT t.tx_hash, o.block_number FROM mev.transactions t "
                    "JOIN mev.opportunities o ON o.id = t.opportunity_id"
                ).fetchall()

            for _round in range(rounds):
                before = len(trades())
                devnet.imbalance(pools)
                wait_for(lambda before=before: len(trades()) > before, 20, "the engine's arbitrage", engine)
                time.sleep(1.0)  # the arbitrage mined (auto-mine); pools balanced again
            engine.alive()
            found = trades()
        samples = [watcher.pending[tx] - watcher.heads[block] for tx, block in found
                   if tx in watcher.pending and block in watcher.heads]  # fmt: skip
        return {"head_sent": samples, "trades": len(found)}
    finally:
        if watcher is not None:
            watcher.socket.close()
            watcher.join(timeout=2)
        stop_everything(started, folder)


@dataclass
class Baseline:
    """An older ref of the engine: a git worktree and a virtualenv, both temporary."""

    ref: str
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-baseline-")))

    @property
    def python(self) -> str:
        return str(self.folder / "venv" / "bin" / "python")

    def create(self) -> None:
        tree = self.folder / "tree"
        subprocess.run(["git", "-C", str(TOP), "worktree", "add", "--detach", str(tree), self.ref],
                       check=True, capture_output=True, text=True)  # fmt: skip
        subprocess.run([sys.executable, "-m", "venv", str(self.folder / "venv")], check=True)
        cache = Path(os.environ.get("MEVOPS_CACHE_DIR", "/var/cache/mevops")) / "pip"
        env = {**os.environ, **({"PIP_CACHE_DIR": str(cache)} if cache.is_dir() else {})}
        answer = subprocess.run([self.python, "-m", "pip", "install", "--quiet", str(tree / "files" / "mev_engine")],
                                env=env, capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
        if answer.returncode != 0:
            raise SystemExit(f"engine_latency: installing {self.ref}'s engine failed:\n{answer.stderr[-3000:]}")

    def remove(self) -> None:
        subprocess.run(["git", "-C", str(TOP), "worktree", "remove", "--force", str(self.folder / "tree")],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)
        subprocess.run(["git", "-C", str(TOP), "worktree", "prune"], capture_output=True, check=False)


# (key, label, lower is better, target, its test on the current engine)
ROWS: list[tuple[str, str, bool, str, Any]] = [
    ("p50_ms", "detection p50 ms", True, "", None),
    ("p95_ms", "detection p95 ms", True, "< 5", lambda v: v < 5),
    ("p99_ms", "detection p99 ms", True, "", None),
    ("engine_p50_ms", "  seen_at->read p50", True, "", None),
    ("engine_p95_ms", "  seen_at->read p95", True, "", None),
    ("paced_tps", "paced rate tx/s", False, "~ rate", None),
    ("paced_lost", "paced lost", True, "0", lambda v: v == 0),
    ("ingest_tps", "ingest tx/s", False, ">= 3000", lambda v: v >= 3000),
    ("offered_tps", "offered tx/s (anvil)", False, "", None),
    ("flood_lost", "flood lost", True, "0", lambda v: v == 0),
    ("sign_p50_ms", "signing p50 ms", True, "< 3", lambda v: v < 3),
    ("head_sent_p50_ms", "head->sent p50 ms", True, "", None),
    ("head_sent_p95_ms", "head->sent p95 ms", True, "< 50", lambda v: v < 50),
    ("trades_timed", "trades timed", False, "", None),
]


def summary(runs: list[dict[str, Any]], sign: dict[str, Any]) -> dict[str, Any]:
    """One engine's figures over its runs: raw samples pooled, counts summed, rates the median run's."""

    def pooled(key: str) -> list[float]:
        return [value for run in runs for value in run[key]]

    def total(key: str) -> int:
        return sum(int(run[key]) for run in runs)

    latencies, inside, head_sent = pooled("latencies"), pooled("inside"), pooled("head_sent")
    return {
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "engine_p50_ms": percentile(inside, 0.50) * 1000,
        "engine_p95_ms": percentile(inside, 0.95) * 1000,
        "paced_sent": total("paced_sent"),
        "paced_lost": total("paced_sent") - len(latencies),
        "paced_tps": statistics.median(run["paced_tps"] for run in runs),
        "ingest_tps": statistics.median(run["ingest_tps"] for run in runs),
        "offered_tps": statistics.median(run["offered_tps"] for run in runs),
        "flood_sent": total("flood_sent"),
        "flood_lost": total("flood_sent") - total("flood_seen"),
        **sign,
        "head_sent_p50_ms": percentile(head_sent, 0.50) * 1000,
        "head_sent_p95_ms": percentile(head_sent, 0.95) * 1000,
        "trades": total("trades"),
        "trades_timed": len(head_sent),
    }


def table(results: dict[str, dict[str, Any]], baseline: str | None) -> list[str]:
    names = list(results)
    lines = [f"{'metric':<22} {'target':>8} " + " ".join(f"{n:>14}" for n in names)
             + (f" {'x better':>9} {'>=2x':>5}" if baseline else "") + f" {'target met':>10}"]  # fmt: skip
    for key, label, lower, target, test in ROWS:
        values = [results[n][key] for n in names]
        cells = " ".join(f"{v:>14.3f}" if isinstance(v, float) else f"{v:>14}" for v in values)
        line = f"{label:<22} {target:>8} {cells}"
        current = values[0]
        if baseline:
            base = values[1]
            if key.endswith("_lost") or key == "trades_timed":
                factor, better = "", ""
            else:
                factor_value = (base / current if lower else current / base) if current and base else float("nan")
                factor = f"{factor_value:.2f}"
                better = "" if test is None else ("ok" if factor_value >= 2 else "MISS")
            line += f" {factor:>9} {better:>5}"
        line += f" {('' if test is None else ('ok' if test(current) else 'MISS')):>10}"
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", metavar="REF", help="also measure the engine at this git ref, side by side")
    parser.add_argument("--rate", type=float, default=1000, help="paced sending rate, tx/s")
    parser.add_argument("--paced", type=int, default=3000, help="transactions sent at --rate")
    parser.add_argument("--flood", type=int, default=6000, help="transactions sent as fast as anvil accepts them")
    parser.add_argument("--sign", type=int, default=500, help="transactions signed for the signing time")
    parser.add_argument("--rounds", type=int, default=20, help="arbitrages timed for head -> sent")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs per engine, alternating which engine goes first; samples pooled")  # fmt: skip
    args = parser.parse_args()

    load = make_load(args.paced, args.flood)
    compiled = services.compile_contracts()
    engines = {"current": str(ENGINE_VENV)}
    baseline = Baseline(args.baseline) if args.baseline else None
    try:
        if baseline is not None:
            baseline.create()
            engines[f"base:{args.baseline}"] = baseline.python
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in engines}
        for repetition in range(args.repeat):
            order = list(engines) if repetition % 2 == 0 else list(reversed(engines))  # the machine's drift evens out
            for name in order:
                runs[name].append({**measure(engines[name], load, args.rate),
                                   **head_to_sent(engines[name], compiled, args.rounds)})  # fmt: skip
        results = {name: summary(runs[name], signing(python, args.sign)) for name, python in engines.items()}
    finally:
        if baseline is not None:
            baseline.remove()
    for name, found in results.items():
        print(f"engine_latency {name}: " + " ".join(
            f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in found.items()))  # fmt: skip
    print(
        f"load per run: {args.paced} transfers at {args.rate:g} tx/s in batches every 10 ms, then {args.flood} as "
        f"fast as anvil accepts them (batches of 250), {args.rounds} arbitrages; {args.repeat} runs per engine, "
        "alternating; latency = bench send -> candidate read from mev:candidates"
    )
    print("\n".join(table(results, args.baseline)))
    print(
        "head->sent: arbitrage transaction announced by anvil - its opportunity's head announced by anvil, both "
        "stamped by the bench's WebSocket subscription (auto-mining anvil, the test pools imbalanced each round)"
    )


if __name__ == "__main__":
    main()
