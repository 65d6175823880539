#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sysfs_attribute
short_description: Read or write sysfs and procfs attributes
version_added: 0.1.0
author:
  - mevops.infra developers (@mevops)
description:
  - Reads one attribute file under C(/sys) or C(/proc) and, when O(value) is given, writes it unless
    the kernel already holds that value.
  - Understands the C(none [mq-deadline] kyber) format of I/O scheduler and transparent hugepage files
    (selection files). It compares O(value) with the bracketed item and only writes items the file offers.
  - Plain files are compared after collapsing whitespace, so V(4096 87380 6291456) matches the
    tab-separated value the kernel shows for C(net.ipv4.tcp_rmem).
  - After a write the attribute is read back; the task fails, naming the expected and the found value,
    when the kernel did not take the value.
  - sysfs and procfs attributes cannot be replaced by a temporary file renamed over them, so the value
    is written in place with a single C(write(2)), as C(echo value > attribute) does. This is why this
    module does not use C(atomic_move).
  - Changes apply to the running kernel only; persist them separately (C(sysctl.d), udev rules,
    the kernel command line).
  - O(attributes) handles many attributes in one task (one round trip to the host instead of one per
    attribute), for example every sysctl of a tuning profile.
extends_documentation_fragment:
  - mevops.infra.attributes
attributes:
  check_mode:
    support: full
    details:
      - Whether the attribute is writable is predicted from its permission bits and the read-only flag
        of its file system; the real run relies on the kernel's answer to the write.
  diff_mode:
    support: full
  platform:
    platforms: linux
options:
  path:
    description:
      - Absolute path of the attribute, under C(/sys) or C(/proc), for example
        C(/sys/block/nvme0n1/queue/scheduler) or C(/proc/sys/net/ipv4/tcp_rmem).
      - Symbolic links are followed, but their target must also be under C(/sys) or C(/proc).
      - Required unless O(attributes) is given.
    type: path
  attributes:
    description:
      - Several attributes in one task, each a dict with C(path), C(value) and optionally
        C(allowed_values) and C(label) (a name returned with its result, such as the sysctl name).
      - O(missing), O(readonly), O(verify) and O(root) apply to each. Results come back in RV(attributes).
      - Every item's value is checked before any attribute is written; a write that fails stops the
        task, naming the attribute, with the results so far.
    type: list
    elements: dict
    suboptions:
      path:
        description: Absolute path of the attribute, as O(path).
        type: path
        required: true
      value:
        description: The value the attribute should hold, as O(value).
        type: str
        required: true
      allowed_values:
        description: Values O(attributes[].value) may take, as O(allowed_values).
        type: list
        elements: str
      label:
        description: A name returned with this attribute's result, such as the sysctl name.
        type: str
  value:
    description:
      - The value the attribute should hold. Surrounding whitespace is ignored.
      - For selection files, one of the items the file offers. On I/O scheduler files, V(noop) and
        V(deadline) are accepted for kernels that offer only V(none) and V(mq-deadline), with a warning.
      - Omit to only read the attribute; the task then never reports a change.
    type: str
  allowed_values:
    description:
      - When set, O(value) must be one of these (compared after collapsing whitespace). Checked before
        the attribute is read, so a typo in an inventory fails on every host alike.
      - Requires O(value).
    type: list
    elements: str
  missing:
    description:
      - What to do when O(path) does not exist, for example no such block device, or no cpufreq on a VM.
      - V(fail) fails the task.
      - V(skip) returns RV(changed=false) and RV(status=missing).
    type: str
    choices: [fail, skip]
    default: fail
  readonly:
    description:
      - What to do when the attribute needs a change but cannot be written here. That is a read-only
        file system (EROFS, such as C(/proc/sys) inside a container), an attribute without write
        permission (EACCES), or an operation not permitted in this namespace (EPERM).
      - V(fail) fails the task.
      - V(skip) returns RV(changed=false), RV(status=unsupported) and the reason in RV(msg).
      - Other write errors, such as the kernel rejecting the value (EINVAL), always fail.
    type: str
    choices: [fail, skip]
    default: fail
  verify:
    description:
      - Read the attribute back after writing and fail when the kernel holds something else.
      - V(false) accepts what the kernel took instead and returns it as RV(value), for attributes the kernel
        may legitimately satisfy only in part (C(nr_hugepages) on fragmented memory).
    type: bool
    default: true
  root:
    description:
      - Directory under which C(/sys) and C(/proc) are looked up. O(path) is still given as the host
        sees it (C(/sys/...)); the module opens the same path below O(root).
      - For tests against fake trees and for chroots; leave the default on real hosts.
    type: path
    default: /
