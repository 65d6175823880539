"""Run one of the collection's roles for real with ansible-playbook against localhost.

    result = run_role(tmp_path, "host_tuning", {"host_tuning_swap": "zram"}, tags="host_tuning_preflight")
    assert result.returncode != 0 and "host_tuning_swap" in result.stdout

Check mode by default, so a role's preflight (and anything it runs on the controller) is
exercised without changing this machine. Argument specs are validated first, whatever the tags.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from playbook import run_playbook


def run_role(
    tmp_path: Path, role: str, variables: dict, tags: str, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "---\n- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        f"  roles:\n    - role: mevops.infra.{role}\n"
    )
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(variables))
    argv = ["-i", "localhost,"] + (["--check"] if check else []) + ["--tags", tags, "-e", f"@{extra}", str(playbook)]
    return run_playbook(argv)
