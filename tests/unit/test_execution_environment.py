"""The execution environment's definition makes a complete build context (no image is built:
no registry is reachable), and ansible-builder finds the collection's own requirements."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

TOP = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((TOP / "galaxy.yml").read_text())["version"]
TARBALL = f"mevops-infra-{VERSION}.tar.gz"


def run(*argv: str | Path, cwd: Path = TOP) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out as the checkout is for `ansible-builder build`: the definition, requirements.yml, dist/."""
    where = tmp_path_factory.mktemp("ee")
    run(BIN / "ansible-galaxy", "collection", "build", "--output-path", where / "dist")
    for name in ("execution-environment.yml", "requirements.yml"):
        shutil.copy(TOP / name, where / name)
    return where


@pytest.fixture(scope="module")
def context(built: Path) -> Path:
    run(BIN / "ansible-builder", "create", "--file", "execution-environment.yml", "--context", "context",
        "--output-filename", "Containerfile", cwd=built)  # fmt: skip
    return built / "context"


def test_containerfile_starts_from_the_declared_base_image(context: Path) -> None:
    definition = yaml.safe_load((TOP / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    base = definition["images"]["base_image"]["name"]
    containerfile = (context / "Containerfile").read_text()
    assert f'ARG EE_BASE_IMAGE="{base}"' in containerfile
    assert "FROM $EE_BASE_IMAGE AS base" in containerfile


def test_context_holds_the_collection_and_its_galaxy_requirements(context: Path) -> None:
    assert (context / "_build" / "collections" / TARBALL).is_file()
    assert yaml.safe_load((context / "_build" / "requirements.yml").read_text()) == yaml.safe_load(
        (TOP / "requirements.yml").read_text()
    )
    containerfile = (context / "Containerfile").read_text()
    galaxy_stage = containerfile.split("FROM base AS galaxy")[1].split("FROM base AS builder")[0]
    assert "ansible-galaxy collection install" in galaxy_stage
    assert "/build/collections/mevops-infra-*.tar.gz" in galaxy_stage
    assert "introspect.py introspect" in containerfile  # where the collection's own requirements come in


def test_tarball_carries_the_requirements_ansible_builder_reads(built: Path) -> None:
    with tarfile.open(built / "dist" / TARBALL) as tar:
        names = set(tar.getnames())
        meta = yaml.safe_load(tar.extractfile("meta/execution-environment.yml").read())  # type: ignore[union-attr]
    assert {meta["dependencies"]["python"], meta["dependencies"]["system"]} <= names


def test_introspection_of_the_installed_collection_finds_its_requirements(built: Path, tmp_path: Path) -> None:
    run(BIN / "ansible-galaxy", "collection", "install", "--force", "--offline", "--no-deps",
        "-p", tmp_path, built / "dist" / TARBALL)  # fmt: skip
    found = yaml.safe_load(run(BIN / "ansible-builder", "introspect", "--sanitize", tmp_path))
    python = [line.split("#")[0].strip() for line in found["python"]]
    system = [line.split("#")[0].strip() for line in found["system"]]
    wanted = [line.split("#")[0].strip() for line in (TOP / "requirements-ee.txt").read_text().splitlines()]
    assert [line for line in wanted if line] == python
    assert "openssh-client [platform:dpkg]" in system
    # Not the development requirements (molecule, ansible-lint...) of requirements.txt, which is
    # what ansible-builder would take without meta/execution-environment.yml.
    assert not any(line.startswith(("molecule", "ansible-lint")) for line in python)
