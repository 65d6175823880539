"""Run a playbook as AWX / Automation Platform runs a job: through ansible-runner, from a private
data dir laid out as AWX lays it out, and read the job's events as AWX does.

    pdd/project/         the project (AWX copies it from SCM): ansible.cfg, playbooks/, roles/
    pdd/inventory/       the job's inventory (here a copy of an inventory folder)
    pdd/env/extravars    the job template's extra variables (YAML)
    pdd/env/passwords    prompt pattern -> answer: the vault password, answered at ansible-playbook's
                         `--ask-vault-pass` (or `--vault-id LABEL@prompt`) prompt, as AWX passes a
                         vault credential, so no password file is ever written
    pdd/env/cmdline      further ansible-playbook options (tags, limit, vault prompt)
    pdd/artifacts/       what ansible-runner writes: job_events/*.json, stdout, rc, status

The collection comes from a collections path (AWX installs the project's collection requirements,
an execution environment has them built in), never from the project folder. ANSIBLE_* variables of
the calling environment are not passed on: a job sees only what AWX would set.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner
import yaml

TOP = Path(__file__).resolve().parents[2]
# What an AWX project checkout of this repository holds that a job uses.
PROJECT_CONTENT = ("ansible.cfg", "playbooks", "roles")
# Events that carry a host's task result (runner_on_start does not).
RESULT_EVENTS = {"runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"}


@dataclass
class AwxJob:
    status: str
    rc: int
    events: list[dict[str, Any]]
    stdout: str
    private_data_dir: Path
    stats: dict[str, Any] = field(default_factory=dict)

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The events of one kind (playbook_on_play_start, runner_on_ok, runner_on_failed, ...)."""
        return [e for e in self.events if e.get("event") == kind]

    def task_results(self, task: str) -> list[dict[str, Any]]:
        """The event_data of every host's result for the task named `task`."""
        return [
            e["event_data"]
            for e in self.events
            if e.get("event") in RESULT_EVENTS and e.get("event_data", {}).get("task") == task
        ]


@contextlib.contextmanager
def _without_ansible_environment() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("ANSIBLE_")}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


def run_job(
    playbook: str,
    *,
    inventory: Path,
    collections_path: Path,
    workdir: Path,
    vault_password: str | None = None,
    vault_id: str | None = None,
    extravars: dict[str, Any] | None = None,
    tags: str | None = None,
    limit: str | None = None,
    project: Path = TOP,
    timeout: int = 900,
) -> AwxJob:
    """Lay out a private data dir under `workdir`, run `playbook` (a path in the project) and return the job."""
    pdd = workdir / "pdd"
    for name in PROJECT_CONTENT:
        source = project / name
        target = pdd / "project" / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copytree(inventory, pdd / "inventory", ignore=shutil.ignore_patterns("vault-password*"))
    env = pdd / "env"
    env.mkdir()
    (env / "extravars").write_text(yaml.safe_dump(extravars or {}))
    cmdline: list[str] = []
    if vault_password is not None:
        if vault_id:
            cmdline += ["--vault-id", f"{vault_id}@prompt"]
            prompt = rf"Vault password \({re.escape(vault_id)}\):\s*?$"
        else:
            cmdline += ["--ask-vault-pass"]
            prompt = r"Vault password:\s*?$"
        (env / "passwords").write_text(yaml.safe_dump({prompt: vault_password}))
        (env / "passwords").chmod(0o600)
    if tags:
        cmdline += ["--tags", tags]
    if limit:
        cmdline += ["--limit", limit]
    if cmdline:
        (env / "cmdline").write_text(" ".join(cmdline))
    # ansible-playbook of the Python running the tests (an execution environment has it on PATH).
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    envvars = {"ANSIBLE_COLLECTIONS_PATH": str(collections_path), "ANSIBLE_NOCOLOR": "1", "PATH": path}
    with _without_ansible_environment():
        runner = ansible_runner.run(
            private_data_dir=str(pdd),
            playbook=playbook,
            envvars=envvars,
            quiet=True,
            timeout=timeout,
        )
    return AwxJob(
        status=runner.status,
        rc=runner.rc,
        events=list(runner.events),
        stdout=runner.stdout.read(),
        private_data_dir=pdd,
        stats=runner.stats or {},
    )
