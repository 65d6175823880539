"""Health check against the devnet: a healthy devnet passes; a stopped chain and an
unreachable host are critical rows that name them, the run exits non-zero, and the report
lands as JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path

ENGINE = "mevops-devnet-engine"
NODE = "mevops-devnet-node"
# The devnet shares two cores with other test jobs: a busy moment makes the resources check and
# Prometheus' CPU and detection-latency alerts critical, so those two run in the failing test only.
HEALTHY_SCOPE = ["nodes", "engine", "wallets", "journal", "postgresql", "redis", "integrity", "jobs"]


def reports(folder: Path) -> tuple[dict, str]:
    [json_file] = sorted(folder.glob("health_check-*.json"))
    [md_file] = sorted(folder.glob("health_check-*.md"))
    return json.loads(json_file.read_text()), md_file.read_text()


def test_healthy_devnet_exits_zero_and_writes_the_report(devnet, devnet_ready, tmp_path):
    done = devnet.playbook(
        "health_check.yml",
        extra_vars={"health_check_report_dir": str(tmp_path), "health_check_scope": HEALTHY_SCOPE},
    )
    assert done.returncode == 0, done.stdout[-4000:]
    report, markdown = reports(tmp_path)
    assert report["status"] != "critical"
    hosts = {row["host"] for row in report["rows"]}
    assert {ENGINE, NODE} <= hosts
    checks = {row["check"] for row in report["rows"]}
    assert {"node sync", "engine", "engine unit", "wallet balance", "postgresql", "redis", "journal"} <= checks
    # Every host reads its scheduled jobs' reports and has no failed unit; the database host
    # says how old its last backup is.
    units = [r for r in report["rows"] if r["check"] == "units"]
    assert {r["host"] for r in units} == hosts and all(r["severity"] == "ok" for r in units), units
    assert [r["host"] for r in report["rows"] if r["check"] == "backup"] == ["mevops-devnet-db"]
    # One row per chain the node host serves, each named.
    chains = [c["name"] for c in devnet.derived(NODE, "topology_node_chains")]
    assert {f"chain {name}" for name in chains} <= {r["target"] for r in report["rows"] if r["check"] == "node sync"}
    # The table is printed once, with its summary line (at -vvv the Markdown file's content shows
    # too, its summary in bold).
    assert sum(line.strip().startswith("health: ") for line in done.stdout.splitlines()) == 1
    assert markdown.startswith("# Health check")


def test_stopped_chain_and_unreachable_host_are_critical_and_named(devnet, devnet_ready, tmp_path):
    chain = devnet.derived(NODE, "topology_node_chains")[-1]
    unit = f"{chain['name']}-anvil.service"
    ghost = tmp_path / "ghost.yml"
    ghost.write_text(
        "all:\n  children:\n    monitoring:\n      hosts:\n        mevops-day2-ghost:\n"
        "          ansible_connection: community.docker.docker\n"
    )
    reports_dir = tmp_path / "reports"
    # SIGSTOP freezes the chain's node (its state survives, unlike a restart of anvil).
    devnet.exec(NODE, "systemctl", "kill", "--signal=SIGSTOP", unit)
    try:
        done = devnet.playbook(
            "health_check.yml",
            "-i",
            str(ghost),
            extra_vars={"health_check_report_dir": str(reports_dir), "health_check_node_timeout": 2},
        )
    finally:
        devnet.exec(NODE, "systemctl", "kill", "--signal=SIGCONT", unit)
    assert done.returncode != 0, done.stdout[-4000:]
    report, markdown = reports(reports_dir)
    assert report["status"] == "critical"
    [stopped] = [r for r in report["rows"] if r["target"] == f"chain {chain['name']}"]
    assert stopped["severity"] == "critical"
    assert stopped["host"] == NODE
    assert "timeout" in stopped["reason"]
    [lost] = [r for r in report["rows"] if r["host"] == "mevops-day2-ghost"]
    assert lost["severity"] == "critical" and lost["reason"].startswith("unreachable")
    # The other chains stay ok: the report names the one that is down, not everything.
    others = [r for r in report["rows"] if r["check"] == "node sync" and r["target"] != f"chain {chain['name']}"]
    assert others and all(r["severity"] != "critical" for r in others)
    assert f"chain {chain['name']}" in markdown
    assert f"chain {chain['name']}" in done.stdout
    assert {"resources", "alerts"} <= {r["check"] for r in report["rows"]}
