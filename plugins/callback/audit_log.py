# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Audit trail of the desk's dangerous playbooks: one JSON line when a run starts and one when
it ends, appended to a file on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: audit_log
type: notification
short_description: Append who ran which emergency, rotation, restore or maintenance playbook to a JSON-lines file
version_added: 0.1.0
author:
  - mevops.infra developers (@mevops)
description:
  - Every run of an audited playbook (O(playbooks)) appends two JSON lines to O(path) on the
    controller, linked by the same C(run_id). The C(start) line is written before the first task,
    so a run that is interrupted (Ctrl-C, a killed controller, a lost SSH session) still leaves a
    trace; the C(end) line carries the outcome.
  - "Both lines hold: C(event) (V(start) or V(end)), C(time) (UTC, ISO 8601), C(run_id), C(operator),
    C(controller_user), C(controller_host), C(playbook) (the audited playbook's path), C(playbooks)
    (every playbook of this C(ansible-playbook) invocation), C(tags), C(skip_tags), C(check_mode),
    C(diff), C(limit), C(inventory) (the inventory sources), C(extra_vars) (the names of the extra
    variables, never their values)."
  - "The C(end) line adds C(duration_s), C(status) (V(ok), or V(failed) when any host failed or was
    unreachable) and C(hosts): per host the counts C(ok), C(changed), C(failed), C(unreachable),
    C(skipped), C(rescued), C(ignored) from the play recap, and the names of the tasks that changed
    (C(changed_tasks)) or failed (C(failed_tasks), including failures a C(rescue) section handled) on that host."
  - It never writes task results, extra-variable values or vaulted values, only names and counts;
    results and variables can carry keys and passwords. Task names are written as Ansible
    displays them, so keep secrets out of task names (as the default output already requires).
  - The operator is O(operator) when set, else C(SUDO_USER) (the person behind C(sudo)), else the
    controller account running Ansible; C(controller_user) always records that account.
  - Lines are appended with C(O_APPEND), one C(write(2)) per line, under an exclusive C(flock(2))
    on the file, so concurrent runs on one controller never interleave. A missing file is created
    with mode C(0600), a missing parent folder with mode C(0700). An existing file keeps its mode;
    pre-create it (for example C(0660) with a group) when several operators share one audit file.
  - The plugin never fails a run. When the audit file cannot be written, it prints a warning naming
    the file and the error at that moment and again under the play recap, and the playbook goes on,
    an audit failure must not abort an emergency stop.
  - It is not enabled by default. Enable it in C(ansible.cfg) with
    C(callbacks_enabled = mevops.infra.audit_log) under C([defaults]), or for one shell with
    C(ANSIBLE_CALLBACKS_ENABLED=mevops.infra.audit_log).
requirements:
  - a POSIX controller (C(fcntl.flock))
options:
  path:
    description:
      - The JSON-lines audit file on the controller. C(~) is expanded.
      - The default is per controller account and needs no setup. On a shared bastion, point every
        operator at one file, for example C(/var/log/mevops/audit.jsonl), created beforehand with a
        mode and group that let them all append.
    type: path
    default: ~/.ansible/mevops-audit.jsonl
    env:
      - name: MEVOPS_AUDIT_LOG_PATH
    ini:
      - section: callback_audit_log
        key: path
  playbooks:
    description:
      - The playbooks to audit, as shell-style patterns (C(fnmatch)) matched against the playbook's
        file name with and without its C(.yml)/C(.yaml) suffix, for example V(emergency),
        V(rotate_*) or V(restore.yml). A collection playbook run by FQCN
        (C(mevops.infra.emergency)) matches by its file name (V(emergency)).
      - V(*) audits every playbook.
      - An invocation running several playbooks is audited once, from the first playbook that
        matches.
    type: list
    elements: str
    default:
      - emergency
      - rotate_keys
      - restore
      - restore_drill
      - maintenance
      - upgrade_engine
      - backup
    env:
      - name: MEVOPS_AUDIT_LOG_PLAYBOOKS
    ini:
      - section: callback_audit_log
        key: playbooks
  operator:
    description:
      - Who to record as the operator, for runs started by automation (a CI job, a chat bot) on
        someone's behalf. Unset, the operator is C(SUDO_USER) or the controller account.
    type: str
    env:
      - name: ANSIBLE_AUDIT_OPERATOR