notes:
  - Attributes that cannot be read (write-only triggers such as C(/proc/sys/vm/drop_caches)) are not
    supported, because the module reads before it writes.
seealso:
  - module: ansible.posix.sysctl
    description: Persists sysctl settings in C(sysctl.d); use it for settings that must survive a reboot.
"""

EXAMPLES = r"""
---
- name: Set the NVMe I/O scheduler to none
  mevops.infra.sysfs_attribute:
    path: /sys/block/nvme0n1/queue/scheduler
    value: none
    missing: skip

- name: Set transparent hugepages to madvise
  mevops.infra.sysfs_attribute:
    path: /sys/kernel/mm/transparent_hugepage/enabled
    value: madvise

- name: Set the CPU frequency governor of cpu0 to performance
  mevops.infra.sysfs_attribute:
    path: /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor
    value: performance
    allowed_values: [performance, powersave, schedutil, ondemand]
    # No cpufreq on most virtual machines.
    missing: skip

- name: Set the TCP receive buffers where /proc/sys is writable
  mevops.infra.sysfs_attribute:
    path: /proc/sys/net/ipv4/tcp_rmem
    value: "4096 87380 6291456"
    readonly: skip

- name: Read the I/O scheduler of sda
  mevops.infra.sysfs_attribute:
    path: /sys/block/sda/queue/scheduler
  register: sda_scheduler

- name: Show the scheduler of sda and what it offers
  ansible.builtin.debug:
    msg: "{{ sda_scheduler.value }} (offered: {{ sda_scheduler.options | join(', ') }})"
"""

RETURN = r"""
---
attribute:
  description:
    - The attribute's path as given, normalized (without O(root)).
    - Named C(attribute), not C(path), because Ansible adds file facts (and overwrites C(state))
      in any result carrying C(path).
  returned: always
  type: str
  sample: /sys/block/nvme0n1/queue/scheduler
value:
  description:
    - The effective value after the task, in check mode the value the attribute would hold.
    - For selection files the selected item, for plain files the content without surrounding whitespace.
    - V(null) when the attribute is missing.
  returned: always
  type: str
  sample: none
previous:
  description: The effective value before the task. V(null) when the attribute is missing.
  returned: always
  type: str
  sample: mq-deadline
options:
  description: The items a selection file offers, in the file's order. Empty for plain and missing files.
  returned: always
  type: list
  elements: str
  sample: [none, mq-deadline, kyber, bfq]
status:
  description:
    - V(present) the attribute exists; when O(value) was given it holds that value (in check mode, would hold it).
    - V(missing) the attribute does not exist and O(missing=skip).
    - V(unsupported) the attribute needs a change but cannot be written here and O(readonly=skip).
  returned: always
  type: str
  choices: [present, missing, unsupported]
  sample: present
attributes:
  description:
    - With O(attributes), one result per item in the given order, each with the keys RV(attribute),
      RV(status), RV(value), RV(previous), RV(options), RV(changed), RV(msg), the item's C(label) and its
      value as asked in C(wanted).
    - The top-level RV(changed) is true when any item changed; the other top-level keys are absent.
  returned: when O(attributes) is given
  type: list
  elements: dict
  sample:
    - attribute: /proc/sys/vm/swappiness
      label: vm.swappiness
      wanted: "1"
      status: present
      value: "1"
      previous: "60"
      options: []
      changed: true
      msg: changed /proc/sys/vm/swappiness from '60' to '1'
changed:
  description: Whether the attribute was written (in check mode, would be written).
  returned: always
  type: bool
  sample: true
