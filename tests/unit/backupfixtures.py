"""Sealed manifests over real files, for the backup_manifest and backup_info tests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ansible_collections.mevops.infra.plugins.module_utils import backup_manifest as bm


def _entry(path: Path) -> dict[str, Any]:
    return {"path": str(path), "size": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def archive_manifest(
    folder: Path, ident: str = "config-20261121T010000Z", when: str = "2026-11-21T01:00:00Z"
) -> dict[str, Any]:
    blob = folder / f"{ident}.tar.age"
    blob.write_bytes(b"age-encryption.org/v1\n" + ident.encode())
    return bm.seal(
        {
            "format": 1,
            "kind": "config",
            "id": ident,
            "status": "complete",
            "started_at": when,
            "finished_at": when,
            "archive": {"path": str(blob)},
            "contents": [{"path": "/etc/mev/engine.yml", "size": 1, "sha256": "0" * 64}],
            "files": [_entry(blob)],
        }
    )


def database_manifest(folder: Path, label: str = "20261121-010000F") -> dict[str, Any]:
    repo_manifest = folder / f"{label}.manifest"
    repo_manifest.write_text("encrypted bytes")
    return bm.seal(
        {
            "format": 1,
            "kind": "database",
            "id": f"database-{label}",
            "label": label,
            "type": "full",
            "status": "complete",
            "started_at": "2026-11-21T01:00:00Z",
            "finished_at": "2026-11-21T01:00:05Z",
            "pgbackrest": {"lsn_stop": "0/3000100"},
            "restore_point": {"name": f"mevops-{label}", "lsn": "0/4000000"},
            "tables": {"mev.opportunities": {"rows": 3, "checksum": "42"}},
            "files": [_entry(repo_manifest)],
        }
    )
