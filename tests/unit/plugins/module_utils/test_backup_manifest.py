"""Unit tests for backup_manifest: sealing, the verdict on each kind of damage, and selection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from backupfixtures import archive_manifest, database_manifest

from ansible_collections.mevops.infra.plugins.module_utils import backup_manifest as bm

INFO = [
    {
        "name": "mev",
        "status": {"code": 0, "message": "ok"},
        "backup": [
            {"label": "20261121-010000F", "type": "full", "error": False},
            {"label": "20261121-020000F_20261121-030000I", "type": "incr", "error": True},
        ],
    }
]


def archive(
    tmp_path: Path, ident: str = "config-20261121T010000Z", when: str = "2026-11-21T01:00:00Z"
) -> dict[str, Any]:
    return archive_manifest(tmp_path, ident, when)


def database(tmp_path: Path, label: str = "20261121-010000F") -> dict[str, Any]:
    return database_manifest(tmp_path, label)


def test_a_sealed_complete_archive_is_good(tmp_path: Path) -> None:
    assert bm.problems(archive(tmp_path), None) == []


def test_the_seal_ignores_keys_added_on_load(tmp_path: Path) -> None:
    manifest = archive(tmp_path)
    manifest["_path"] = "/somewhere.json"
    assert bm.problems(manifest, None) == []


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda m, p: m.update(status="failed", error="disk full"), "not complete: disk full"),
        (lambda m, p: m.pop("contents"), "incomplete manifest, missing contents"),
        (lambda m, p: m.update(id="config-other"), "does not match its content"),
        (lambda m, p: m.pop(bm.SEAL), "not sealed"),
        (lambda m, p: Path(m["files"][0]["path"]).unlink(), "missing file"),
        (lambda m, p: Path(m["files"][0]["path"]).write_bytes(b"x"), "size 1, manifest says"),
        (lambda m, p: Path(m["files"][0]["path"]).write_bytes(b"Z" * m["files"][0]["size"]), "sha256 differs"),
        (lambda m, p: m.update(format=9), "manifest format 9"),
    ],
)
def test_each_kind_of_damage_makes_an_archive_bad(tmp_path: Path, damage, reason: str) -> None:
    manifest = archive(tmp_path)
    damage(manifest, tmp_path)
    found = bm.problems(manifest, None)
    assert any(reason in problem for problem in found), found


def test_database_backups_are_judged_against_the_repository(tmp_path: Path) -> None:
    repo = bm.pgbackrest_backups(INFO, "mev")
    assert bm.problems(database(tmp_path), repo) == []
    assert "could not be read" in bm.problems(database(tmp_path), None)[0]
    assert "no longer lists" in bm.problems(database(tmp_path, "20261120-010000F"), repo)[0]
    flagged = database(tmp_path, "20261121-020000F_20261121-030000I")
    assert "with errors" in bm.problems(flagged, repo)[0]
    assert "verify found" in bm.problems(database(tmp_path), repo, {"20261121-010000F"})[0]


def test_stanza_errors_and_ok_codes() -> None:
    assert bm.stanza_error(INFO, "mev") is None
    assert bm.stanza_error([{"name": "mev", "status": {"code": 2, "message": "no valid backups"}}], "mev") is None
    assert "missing stanza path" in bm.stanza_error(
        [{"name": "mev", "status": {"code": 1, "message": "missing stanza path"}}], "mev"
    )
    assert "not in the repository" in bm.stanza_error([], "mev")


def test_select_latest_good_by_label_and_says_why_not(tmp_path: Path) -> None:
    old = archive(tmp_path, "config-20261120T010000Z", "2026-11-20T01:00:00Z")
    new = archive(tmp_path, "config-20261121T010000Z", "2026-11-21T01:00:00Z")
    broken = archive(tmp_path, "config-20261122T010000Z", "2026-11-22T01:00:00Z")
    broken["status"] = "failed"
    rows = bm.judge([broken, new, old], None)
    assert [row["id"] for row in rows] == [
        "config-20261120T010000Z",
        "config-20261121T010000Z",
        "config-20261122T010000Z",
    ]
    assert bm.select(rows, "config", None)["id"] == "config-20261121T010000Z"
    assert bm.select(rows, "config", "config-20261120T010000Z")["id"] == "config-20261120T010000Z"
    assert bm.latest_good(rows)["config"]["id"] == "config-20261121T010000Z"
    with pytest.raises(LookupError, match="is not good"):
        bm.select(rows, "config", "config-20261122T010000Z")
    with pytest.raises(LookupError, match="no keys backup named"):
        bm.select(rows, "keys", "keys-1")
    with pytest.raises(LookupError, match="no good database backup"):
        bm.select(rows, "database", None)


def test_write_atomic_and_load(tmp_path: Path) -> None:
    manifest = archive(tmp_path)
    bm.write_atomic(str(tmp_path / "a.json"), manifest)
    (tmp_path / "b.json").write_text("{not json")
    loaded = bm.load_manifests(str(tmp_path))
    assert [m["id"] for m in loaded] == [manifest["id"], "b"]
    assert bm.problems(loaded[0], None) == []
    assert "unreadable manifest" in bm.problems(loaded[1], None)[0]
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640
    assert json.loads((tmp_path / "a.json").read_text())[bm.SEAL] == manifest[bm.SEAL]
    assert not list(tmp_path.glob(".tmp-*"))