msg:
  description: What happened, in words; for V(missing) and V(unsupported) the reason.
  returned: always
  type: str
  sample: >-
    cannot write /proc/sys/net/core/somaxconn: the file system holding it is mounted read-only
    (as /proc/sys is inside containers) (EROFS)
diff:
  description: Effective value before and after, each followed by a newline, headed by RV(attribute).
  returned: when changed and in diff mode
  type: dict
  sample:
    before: "mq-deadline\n"
    after: "none\n"
    before_header: /sys/block/nvme0n1/queue/scheduler
    after_header: /sys/block/nvme0n1/queue/scheduler
"""

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mevops.infra.plugins.module_utils.sysfs import (
    AttributeState,
    AttributeWriteError,
    is_scheduler_path,
    normalize,
    predicted_write_error,
    read_attribute,
    resolve_scheduler_alias,
    write_attribute,
)

ALLOWED_TOPS = ("/sys", "/proc")

ARGUMENT_SPEC: dict[str, Any] = {
    "path": {"type": "path"},
    "attributes": {
        "type": "list",
        "elements": "dict",
        "options": {
            "path": {"type": "path", "required": True},
            "value": {"type": "str", "required": True},
            "allowed_values": {"type": "list", "elements": "str"},
            "label": {"type": "str"},
        },
    },
    "value": {"type": "str"},
    "allowed_values": {"type": "list", "elements": "str"},
    "missing": {"type": "str", "choices": ["fail", "skip"], "default": "fail"},
    "readonly": {"type": "str", "choices": ["fail", "skip"], "default": "fail"},
    "root": {"type": "path", "default": "/"},
    "verify": {"type": "bool", "default": True},
}


class TaskFailure(Exception):
    """The task must fail: ``msg`` for the operator, ``result`` for the returned keys."""

    def __init__(self, msg: str, **result: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result = result


@dataclass
class Outcome:
    """A finished task: the returned keys and what diff mode shows."""

    path: str
    state: str
    value: str | None
    previous: str | None
    msg: str
    options: list[str] = field(default_factory=list)
    changed: bool = False

    def result(self, diff: bool) -> dict[str, Any]:
        keys: dict[str, Any] = {
            "attribute": self.path,
            "status": self.state,
            "value": self.value,
            "previous": self.previous,
            "options": list(self.options),
            "changed": self.changed,
            "msg": self.msg,
        }
        if diff and self.changed:
            keys["diff"] = {
                "before": f"{self.previous}\n",
                "after": f"{self.value}\n",
                "before_header": self.path,
                "after_header": self.path,
            }
        return keys


@dataclass(frozen=True)
class Request:
    """The module's parameters, checked."""

    path: str
    disk_path: str
    value: str | None
    missing: str
    readonly: str
    verify: bool = True


def _is_under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _under_allowed_top(path: str, root: str) -> bool:
    return any(_is_under(path, os.path.join(root, top.lstrip("/"))) for top in ALLOWED_TOPS)


def resolve_path(path: str, root: str) -> tuple[str, str]:
    """Return (path normalized, file to open under root); refuse anything outside /sys and /proc."""
    if not os.path.isabs(path):
        raise TaskFailure(f"path must be absolute and under /sys or /proc, got {path!r}", path=path)
    normalized = "/" + os.path.normpath(path).lstrip("/")
    if not _under_allowed_top(normalized, "/"):
        raise TaskFailure(
            f"path must be under /sys or /proc, got {path!r} (resolves to {normalized}); "
            "this module only manages kernel attributes, use ansible.builtin.copy for other files",
            path=path,
        )
    if not os.path.isdir(root):
        raise TaskFailure(f"root must be a directory holding sys/ and proc/ (default /), got {root!r}", path=normalized)
    real_root = os.path.realpath(root)
    disk_path = os.path.join(real_root, normalized.lstrip("/"))
    target = os.path.realpath(disk_path)
    if not _under_allowed_top(target, real_root):
        raise TaskFailure(
            f"{disk_path} is a symbolic link to {target}, which is outside /sys and /proc; "
            "give the path of a kernel attribute",
            path=normalized,
        )
    return normalized, disk_path


