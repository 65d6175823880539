# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Backup manifests of the mevops.infra.backup role: write, seal, judge. Standard library only.

Shared by the ``backup_info`` module (on the managed host, through Ansible) and the host's
``mevops-backup`` script (the role copies this file beside it), so the timers, the playbooks
and the restore drill agree on one definition of a *good* backup:

- the manifest is complete (``status == "complete"``) and sealed: ``manifest_sha256`` is the
  sha256 of its canonical JSON without that key, so a truncated or edited manifest is bad;
- every file it lists exists with the recorded size and sha256;
- a database backup is still listed by ``pgbackrest info`` under the same label, without error,
  and the last ``pgbackrest verify`` did not name it as invalid.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any

FORMAT = 1
KINDS = ("database", "config", "keys")
# pgbackrest info status codes that mean the stanza is usable: 0 ok, 2 no valid backups yet.
STANZA_OK = (0, 2)
SEAL = "manifest_sha256"
REQUIRED = {
    "database": (
        "id",
        "kind",
        "label",
        "type",
        "started_at",
        "finished_at",
        "pgbackrest",
        "restore_point",
        "tables",
        "files",
    ),
    "config": ("id", "kind", "started_at", "finished_at", "archive", "contents", "files"),
    "keys": ("id", "kind", "started_at", "finished_at", "archive", "contents", "files"),
}


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes the seal covers: sorted keys, no whitespace; the seal and ``_`` keys (added on load) left out."""
    body = {key: value for key, value in document.items() if key != SEAL and not key.startswith("_")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def seal(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the manifest with its seal (sha256 of the canonical JSON) set."""
    sealed = dict(document)
    sealed[SEAL] = hashlib.sha256(canonical(document)).hexdigest()
    return sealed


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: str, document: dict[str, Any], mode: int = 0o640) -> None:
    """Write JSON next to its destination, fsync, then rename: a reader sees all of it or nothing."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, sort_keys=True, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_manifests(folder: str) -> list[dict[str, Any]]:
    """Every ``*.json`` manifest in ``folder``; unreadable ones come back as ``{"id", "_error"}``."""
    found: list[dict[str, Any]] = []
    if not os.path.isdir(folder):
        return found
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json") or name.startswith("."):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path) as handle:
                document = json.load(handle)
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            document = {"id": name[:-5], "_error": f"unreadable manifest {path}: {exc}"}
        document["_path"] = path
        found.append(document)
    return found


def stanza_error(info: Any, stanza: str) -> str | None:
    """Why the stanza in ``pgbackrest info --output=json`` cannot be used, or None."""
    for entry in info or []:
        if entry.get("name") == stanza:
            status = entry.get("status") or {}
            if status.get("code") not in STANZA_OK:
                return f"stanza {stanza}: {status.get('message')} (code {status.get('code')})"
            return None
    return f"stanza {stanza} is not in the repository"


def pgbackrest_backups(info: Any, stanza: str) -> dict[str, dict[str, Any]]:
    """``{label: backup}`` from ``pgbackrest info --output=json`` for one stanza."""
    backups: dict[str, dict[str, Any]] = {}
    for entry in info or []:
        if entry.get("name") != stanza:
            continue
        for backup in entry.get("backup", []):
            backups[backup["label"]] = backup
    return backups


def problems(
    manifest: dict[str, Any],
    repo_backups: dict[str, dict[str, Any]] | None,
    invalid_labels: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """Why a manifest is not a good backup (an empty list means good).

    ``repo_backups`` is :func:`pgbackrest_backups`' result, or None when the repository could not
    be read (then no database backup can be called good)."""
    if "_error" in manifest:
        return [manifest["_error"]]
    found: list[str] = []
    if manifest.get("format") != FORMAT:
        found.append(f"manifest format {manifest.get('format')!r}, expected {FORMAT}")
    kind = manifest.get("kind")
    if kind not in KINDS:
        return [*found, f"unknown kind {kind!r}, expected one of {', '.join(KINDS)}"]
    if manifest.get("status") != "complete":
        reason = manifest.get("error") or "the run did not finish"
        found.append(f"status {manifest.get('status')!r}, not complete: {reason}")
    missing = [key for key in REQUIRED[kind] if manifest.get(key) in (None, "")]
    if missing:
        found.append("incomplete manifest, missing " + ", ".join(missing))
    found += _seal_problems(manifest) + _file_problems(manifest)
    if kind == "database" and not found:
        found += _repo_problems(manifest.get("label"), repo_backups, invalid_labels)
    return found


def _seal_problems(manifest: dict[str, Any]) -> list[str]:
    recorded = manifest.get(SEAL)
    if not recorded:
        return ["manifest is not sealed (no manifest_sha256)"]
    if recorded != hashlib.sha256(canonical(manifest)).hexdigest():
        return ["manifest_sha256 does not match its content (edited or truncated)"]
    return []


def _file_problems(manifest: dict[str, Any]) -> list[str]:
    found = []
    for item in manifest.get("files") or []:
        path = item.get("path", "")
        if not path or not os.path.isfile(path):
            found.append(f"missing file {path}")
            continue
        size = os.path.getsize(path)
        if item.get("size") is not None and size != item["size"]:
            found.append(f"{path}: size {size}, manifest says {item['size']}")
        elif item.get("sha256") and sha256_file(path) != item["sha256"]:
            found.append(f"{path}: sha256 differs from the manifest")
    return found


def _repo_problems(
    label: str | None, repo_backups: dict[str, dict[str, Any]] | None, invalid_labels: set[str] | frozenset[str]
) -> list[str]:
    if repo_backups is None:
        return ["the pgBackRest repository could not be read"]
    if label not in repo_backups:
        return [f"pgBackRest no longer lists backup {label} (expired or removed)"]
    if repo_backups[label].get("error"):
        return [f"pgBackRest flags backup {label} with errors"]
    if label in invalid_labels:
        return [f"the last pgbackrest verify found backup {label} invalid"]
    return []


def judge(
    manifests: list[dict[str, Any]],
    repo_backups: dict[str, dict[str, Any]] | None,
    invalid_labels: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """One summary per manifest, oldest first: id, kind, label, type, finished_at, good, problems."""
    rows = []
    for manifest in manifests:
        issues = problems(manifest, repo_backups, invalid_labels)
        rows.append(
            {
                "id": manifest.get("id"),
                "kind": manifest.get("kind"),
                "label": manifest.get("label"),
                "type": manifest.get("type"),
                "status": manifest.get("status"),
                "started_at": manifest.get("started_at"),
                "finished_at": manifest.get("finished_at"),
                "manifest": manifest.get("_path"),
                "good": not issues,
                "problems": issues,
            }
        )
    rows.sort(key=lambda row: (row["finished_at"] or row["started_at"] or "", row["id"] or ""))
    return rows


def latest_good(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``{kind: row}`` of the newest good backup of each kind."""
    latest: dict[str, Any] = {}
    for row in rows:
        if row["good"]:
            latest[row["kind"]] = row
    return latest


def select(rows: list[dict[str, Any]], kind: str, wanted: str | None) -> dict[str, Any]:
    """The good backup of ``kind`` whose id or label is ``wanted`` (newest good when None).

    Raises LookupError saying why none fits."""
    candidates = [row for row in rows if row["kind"] == kind]
    if wanted:
        named = [row for row in candidates if wanted in (row["id"], row["label"])]
        if not named:
            known = ", ".join(str(row["label"] or row["id"]) for row in candidates) or "none"
            raise LookupError(f"no {kind} backup named {wanted}; known: {known}")
        row = named[-1]
        if not row["good"]:
            raise LookupError(f"{kind} backup {wanted} is not good: " + "; ".join(row["problems"]))
        return row
    good = [row for row in candidates if row["good"]]
    if not good:
        bad = "; ".join(f"{row['id']}: {', '.join(row['problems'])}" for row in candidates) or "none taken"
        raise LookupError(f"no good {kind} backup ({bad})")
    return good[-1]