notes:
  - "Read the trail with C(jq), for example the failed runs:
    C(jq -c 'select(.event == \"end\" and .status == \"failed\")' ~/.ansible/mevops-audit.jsonl);
    a C(start) line without an C(end) line of the same C(run_id) is a run that was interrupted."
"""

EXAMPLES = r"""
# ansible.cfg on the operators' controller
# [defaults]
# callbacks_enabled = mevops.infra.audit_log
#
# [callback_audit_log]
# path = /var/log/mevops/audit.jsonl
# playbooks = emergency, rotate_keys, restore*, maintenance, upgrade_engine, backup

# Or for one run, from a CI job acting for someone:
# ANSIBLE_CALLBACKS_ENABLED=mevops.infra.audit_log ANSIBLE_AUDIT_OPERATOR=alice \
#   ansible-playbook mevops.infra.emergency -i inventories/production --tags stop_trading

# A start line (one line in the file; wrapped here):
# {"event": "start", "time": "2026-11-21T06:20:01.123456+00:00", "run_id": "5f0c...", "operator": "alice",
#  "controller_user": "ci", "controller_host": "bastion-1", "playbook": ".../playbooks/emergency.yml",
#  "playbooks": [".../playbooks/emergency.yml"], "tags": ["stop_trading"], "skip_tags": [],
#  "check_mode": false, "diff": false, "limit": null, "inventory": ["inventories/production"],
#  "extra_vars": ["emergency_reason"]}
# Its end line adds:
#  "duration_s": 2.41, "status": "ok",
#  "hosts": {"engine-1": {"ok": 5, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 2,
#            "rescued": 0, "ignored": 0, "changed_tasks": ["Stop trading through the engine API"],
#            "failed_tasks": []}}
"""

import datetime
import fcntl
import fnmatch
import getpass
import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from ansible import context
from ansible.plugins.callback import CallbackBase

_SUFFIXES = (".yml", ".yaml")


def playbook_matches(path: str, patterns: list[str]) -> bool:
    """Whether the playbook at `path` matches one of `patterns` (by file name, with or without suffix)."""
    name = os.path.basename(path)
    stem = name
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
    return any(fnmatch.fnmatchcase(candidate, pattern) for pattern in patterns for candidate in (name, stem))


def controller_user() -> str:
    """The account running Ansible on the controller, even without a passwd entry."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def append_line(path: str, record: dict[str, Any]) -> None:
    """Append `record` as one JSON line: O_APPEND, a single write under an exclusive flock.

    Creates the file 0600 and its parent folder 0700 when missing; raises OSError on failure.
    """
    data = (json.dumps(record, sort_keys=False, default=str) + "\n").encode("utf-8")
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        written = os.write(fd, data)
        # A regular file takes the whole buffer in one write; finish a short write rather than lose the tail.
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock


