"""Production Deployment Runbook, "6. Test failover (optional): temporarily block primary RPC,
verify fallback works", on the devnet (issue 19, part 1): one chain's primary (the node host)
blackholed for the engine's processes on the engine host mid-run, as a node outage looks from
there. Detection and execution go on through the chain's backup provider (the devnet's stand-in
for a hosted provider: a relay on the engine host's loopback to the same anvil, run as its own
user, inventories/devnet/group_vars/all/chains.yml) within a bound, /health/ready reads
degraded; the route back → the engine returns to the primary."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from devnet_hosts import ENGINE_HOST, wait_for

CHAIN = "ethereum"
TABLE = "mevops_test_blackhole"
# Detection: a silent WebSocket is dropped within 2 x 5 s of pings, plus 1 s closing and the
# backup's handshake; then the next 1 s block arrives through the backup. Margin for a loaded host.
FAILOVER_BOUND = 30
# While on a backup detection probes the primary every 15 s.
RETURN_BOUND = 45


def metric(text: str, name: str, **labels: str) -> float | None:
    """The sum of `name`'s series with these labels in an exposition; None when there is none."""
    values = [
        float(match["value"])
        for line in text.splitlines()
        if (match := re.match(rf"{name}\{{(?P<labels>[^}}]*)\}} (?P<value>\S+)$", line))
        and all(f'{k}="{v}"' in match["labels"] for k, v in labels.items())
    ]
    return sum(values) if values else None


def test_a_blackholed_primary_fails_over_to_the_backup_and_back(devnet_ready):
    devnet = devnet_ready
    chain = next(c for c in devnet.chains() if c["name"] == CHAIN)
    primary = urlsplit(chain["http_url"])
    assert chain["backups"], "the devnet's catalogue gives every chain a backup provider"

    def ready() -> tuple[int, dict]:
        return devnet.api("GET", "/health/ready")

    def metrics() -> str:
        status, text = devnet.api("GET", "/metrics")
        assert status == 200
        return text

    def head() -> int:
        status, body = devnet.api("GET", "/api/v1/status")
        assert status == 200, body
        return int(body["chains"][CHAIN]["head"])

    assert ready() == (200, {"status": "ready"})
    user = devnet.hostvars(ENGINE_HOST, "mev_engine_user")["mev_engine_user"] or "mev"
    uid = devnet.exec(ENGINE_HOST, "id", "-u", user).stdout.strip()
    rule = f"meta skuid {uid} ip daddr {primary.hostname} tcp dport {primary.port} drop"
    hook = "type filter hook output priority 0; policy accept;"
    nft = f"table inet {TABLE} {{\n  chain output {{\n    {hook}\n    {rule}\n  }}\n}}\n"
    devnet.exec(ENGINE_HOST, "nft", "-f", "-", input=nft)
    blocked = time.monotonic()
    try:
        status, body = wait_for(
            lambda: (answer := ready())[1].get("status") == "degraded" and answer, FAILOVER_BOUND, "ready: degraded"
        )
        took = time.monotonic() - blocked
        assert status == 200 and "detection follows backup1" in body["degraded"][f"chain:{CHAIN}"], body
        # Detection goes on: new heads through the backup.
        first = head()
        wait_for(lambda: head() >= first + 3, 15, f"three new {CHAIN} heads through the backup")
        text = metrics()
        assert metric(text, "mev_detection_endpoint", chain=CHAIN, endpoint="backup1") == 1
        assert metric(text, "mev_detection_endpoint", chain=CHAIN, endpoint="primary") == 0
        # Execution goes on (its wallet audit asks the chain every 2 s): the primary's circuit opens,
        # the backup's stays closed, and every request was answered.
        wait_for(
            lambda: (
                metric(metrics(), "mev_rpc_endpoint_state", component="execution", chain=CHAIN, endpoint="primary") == 2
            ),
            FAILOVER_BOUND,
            "execution's circuit to the primary open",
        )
        text = metrics()
        assert metric(text, "mev_rpc_endpoint_state", component="execution", chain=CHAIN, endpoint="backup1") == 0
        assert metric(text, "mev_rpc_endpoint_failures_total", chain=CHAIN, endpoint="primary") >= 3
        assert "audit" not in devnet.exec(
            ENGINE_HOST, "journalctl", "-u", "mev-execution", "--since", f"-{int(time.monotonic() - blocked) + 1}s",
            "-p", "err", "-q", "--no-pager",
        ).stdout  # fmt: skip
        # Another chain is untouched.
        assert all(
            metric(text, "mev_detection_endpoint", chain=c["name"], endpoint="primary") == 1
            for c in devnet.chains()
            if c["name"] != CHAIN
        )
    finally:
        devnet.exec(ENGINE_HOST, "nft", "delete", "table", "inet", TABLE, check=False)
    lifted = time.monotonic()
    wait_for(lambda: ready() == (200, {"status": "ready"}), RETURN_BOUND, "ready again on the primary")
    back = time.monotonic() - lifted
    assert metric(metrics(), "mev_detection_endpoint", chain=CHAIN, endpoint="primary") == 1
    print(f"failover {took:.1f}s (bound {FAILOVER_BOUND}s), back on the primary {back:.1f}s (bound {RETURN_BOUND}s)")