def check_value(value: str | None, allowed_values: list[str] | None) -> None:
    """Fail on an empty value or one not in allowed_values, before touching the host."""
    if value is None:
        return
    if not value.strip():
        raise TaskFailure("value must not be empty; omit value to only read the attribute")
    if allowed_values is not None and normalize(value) not in {normalize(item) for item in allowed_values}:
        raise TaskFailure(f"value {value!r} is not allowed; expected one of: {', '.join(allowed_values)}")


def build_request(params: dict[str, Any]) -> Request:
    """Check the parameters and locate the attribute; raises TaskFailure on bad input."""
    check_value(params["value"], params["allowed_values"])
    path, disk_path = resolve_path(params["path"], params["root"])
    return Request(path, disk_path, params["value"], params["missing"], params["readonly"], params["verify"])


def desired_value(state: AttributeState, value: str, warn: Callable[[str], None]) -> str:
    """The value to write, scheduler aliases applied (with a warning); fail when a selection file does not offer it."""
    wanted = value.strip()
    if not state.is_selection:
        return wanted
    if is_scheduler_path(state.path):
        wanted, warning = resolve_scheduler_alias(wanted, state.options, state.path)
        if warning:
            warn(warning)
    if wanted not in state.options:
        raise TaskFailure(_not_offered_message(state, value), previous=state.value, options=state.options)
    return wanted


def _not_offered_message(state: AttributeState, value: str) -> str:
    hint = ""
    if is_scheduler_path(state.path):
        hint = " A scheduler built as a kernel module (bfq, kyber) is offered once loaded: modprobe <name>."
    return (
        f"{state.path} does not offer {value.strip()!r}; it offers: {', '.join(state.options)} "
        f"(selected: {state.value}). Choose one of the offered values.{hint}"
    )


def holds(state: AttributeState, wanted: str) -> bool:
    """True when the attribute's effective value is ``wanted``."""
    if state.value is None:
        return False
    if state.is_selection:
        return state.value == wanted
    return normalize(state.value) == normalize(wanted)


def missing_outcome(request: Request) -> Outcome:
    """Apply `missing`: fail, or skip with state=missing."""
    reason = f"{request.disk_path} does not exist (no such device, or a knob this kernel does not have)"
    if request.missing == "fail":
        raise TaskFailure(f"{reason}; expected an existing attribute. Set missing: skip to tolerate this.")
    return Outcome(request.path, "missing", None, None, f"{reason}; skipped")


def unsupported_outcome(request: Request, before: AttributeState, reason: str) -> Outcome:
    """Apply `readonly`: fail, or skip with state=unsupported and the reason as msg."""
    if request.readonly == "fail":
        raise TaskFailure(
            f"{reason}. Set readonly: skip to report the attribute as unsupported instead of failing.",
            previous=before.value,
            options=before.options,
        )
    return Outcome(request.path, "unsupported", before.value, before.value, reason, before.options)


def write_and_verify(request: Request, before: AttributeState, wanted: str) -> Outcome:
    """Write ``wanted``, read it back, and fail when the kernel reports something else."""
    try:
        write_attribute(request.disk_path, wanted)
    except AttributeWriteError as exc:
        if exc.read_only:
            return unsupported_outcome(request, before, exc.message)
        if exc.errno == errno.ENOENT:  # the device went away between the read and the write
            return missing_outcome(request)
        raise TaskFailure(exc.message, previous=before.value, options=before.options) from exc
    after = read_attribute(request.disk_path)
    if not request.verify and not holds(after, wanted):
        changed = after.value is None or normalize(after.value) != normalize(before.value or "")
        msg = f"wrote {wanted!r} to {request.path}; the kernel holds {after.value!r} (verify: false)"
        return Outcome(request.path, "present", after.value, before.value, msg, after.options, changed=changed)
    if not holds(after, wanted):
        found = repr(after.value) if after.readable else f"nothing readable ({after.error or 'the attribute is gone'})"
        raise TaskFailure(
            f"wrote {wanted!r} to {request.disk_path} but the kernel reports {found}; expected {wanted!r}. "
            "The kernel may round, clamp or ignore this value on this host: set the value it reports, "
            "or look for the reason in dmesg.",
            changed=after.value is None or normalize(after.value) != normalize(before.value or ""),
            previous=before.value,
            value=after.value,
            expected=wanted,
        )
    msg = f"changed {request.path} from {before.value!r} to {after.value!r}"
    return Outcome(request.path, "present", after.value, before.value, msg, after.options, changed=True)


