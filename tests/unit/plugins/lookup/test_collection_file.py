"""The collection_file lookup: paths inside the collection, refused outside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.mevops.infra.plugins.lookup.collection_file import (
    COLLECTION_ROOT,
    LookupModule,
    collection_path,
)

TOP = Path(__file__).resolve().parents[4]


def test_root_is_the_collection() -> None:
    assert (COLLECTION_ROOT / "galaxy.yml").is_file()
    assert (COLLECTION_ROOT / "roles" / "backup").is_dir()


def test_files_and_folders_the_roles_use_resolve() -> None:
    got = LookupModule().run(["plugins/module_utils/backup_manifest.py", "files/mev_engine"], variables={})
    assert got == [
        str(COLLECTION_ROOT / "plugins" / "module_utils" / "backup_manifest.py"),
        str(COLLECTION_ROOT / "files" / "mev_engine"),
    ]
    assert all(Path(path).exists() for path in got)


@pytest.mark.parametrize("term", ["", "/etc/passwd", "../outside", "files/../../outside"])
def test_paths_leaving_the_collection_are_refused(tmp_path: Path, term: str) -> None:
    with pytest.raises(AnsibleLookupError, match="relative to the collection's root"):
        collection_path(term, tmp_path)


def test_a_missing_file_names_where_it_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(AnsibleLookupError, match=f"not shipped in the collection \\(looked for {tmp_path}/files/x\\)"):
        collection_path("files/x", tmp_path)


def test_resolves_by_fqcn_from_the_linked_checkout() -> None:
    """Through ansible itself, from .collections/ansible_collections/mevops/infra (the checkout's link)."""
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(TOP / ".collections"),
        "ANSIBLE_CONFIG": str(TOP / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
    }
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible"),
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-m",
            "ansible.builtin.debug",
            "-a",
            "msg={{ lookup('mevops.infra.collection_file', 'files/mev_engine') }}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    msg = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert Path(msg) == COLLECTION_ROOT / "files" / "mev_engine"
