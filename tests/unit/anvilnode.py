"""Start and stop anvil devnet nodes on free loopback ports (unit tests and bench/).

binary = find_anvil()                    # $MEVOPS_ANVIL, else scripts/ensure-anvil.sh
node = start_anvil(binary, chain_id=8453, block_time=1)
...                                       # node.url answers JSON-RPC
node.stop()
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOP = Path(__file__).resolve().parents[2]
ENSURE_ANVIL = TOP / "scripts" / "ensure-anvil.sh"


class AnvilUnavailable(RuntimeError):
    """No anvil binary could be found or installed."""


def find_anvil() -> str:
    """Path of a working anvil: $MEVOPS_ANVIL if set, else whatever scripts/ensure-anvil.sh installs."""
    configured = os.environ.get("MEVOPS_ANVIL")
    if configured:
        if not os.access(configured, os.X_OK):
            raise AnvilUnavailable(f"MEVOPS_ANVIL={configured} is not an executable file")
        return configured
    try:
        done = subprocess.run([str(ENSURE_ANVIL)], capture_output=True, text=True, timeout=600, check=False)
    except OSError as exc:
        raise AnvilUnavailable(f"cannot run {ENSURE_ANVIL}: {exc}") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise AnvilUnavailable(
            f"{ENSURE_ANVIL} failed (exit {done.returncode}); set MEVOPS_ANVIL to an anvil binary.\n{done.stderr}"
        )
    return lines[-1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 2.0) -> Any:
    """One JSON-RPC call with urllib (test set-up only; the code under test has its own client)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    with opener.open(request, timeout=timeout) as response:
        answer = json.load(response)
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


@dataclass
class AnvilNode:
    chain_id: int
    port: int
    process: subprocess.Popen[bytes]
    log_path: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return rpc(self.url, method, params)

    def head(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def mine(self, blocks: int) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        Path(self.log_path).unlink(missing_ok=True)


def _log_tail(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def start_anvil(
    binary: str, chain_id: int, block_time: float | None = None, ready_timeout: float = 30.0, network: str | None = None
) -> AnvilNode:
    """Start anvil on a free loopback port and return once it answers eth_chainId.

    Without `block_time` anvil mines only on transactions or anvil_mine (auto-mine). With
    network="optimism" anvil charges the OP-stack L1 data fee, priced from the L1Block predeploy's
    storage (zero until a test sets it).
    Retries on another port if the chosen one was taken between choosing and binding.
    """
    last_error = ""
    for _attempt in range(3):
        port = free_port()
        args = [binary, "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), "--silent"]
        if block_time is not None:
            args += ["--block-time", f"{block_time:g}"]
        if network is not None:  # anvil's chain family: "optimism" charges the OP-stack L1 data fee
            args += ["--network", network]
        log = tempfile.NamedTemporaryFile(prefix=f"anvil-{chain_id}-", suffix=".log", delete=False)  # noqa: SIM115
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        node = AnvilNode(chain_id, port, process, log.name)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_error = f"anvil exited with {process.returncode}: {_log_tail(log.name)}"
                break
            try:
                if int(node.rpc("eth_chainId"), 16) == chain_id:
                    return node
            except OSError:
                pass  # not listening yet
            time.sleep(0.05)  # polling interval while anvil starts
        else:
            last_error = f"anvil did not answer on {node.url} within {ready_timeout:g} s: {_log_tail(log.name)}"
        node.stop()
    raise AnvilUnavailable(last_error)