class CallbackModule(CallbackBase):
    """Audit log of emergency, rotation, restore and maintenance runs (see DOCUMENTATION)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "mevops.infra.audit_log"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: Any = None) -> None:
        super().__init__(display=display)
        self._run_id = uuid.uuid4().hex
        self._playbooks: list[str] = []
        self._audited: str | None = None
        self._extra_var_names: list[str] = []
        self._started = 0.0
        self._changed: dict[str, list[str]] = {}
        self._failed: dict[str, list[str]] = {}
        self._errors: list[str] = []

    # --- what is recorded -------------------------------------------------------------------

    def _operator(self) -> str:
        return self.get_option("operator") or os.environ.get("SUDO_USER") or controller_user()

    def _common(self, event: str) -> dict[str, Any]:
        args = context.CLIARGS
        return {
            "event": event,
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "run_id": self._run_id,
            "operator": self._operator(),
            "controller_user": controller_user(),
            "controller_host": socket.gethostname(),
            "playbook": self._audited,
            "playbooks": list(self._playbooks),
            "tags": sorted(args.get("tags") or []),
            "skip_tags": sorted(args.get("skip_tags") or []),
            "check_mode": bool(args.get("check")),
            "diff": bool(args.get("diff")),
            "limit": args.get("subset"),
            "inventory": list(args.get("inventory") or []),
            "extra_vars": list(self._extra_var_names),
        }

    def _write(self, record: dict[str, Any]) -> None:
        path = str(Path(self.get_option("path")).expanduser())
        try:
            append_line(path, record)
        except Exception as exc:  # an audit failure must never abort the run, whatever it is
            message = (
                f"AUDIT LOG NOT WRITTEN: the {record['event']} record of run {self._run_id} could not be "
                f"appended to {path} ({type(exc).__name__}: {exc}). This run is missing from the audit trail: "
                "fix the file or set MEVOPS_AUDIT_LOG_PATH, and record the run by hand."
            )
            self._errors.append(message)
            self._display.warning(message)

    # --- callback events --------------------------------------------------------------------

    def v2_playbook_on_start(self, playbook: Any) -> None:
        path = os.path.abspath(str(playbook._file_name))
        self._playbooks.append(path)
        if self._audited is not None or not playbook_matches(path, list(self.get_option("playbooks") or [])):
            return
        self._audited = path
        self._started = time.monotonic()
        self._extra_var_names = self._extra_vars_of(playbook)
        self._write(self._common("start"))

    @staticmethod
    def _extra_vars_of(playbook: Any) -> list[str]:
        """Names of the extra variables, from the variable manager that already parsed them (vault included)."""
        for play in playbook.get_plays():
            manager = play.get_variable_manager()
            if manager is not None:
                return sorted(str(name) for name in manager.extra_vars)
        return []

    def _task_name(self, result: Any) -> tuple[str, str]:
        host = getattr(result, "host", None) or result._host
        task = getattr(result, "task", None) or result._task
        return host.get_name(), str(task.get_name())

    def v2_runner_on_ok(self, result: Any) -> None:
        if self._audited is not None and result.is_changed():
            host, task = self._task_name(result)
            self._changed.setdefault(host, []).append(task)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        if self._audited is None:
            return
        host, task = self._task_name(result)
        if not ignore_errors:
            self._failed.setdefault(host, []).append(task)
        elif result.is_changed():
            # As the recap counts it: a failure counts as a change only when it is ignored.
            self._changed.setdefault(host, []).append(task)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if self._audited is None:
            return
        hosts: dict[str, dict[str, Any]] = {}
        for host in sorted(stats.processed):
            summary = stats.summarize(host)
            hosts[host] = {
                "ok": summary["ok"],
                "changed": summary["changed"],
                "failed": summary["failures"],
                "unreachable": summary["unreachable"],
                "skipped": summary["skipped"],
                "rescued": summary["rescued"],
                "ignored": summary["ignored"],
                "changed_tasks": self._changed.get(host, []),
                "failed_tasks": self._failed.get(host, []),
            }
        failed = any(h["failed"] or h["unreachable"] for h in hosts.values())
        record = self._common("end")
        record.update(
            duration_s=round(time.monotonic() - self._started, 3),
            status="failed" if failed else "ok",
            hosts=hosts,
        )
        self._write(record)
        if self._errors:
            # Repeated under the recap, where an operator reads last, not only among the task output.
            self._display.warning(
                f"AUDIT LOG INCOMPLETE: {len(self._errors)} record(s) of run {self._run_id} "
                f"({self._audited}) were not written to the audit file; see the warnings above."
            )
