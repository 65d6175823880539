#!/usr/bin/python
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Ansible module backup_info: list the backups of the mevops.infra.backup role and which are good."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_info
short_description: List database, config and keystore backups and say which are good
version_added: "0.1.0"
description:
  - Reads every manifest the C(mevops-backup) tool of the C(mevops.infra.backup) role wrote and
    C(pgbackrest info --output=json) for the stanza, and judges each backup. Only a backup whose
    manifest is complete, sealed (its C(manifest_sha256) matches its content), whose files exist
    with the recorded size and sha256, and - for a database backup - that pgBackRest still lists
    without error and that the last C(pgbackrest verify) did not name, counts as good.
  - With O(cipher_pass) the repository is read with that passphrase instead of the one in
    C(pgbackrest.conf) (C(PGBACKREST_REPO1_CIPHER_PASS)), so a restore can prove the passphrase it
    was given opens the repository before it touches anything; a wrong one fails the task.
  - Read-only; C(changed) is always false.
author:
  - mevops.infra developers (@mevops)
extends_documentation_fragment:
  - mevops.infra.attributes
  - mevops.infra.attributes.read_only
options:
  config:
    description: Settings file the role wrote.
    type: path
    default: /etc/mevops/backup.json
  kind:
    description: Only backups of this kind.
    type: str
    choices: [database, config, keys]
  label:
    description:
      - Select this backup (a pgBackRest label or a manifest id) into RV(selected); the task fails
        when it is unknown or not good. Without it RV(selected) is the newest good backup of O(kind).
    type: str
  cipher_pass:
    description:
      - Repository passphrase (from vault, never logged) to read pgBackRest with; the configured one when left out.
    type: str
  pgbackrest_user:
    description: OS user pgBackRest runs as (the repository's owner); the module uses C(runuser) to become it.
    type: str
    default: postgres
  require_repo:
    description: Fail when the pgBackRest repository cannot be read (wrong passphrase, missing stanza).
    type: bool
    default: true
  require_selected:
    description: Fail when O(kind) is given and no good backup fits (see O(label)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: List every backup with its verdict
  mevops.infra.backup_info:
  register: backups

- name: Prove the vault passphrase opens the repository and pick a backup by label
  mevops.infra.backup_info:
    kind: database
    label: 20261121-071502F
    cipher_pass: "{{ vault_backup_repo_cipher_pass }}"
    require_selected: true
  register: chosen
"""

RETURN = r"""
backups:
  description: One row per manifest, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: "Manifest id (C(database-<label>), C(config-<stamp>), C(keys-<stamp>)).", type: str}
    kind: {description: "C(database), C(config) or C(keys).", type: str}
    label: {description: pgBackRest backup label (database only)., type: str}
    type: {description: "C(full), C(diff) or C(incr) (database only).", type: str}
    status: {description: "C(complete), C(failed) or C(running), as the manifest says.", type: str}
    started_at: {description: UTC start., type: str}
    finished_at: {description: UTC end., type: str}
    manifest: {description: Manifest file on the host., type: str}
    good: {description: Whether the backup counts as good., type: bool}
    problems: {description: Why it is not good (empty when good)., type: list, elements: str}
latest_good:
  description: Newest good backup per kind (rows as in RV(backups)).
  returned: always
  type: dict
selected:
  description: The backup O(label) names, or the newest good one of O(kind); null when none fits.
  returned: always
  type: dict
selected_manifest:
  description: The full manifest of RV(selected) (positions, sizes, checksums, tables).
  returned: when a backup is selected
  type: dict
repository:
  description: Whether pgBackRest could be read, and its error when not.
  returned: always
  type: dict
"""

import json
import os
import pwd
import subprocess
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mevops.infra.plugins.module_utils import backup_manifest as bm


def read_repo(
    settings: dict[str, Any], cipher_pass: str | None, user: str = "postgres"
) -> tuple[dict[str, Any] | None, str | None]:
    argv = ["pgbackrest", f"--stanza={settings['stanza']}", "--output=json", "info"]
    if pwd.getpwuid(os.geteuid()).pw_name != user:
        argv = ["runuser", "-u", user, "--", *argv]
    env = dict(os.environ)
    if cipher_pass:
        env["PGBACKREST_REPO1_CIPHER_PASS"] = cipher_pass
    try:
        # argv is fixed here; only the stanza name comes from the role's settings file.
        result = subprocess.run(  # noqa: S603
            argv, check=False, capture_output=True, text=True, errors="replace", env=env, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"cannot run pgbackrest info: {exc}"
    if result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
        return None, (
            f"pgbackrest info failed (exit {result.returncode}): {' | '.join(detail)}; "
            "a wrong repository passphrase shows up here"
        )
    try:
        info = json.loads(result.stdout)
    except ValueError as exc:
        return None, f"pgbackrest info printed no valid JSON ({exc}): a wrong repository passphrase does this"
    error = bm.stanza_error(info, settings["stanza"])
    if error:
        return None, error
    return bm.pgbackrest_backups(info, settings["stanza"]), None


def invalid_labels(settings: dict[str, Any]) -> set[str]:
    try:
        with open(os.path.join(settings["state_dir"], "verify.json")) as handle:
            return set(json.load(handle).get("invalid_labels", []))
    except (OSError, ValueError):
        return set()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "config": {"type": "path", "default": "/etc/mevops/backup.json"},
            "kind": {"type": "str", "choices": list(bm.KINDS)},
            "label": {"type": "str"},
            "cipher_pass": {"type": "str", "no_log": True},
            "pgbackrest_user": {"type": "str", "default": "postgres"},
            "require_repo": {"type": "bool", "default": True},
            "require_selected": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        with open(params["config"]) as handle:
            settings = json.load(handle)
    except (OSError, ValueError) as exc:
        module.fail_json(
            msg=f"cannot read {params['config']} ({exc}); has the mevops.infra.backup role run on this host?"
        )
    repo, repo_error = read_repo(settings, params["cipher_pass"], params["pgbackrest_user"])
    result: dict[str, Any] = {"changed": False, "repository": {"readable": repo is not None, "error": repo_error}}
    if repo is None and params["require_repo"]:
        module.fail_json(msg=f"the pgBackRest repository cannot be read: {repo_error}", **result)
    rows = bm.judge(bm.load_manifests(settings["manifest_dir"]), repo, invalid_labels(settings))
    if params["kind"]:
        rows = [row for row in rows if row["kind"] == params["kind"]]
    result.update(backups=rows, latest_good=bm.latest_good(rows), selected=None)
    kind = params["kind"] or ("database" if params["label"] else None)
    if kind:
        try:
            selected = bm.select(rows, kind, params["label"])
        except LookupError as exc:
            if params["require_selected"] or params["label"]:
                module.fail_json(msg=str(exc), **result)
        else:
            with open(selected["manifest"]) as handle:
                manifest = json.load(handle)
            result.update(selected=selected, selected_manifest=manifest)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
