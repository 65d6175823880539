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

PROCEDURES: list[tuple[str, str | None, list[str]]] = [
    # The lead adds the devnet procedures here once the new devnet lands, for example:
    # ("playbooks/health_check.yml", None, [...play names...]),
    # ("playbooks/emergency.yml", "stop_trading", [...play names...]),
    ("playbooks/validate_inventory.yml", None, ["Validate the inventory"]),
]


@pytest.mark.parametrize(("playbook", "tags", "plays"), PROCEDURES, ids=lambda v: v if isinstance(v, str) else "")
def test_procedure_runs_as_an_awx_job(
    devnet_ready, tmp_path: Path, playbook: str, tags: str | None, plays: list[str]
) -> None:
    job: AwxJob = run_job(
        playbook,
        inventory=DEVNET,
        collections_path=TOP / ".collections",
        workdir=tmp_path,
        vault_password=(DEVNET / "vault-password.txt").read_text().strip(),
        tags=tags,
    )
    assert (job.status, job.rc) == ("successful", 0), job.stdout[-4000:]
    assert [e["event_data"]["play"] for e in job.of("playbook_on_play_start")] == plays
    assert not job.of("runner_on_failed") and not job.of("runner_on_unreachable"), job.stdout[-4000:]
    stats = job.of("playbook_on_stats")[0]["event_data"]
    assert not stats["failures"] and not stats["dark"]
