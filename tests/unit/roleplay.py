"""Run one of the collection's roles for real with ansible-playbook against localhost.

    result = run_role(tmp_path, "host_tuning", {"host_tuning_swap": "zram"}, tags="host_tuning_preflight")
    assert result.returncode != 0 and "host_tuning_swap" in result.stdout

Check mode by default, so a role's preflight (and anything it runs on the controller) is
exercised without changing this machine. Argument specs are validated first, whatever the tags.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]


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
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_FACT_CACHING="memory",
    )
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,"]
    argv += ["--check"] if check else []
    argv += ["--tags", tags, "-e", f"@{extra}", str(playbook)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=TOP, timeout=300, check=False)
