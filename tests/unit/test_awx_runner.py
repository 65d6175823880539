"""A procedure run as AWX runs it (ansible-runner, a private data dir, the vault password answered
at its prompt), read back from its job events. validate_inventory.yml touches no host, so it runs
here; the devnet procedures run the same way in tests/integration/test_15_awx_runner.py."""

from __future__ import annotations

import pytest
from awxjob import TOP, AwxJob, run_job

DEVNET = TOP / "inventories" / "devnet"


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> AwxJob:
    return run_job(
        "playbooks/validate_inventory.yml",
        inventory=DEVNET,
        collections_path=TOP / ".collections",
        workdir=tmp_path_factory.mktemp("awx"),
        vault_password=(DEVNET / "vault-password.txt").read_text().strip(),
    )


def test_job_succeeds(job: AwxJob) -> None:
    assert (job.status, job.rc) == ("successful", 0), job.stdout[-3000:]


def test_job_events_tell_the_play_and_its_outcome(job: AwxJob) -> None:
    assert [e["event_data"]["play"] for e in job.of("playbook_on_play_start")] == ["Validate the inventory"]
    assert job.of("runner_on_ok"), "no task result among the job events"
    assert not job.of("runner_on_failed") and not job.of("runner_on_unreachable")
    stats = job.of("playbook_on_stats")[0]["event_data"]
    assert stats["ok"] and not stats["failures"] and not stats["dark"]
    verdict = job.task_results("Fail with every problem of the inventory, or say it is sound")
    assert len(verdict) == 1 and verdict[0]["res"]["msg"].startswith("The inventory is sound: 4 host(s), ")


def test_vault_password_is_answered_at_the_prompt_and_never_written(job: AwxJob) -> None:
    password = (DEVNET / "vault-password.txt").read_text().strip()
    cmdline = (job.private_data_dir / "env" / "cmdline").read_text()
    assert "--ask-vault-pass" in cmdline and "vault-password" not in cmdline
    assert not list((job.private_data_dir / "inventory").glob("vault-password*"))
    assert password not in job.stdout
    assert all(password not in str(e) for e in job.events)