def run(params: dict[str, Any], check_mode: bool, warn: Callable[[str], None]) -> Outcome:
    """Read the attribute, then write it when a value is wanted and differs (not in check mode)."""
    request = build_request(params)
    before = read_attribute(request.disk_path)
    if not before.exists:
        return missing_outcome(request)
    if not before.readable or before.value is None:
        raise TaskFailure(
            f"cannot read {request.disk_path}: {before.error}. This module reads an attribute before "
            "writing it, so write-only attributes are not supported."
        )
    if request.value is None:
        return Outcome(request.path, "present", before.value, before.value, f"read {request.path}", before.options)
    wanted = desired_value(before, request.value, warn)
    if holds(before, wanted):
        msg = f"{request.path} already holds {wanted!r}"
        return Outcome(request.path, "present", before.value, before.value, msg, before.options)
    if not check_mode:
        return write_and_verify(request, before, wanted)
    if not before.writable:
        # The same reason as the real run where it shows without writing (a read-only mount).
        predicted = predicted_write_error(request.disk_path, wanted)
        reason = predicted.message if predicted else f"cannot write {request.disk_path}: it is read-only here"
        if not predicted:
            reason += " (read-only file system or no write permission)"
        return unsupported_outcome(request, before, reason)
    msg = f"would change {request.path} from {before.value!r} to {wanted!r}"
    return Outcome(request.path, "present", wanted, before.value, msg, before.options, changed=True)


def run_many(params: dict[str, Any], check_mode: bool, warn: Callable[[str], None]) -> dict[str, Any]:
    """Apply every item of ``attributes``; values are checked for all before anything is written."""
    items = params["attributes"]
    for item in items:
        try:
            check_value(item["value"], item["allowed_values"])
        except TaskFailure as exc:
            raise TaskFailure(f"{item['path']}: {exc.msg}", attribute=item["path"]) from exc
    results: list[dict[str, Any]] = []
    before: list[str] = []
    after: list[str] = []
    for item in items:
        single = dict(params, path=item["path"], value=item["value"], allowed_values=item["allowed_values"])
        try:
            outcome = run(single, check_mode, warn)
        except TaskFailure as exc:
            failed = {**exc.result, "attributes": results}
            failed["changed"] = bool(exc.result.get("changed")) or any(r["changed"] for r in results)
            raise TaskFailure(f"{item['path']}: {exc.msg}", **failed) from exc
        result = outcome.result(diff=False)
        result["label"] = item["label"]
        result["wanted"] = item["value"]
        results.append(result)
        if outcome.changed:
            before.append(f"{outcome.path} = {outcome.previous}")
            after.append(f"{outcome.path} = {outcome.value}")
    changed = any(r["changed"] for r in results)
    out: dict[str, Any] = {"changed": changed, "attributes": results}
    if changed:
        out["diff"] = {
            "before": "".join(f"{line}\n" for line in before),
            "after": "".join(f"{line}\n" for line in after),
        }
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        required_by={"allowed_values": "value"},
        required_one_of=[("path", "attributes")],
        mutually_exclusive=[("path", "attributes"), ("value", "attributes"), ("allowed_values", "attributes")],
    )
    try:
        if module.params["attributes"] is not None:
            result = run_many(module.params, module.check_mode, module.warn)
            if not module._diff:
                result.pop("diff", None)
            module.exit_json(**result)
            return
        outcome = run(module.params, module.check_mode, module.warn)
    except TaskFailure as exc:
        result = {"attribute": module.params["path"], "changed": False}
        result.update(exc.result)
        module.fail_json(msg=exc.msg, **result)
        return
    module.exit_json(**outcome.result(module._diff))


if __name__ == "__main__":
    main()
