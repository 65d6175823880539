"""Unit tests for the backup_info module.

pgBackRest is not installed on the controller, so a stand-in `pgbackrest` on PATH prints the
JSON `pgbackrest info --output=json` prints (and garbage for a wrong passphrase, as the real
one does); the manifests and files it judges are real files.
"""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest
from backupfixtures import archive_manifest, database_manifest
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.module_utils import backup_manifest as bm
from ansible_collections.mevops.infra.plugins.modules import backup_info

RIGHT = "the-right-repository-passphrase"
STUB = """#!/bin/sh
if [ "${PGBACKREST_REPO1_CIPHER_PASS:-%(right)s}" != "%(right)s" ]; then printf '[{"name":"mev","\\001\\002'; exit 0; fi
cat %(info)s
"""


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    info = [
        {
            "name": "mev",
            "status": {"code": 0, "message": "ok"},
            "backup": [{"label": "20261121-010000F", "type": "full", "error": False}],
        }
    ]
    (tmp_path / "info.json").write_text(json.dumps(info))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stub = bindir / "pgbackrest"
    stub.write_text(STUB % {"right": RIGHT, "info": tmp_path / "info.json"})
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    settings = {"stanza": "mev", "manifest_dir": str(manifests), "state_dir": str(tmp_path)}
    (tmp_path / "backup.json").write_text(json.dumps(settings))
    for manifest in (database_manifest(tmp_path), archive_manifest(tmp_path)):
        bm.write_atomic(str(manifests / f"{manifest['id']}.json"), manifest)
    me = pwd.getpwuid(os.geteuid()).pw_name
    return {"config": str(tmp_path / "backup.json"), "pgbackrest_user": me}, tmp_path


def test_lists_and_selects_the_latest_good(run_module, setup) -> None:
    args, _tmp_path = setup
    result = run_module(backup_info, dict(args, kind="database"))
    assert not result["changed"]
    assert result["repository"]["readable"]
    assert result["selected"]["label"] == "20261121-010000F"
    assert result["selected_manifest"]["restore_point"]["name"] == "mevops-20261121-010000F"
    everything = run_module(backup_info, args)
    assert {row["kind"] for row in everything["backups"]} == {"database", "config"}
    assert set(everything["latest_good"]) == {"database", "config"}


def test_a_wrong_passphrase_fails(run_module, setup) -> None:
    args, _tmp_path = setup
    with pytest.raises(ModuleFailed, match=r"repository cannot be read.*wrong repository passphrase"):
        run_module(backup_info, dict(args, kind="database", cipher_pass="not-the-passphrase"))
    result = run_module(backup_info, dict(args, kind="database", cipher_pass=RIGHT))
    assert result["selected"]["label"] == "20261121-010000F"


def test_a_tampered_file_or_unknown_label_is_refused(run_module, setup) -> None:
    args, tmp_path = setup
    with pytest.raises(ModuleFailed, match="no database backup named 2020"):
        run_module(backup_info, dict(args, label="20200101-000000F"))
    (tmp_path / "20261121-010000F.manifest").write_text("changed bytes!!")
    with pytest.raises(ModuleFailed, match="sha256 differs"):
        run_module(backup_info, dict(args, kind="database", require_selected=True))
    result = run_module(backup_info, dict(args, kind="database"))
    assert result["selected"] is None and not result["latest_good"]


def test_a_verify_finding_makes_a_backup_bad(run_module, setup) -> None:
    args, tmp_path = setup
    (tmp_path / "verify.json").write_text(json.dumps({"invalid_labels": ["20261121-010000F"]}))
    result = run_module(backup_info, dict(args, kind="database"))
    assert "verify found" in result["backups"][0]["problems"][0]
