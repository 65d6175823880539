"""Fixtures for the monitoring role's unit tests: promtool, and the role's templates
rendered by Ansible with the role's defaults against a small inventory."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from monitoring.helpers import HERE
from playbook import run_playbook


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: scripts/unit.sh installs Debian's prometheus package, which ships it")
    return path


RenderFn = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def render() -> RenderFn:
    """Render the role's templates into out_dir with extra variables and an inventory."""

    def _render(out_dir: Path, variables: dict | None = None, inventory: Path | None = None):
        out_dir.mkdir(parents=True, exist_ok=True)
        extra = out_dir / "extra-vars.json"
        extra.write_text(json.dumps(variables or {}))
        return run_playbook(
            [
                "-i",
                str(inventory or HERE / "inventory.yml"),
                "-e",
                f"out_dir={out_dir}",
                "-e",
                f"@{extra}",
                str(HERE / "render.yml"),
            ]
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
