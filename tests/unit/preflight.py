"""Run a role's preflight for real: ansible-playbook against localhost in check mode,
limited to the role's `<role>_preflight` tag (argument specs are validated first,
whatever the tags). Used by the tests of bad input in tests/unit/roles."""

from __future__ import annotations

import subprocess
from pathlib import Path

from roleplay import run_role


def run_preflight(tmp_path: Path, role: str, variables: dict) -> subprocess.CompletedProcess[str]:
    return run_role(tmp_path, role, variables, tags=f"{role}_preflight")
