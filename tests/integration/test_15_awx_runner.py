"""Devnet procedures run as AWX runs them: ansible-runner, a private data dir with the devnet
inventory, the vault password answered at its prompt (tests/unit/awxjob.py), read from the job's
events. The `devnet` fixture fails the tier when the devnet is not running.

One line per procedure in PROCEDURES: (playbook, tags or None, the play names the job must show).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from awxjob import TOP, AwxJob, run_job

DEVNET = TOP / "inventories" / "devnet"

# Checks the shared machine decides, not the devnet (scripts/devnet.sh report): left out.
HEALTH = {"health_check_scope": ["nodes", "engine", "wallets", "journal", "postgresql", "redis", "integrity"]}
EMERGENCY_PLAYS = [
    "Open the incident on the controller",
    "Stop trading on every engine at once, from the controller",
    "Stop trading on each engine the controller did not stop, on the host",
    "Replace pending transactions, withdraw to the cold wallet",
    "Capture the incident snapshot of every host",
    "Stop the engine units on every engine host",
    "Stop the support services, once every engine unit is down",
    "Isolate every host (management access only)",
    "Report every host and notify",
]
PROCEDURES: list[tuple[str, str | None, dict, list[str]]] = [
    ("playbooks/validate_inventory.yml", None, {}, ["Validate the inventory"]),
    ("playbooks/health_check.yml", None, HEALTH, ["Run the morning health check"]),
    ("playbooks/emergency.yml", "stop_trading", {"emergency_reason": "AWX job test"}, EMERGENCY_PLAYS),
]


@pytest.mark.parametrize("procedure", PROCEDURES, ids=lambda p: f"{Path(p[0]).stem}-{p[1] or 'all'}")
def test_procedure_runs_as_an_awx_job(devnet_ready, tmp_path: Path, procedure: tuple) -> None:
    playbook, tags, extravars, plays = procedure
    job: AwxJob = run_job(
        playbook,
        inventory=DEVNET,
        collections_path=TOP / ".collections",
        workdir=tmp_path,
        vault_password=(DEVNET / "vault-password.txt").read_text().strip(),
        tags=tags,
        extravars=extravars,
    )
    assert (job.status, job.rc) == ("successful", 0), job.stdout[-4000:]
    assert [e["event_data"]["play"] for e in job.of("playbook_on_play_start")] == plays
    assert not job.of("runner_on_failed") and not job.of("runner_on_unreachable"), job.stdout[-4000:]
    stats = job.of("playbook_on_stats")[0]["event_data"]
    assert not stats["failures"] and not stats["dark"]
    if playbook.endswith("emergency.yml"):
        # The job really stopped trading, from the controller; then the devnet goes back to disabled.
        assert devnet_ready.trading_state() == "emergency_stop"
        assert any("called from the controller" in e.get("stdout", "") for e in job.events), job.stdout[-4000:]
        status, body = devnet_ready.api("POST", "/api/v1/trading/disable", {"reason": "AWX job test done"})
        assert status in (200, 202), body
