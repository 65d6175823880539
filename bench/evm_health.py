"""Health check of six chains: the runbook's sequential requests against the collection's probe.

    .venv/bin/python bench/evm_health.py [--repeat 20] [--ansible]

Starts six anvil nodes on loopback with the runbook's chain ids, then times, in the same
run and interleaved (these machines are noisy):

  sequential  the runbook's way: eth_chainId, eth_blockNumber, eth_syncing,
              eth_getBlockByNumber(latest), net_peerCount as separate HTTP requests,
              one chain after another, in one process;
  concurrent  the collection's way: probe_node (module_utils/evm.py, what evm_node_info
              runs) for all six chains at once, one batch request per chain.
  ansible     (--ansible) the real module: `ansible` ad hoc with six local hosts and
              six forks, including Ansible's own start-up.

Prints one line of figures (medians, milliseconds); ratio = concurrent / sequential
(below 1 is faster). Nothing fails on a number. Every anvil started is stopped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TOP / ".collections"), str(TOP / "tests" / "unit")]

from anvilnode import AnvilNode, find_anvil, start_anvil  # noqa: E402 - needs the paths above

from ansible_collections.mevops.infra.plugins.module_utils.evm import probe_many  # noqa: E402
from ansible_collections.mevops.infra.plugins.module_utils.jsonrpc import JsonRpcClient, RpcError  # noqa: E402

# The runbook's chains and their chain ids.
CHAINS = {"ethereum": 1, "base": 8453, "polygon": 137, "arbitrum": 42161, "optimism": 10, "avalanche": 43114}
RUNBOOK_CALLS = (
    ("eth_chainId", []),
    ("eth_blockNumber", []),
    ("eth_syncing", []),
    ("eth_getBlockByNumber", ["latest", False]),
    ("net_peerCount", []),
)
TIMEOUT = 5.0


def sequential(urls: list[str]) -> list[list[object]]:
    """One request after another, chain after chain (net_peerCount may be 'method not found')."""
    answers = []
    for url in urls:
        client = JsonRpcClient(url, TIMEOUT)
        row: list[object] = []
        for method, params in RUNBOOK_CALLS:
            try:
                row.append(client.call(method, params))
            except RpcError as exc:
                row.append(exc)
        answers.append(row)
    return answers


def concurrent(urls: list[str], pool: ThreadPoolExecutor) -> list[dict[str, object]]:
    return probe_many([(url, None) for url in urls], TIMEOUT, pool)


def timed_ms(func: Callable[..., object], *args: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = func(*args)
    return (time.perf_counter() - started) * 1000, result


def ansible_run_ms(nodes: dict[str, AnvilNode]) -> float:
    """Wall time of evm_node_info on six local hosts with six forks, Ansible start-up included."""
    with tempfile.TemporaryDirectory(prefix="evm-health-") as tmp:
        inventory = Path(tmp) / "hosts.ini"
        lines = ["[chains]"]
        lines += [
            f"{name} ansible_connection=local ansible_python_interpreter={sys.executable} node_url={node.url}"
            for name, node in nodes.items()
        ]
        inventory.write_text("\n".join(lines) + "\n")
        env = dict(
            os.environ, ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"), ANSIBLE_CONFIG=str(TOP / "ansible.cfg")
        )
        ansible = str(Path(sys.executable).parent / "ansible")
        command = [ansible, "chains", "-i", str(inventory), "-f", "6", "-o", "-m", "mevops.infra.evm_node_info"]
        command += ["-a", "url={{ node_url }}"]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=tmp)
        elapsed = (time.perf_counter() - started) * 1000
        if done.returncode != 0 or done.stdout.count('"state": "ok"') != len(nodes):
            print(f"ansible run did not report six ok nodes (exit {done.returncode}):\n{done.stdout}{done.stderr}")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="timed repetitions of each approach (default 20)")
    parser.add_argument("--ansible", action="store_true", help="also time the real module through `ansible`")
    args = parser.parse_args()

    binary = find_anvil()
    nodes: dict[str, AnvilNode] = {}
    try:
        with ThreadPoolExecutor(max_workers=len(CHAINS)) as starter:
            started = {name: starter.submit(start_anvil, binary, chain_id, 1) for name, chain_id in CHAINS.items()}
            for name, future in started.items():
                nodes[name] = future.result()
        urls = [node.url for node in nodes.values()]

        with ThreadPoolExecutor(max_workers=len(urls)) as pool:
            # Warm-up, and a check that both approaches see six healthy chains.
            sequential(urls)
            infos = concurrent(urls, pool)
            seen = {info["chain_id"] for info in infos if info["state"] == "ok"}
            if seen != set(CHAINS.values()):
                print(f"warning: the probe saw chains {sorted(seen)}, expected {sorted(CHAINS.values())}")
            seq_ms, conc_ms = [], []
            for _round in range(args.repeat):  # interleaved, so drift hits both alike
                seq_ms.append(timed_ms(sequential, urls)[0])
                conc_ms.append(timed_ms(concurrent, urls, pool)[0])

        seq, conc = statistics.median(seq_ms), statistics.median(conc_ms)
        figures = (
            f"evm_health chains={len(urls)} repeat={args.repeat} "
            f"sequential_ms={seq:.1f} concurrent_ms={conc:.1f} ratio={conc / seq:.2f}"
        )
        if args.ansible:
            figures += f" ansible_ms={ansible_run_ms(nodes):.0f}"
        print(figures)
        print(
            f"# medians of {args.repeat}; min sequential {min(seq_ms):.1f} ms, min concurrent {min(conc_ms):.1f} ms; "
            f"goal: six chains < 1000 ms and ratio <= 1"
        )
    finally:
        for node in nodes.values():
            node.stop()


if __name__ == "__main__":
    main()
