"""Fixtures for the monitoring role's unit tests: promtool, and the role's templates
rendered by Ansible with the role's defaults against a small inventory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from monitoring.helpers import HERE, TOP


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: scripts/unit.sh installs Debian's prometheus package, which ships it")
    return path


def _ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FACT_CACHING="memory",
    )
    return env


RenderFn = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def render() -> RenderFn:
    """Render the role's templates into out_dir with extra variables and an inventory."""

    def _render(out_dir: Path, variables: dict | None = None, inventory: Path | None = None):
        out_dir.mkdir(parents=True, exist_ok=True)
        extra = out_dir / "extra-vars.json"
        extra.write_text(json.dumps(variables or {}))
        return subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "-i",
                str(inventory or HERE / "inventory.yml"),
                "-e",
                f"out_dir={out_dir}",
                "-e",
                f"@{extra}",
                str(HERE / "render.yml"),
            ],
            capture_output=True,
            text=True,
            env=_ansible_env(),
            cwd=TOP,
            timeout=300,
            check=False,
        )

    return _render


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory, render: RenderFn) -> Path:
    """The templates rendered once with the role's defaults."""
    out = tmp_path_factory.mktemp("monitoring-defaults")
    result = render(out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def rules(rendered: Path) -> list[dict]:
    groups = yaml.safe_load((rendered / "mev_alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]
