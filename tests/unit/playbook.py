"""Run ansible-playbook from the unit tests against this checkout (linked as mevops.infra)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]


def ansible_env() -> dict[str, str]:
    """The environment for ansible-playbook: this checkout's config and collections, no colour."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_FACT_CACHING="memory",
    )
    return env


def run_playbook(args: list[str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """ansible-playbook from this virtualenv with `args`, run in the checkout; never raises on failure."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), *args],
        capture_output=True,
        text=True,
        env=ansible_env(),
        cwd=TOP,
        timeout=timeout,
        check=False,
    )
