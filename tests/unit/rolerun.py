"""Run a role's preflight for real: ansible-playbook against localhost in check mode.

Argument specs are validated first, whatever the tags, so bad input to any variable
fails here with the message an operator would see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]


def run_preflight(tmp_path: Path, role: str, variables: dict) -> subprocess.CompletedProcess[str]:
    """Apply mevops.infra.<role> to localhost with `variables`, limited to its <role>_preflight tag."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "---\n- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        f"  roles:\n    - role: mevops.infra.{role}\n"
    )
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(variables))
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_FACT_CACHING="memory",
    )
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "--check",
            "--tags",
            f"{role}_preflight",
            "-e",
            f"@{extra}",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=TOP,
        timeout=300,
        check=False,
    )
