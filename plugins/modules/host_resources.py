#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_resources
short_description: Report CPU, memory, disk, load and top processes against thresholds
version_added: 0.1.0
author:
  - mevops.infra developers (@mevops)
description:
  - Samples the host's CPU use, memory and swap, disk and inode use per mount, load averages and
    the processes using the most CPU and memory, with psutil, and compares them with warning and
    critical thresholds.
  - Replaces the runbooks' morning checklist commands C(df -h | grep -E "/$|/data"), C(free -h) and
    C(top -bn1 | head -20), with the alert levels of the runbooks (memory, CPU and disk, warning
    at 80 %, critical at 90 %).
  - A value B(at or above) a threshold reaches it. A threshold of V(0) therefore always reports.
  - Exceeded thresholds never fail the task. They come back as RV(findings) and an overall
    RV(status); the caller (the health check playbook) decides what to do with them. The task fails
    only on invalid options, a missing mount (unless O(missing_mounts=skip)) or missing psutil.
  - Read-only; C(changed) is always false.
extends_documentation_fragment:
  - mevops.infra.attributes
  - mevops.infra.attributes.read_only
attributes:
  platform:
    platforms: linux
requirements:
  - psutil on the managed host (Debian package C(python3-psutil)). The module fails with an
    instruction to install it when it is missing.
options:
  mounts:
    description:
      - Paths whose file systems are reported; a path need not be a mount point itself (C(/data)
        on the root file system reports the root file system's figures under C(/data)).
      - Default C(/), plus C(/data) when it exists on the host, as the runbooks' C(df -h | grep -E "/$|/data").
    type: list
    elements: path
  missing_mounts:
    description:
      - What to do with a path in O(mounts) that does not exist.
      - V(fail) fails the task, naming the path.
      - V(skip) leaves it out of RV(disks) and lists it in RV(skipped_mounts).
    type: str
    choices: [fail, skip]
    default: fail
  cpu_sample_seconds:
    description:
      - How long CPU use is measured, for the host (RV(cpu)) and for each process (RV(top_cpu)) over
        the same interval. The task takes at least this long.
      - Between V(0.05) and V(60).
    type: float
    default: 0.5
  warning:
    description:
      - Warning thresholds. Keys not given keep their defaults.
    type: dict
    suboptions:
      cpu:
        description: CPU busy, percent of all CPUs over O(cpu_sample_seconds), 0-100.
        type: float
        default: 80
      memory:
        description:
          - Memory used, percent, 0-100, counted as C(1 - available / total) like C(free)'s
            C(available) column and the C(HostHighMemory) alert.
        type: float
        default: 80
      disk:
        description:
          - Disk used, percent, 0-100, as C(df)'s C(Use%) (C(used / (used + available)), so
            root-reserved blocks do not count as free). Also applied to inode use.
        type: float
        default: 80
      load_per_cpu:
        description:
          - Load average (of the O(load_window)) divided by the number of logical CPUs, 0 or more.
          - V(1.0) means on average one runnable task per CPU, a saturated host.
        type: float
        default: 1.0
  critical:
    description:
      - Critical thresholds, same keys as O(warning); defaults V(cpu=90), V(memory=90), V(disk=90),
        V(load_per_cpu=2.0). Each must be at least the matching O(warning) threshold.
    type: dict
    suboptions:
      cpu:
        description: CPU busy, percent, 0-100.
        type: float
        default: 90
      memory:
        description: Memory used, percent, 0-100.
        type: float
        default: 90
      disk:
        description: Disk and inode use, percent, 0-100.
        type: float
        default: 90
      load_per_cpu:
        description: Load average per logical CPU, 0 or more.
        type: float
        default: 2.0
  load_window:
    description:
      - Which load average, in minutes, is compared with the C(load_per_cpu) thresholds. All three
        are returned in RV(load) regardless.
      - The 5-minute average ignores a spike of a few seconds but still shows a host that is busy now.
    type: int
    choices: [1, 5, 15]
    default: 5
  top:
    description:
      - How many processes to list in RV(top_cpu) and RV(top_memory). V(0) lists none and skips
        the per-process sampling.
    type: int
    default: 10
  include_cmdline:
    description:
      - Add each listed process's command line as C(cmdline).
      - Command lines can carry secrets (tokens, passwords, database URLs, private keys). Values of
        options and variables whose name looks like a secret (C(--token=), C(--password x),
        C(PGPASSWORD=), C(--jwt-secret), C(--private-key), C(--api-key), ...), the password of
        C(scheme://user:password@host) URLs and 64-digit hex strings are replaced by
        C(<redacted>) (container ids, also 64 hex digits, are redacted too), and the line is cut to
        200 characters. This is a best effort, which is why it is off by default; returned values
        are not masked by C(no_log).
    type: bool
    default: false
notes:
  - Process CPU percentages are of one CPU, as in C(top), so a multi-threaded process can show
    more than 100. They cover the same interval as the host's figure; a process started during it
    is counted with all the CPU time it used, so short-lived busy processes are not missed.
  - In containers, CPU count and memory are the host's (psutil reads C(/proc)), not a cgroup's limits.
seealso:
  - module: ansible.builtin.setup
    description: Facts include memory and mounts, but no CPU use, load against thresholds or processes.
"""

EXAMPLES = r"""
---
# The morning checklist: df -h, free -h, top -bn1, against the runbooks' 80/90 % levels.
- name: Sample host resources
  mevops.infra.host_resources:
  register: __health_resources

- name: Report host resources
  ansible.builtin.debug:
    msg: >-
      {{ inventory_hostname }}: {{ __health_resources.status }};
      {{ __health_resources.findings | map(attribute='message') | join('; ') or 'all within thresholds' }};
      busiest: {{ __health_resources.top_cpu | map(attribute='name') | first | default('-') }}

- name: Assert no host resource is critical
  ansible.builtin.assert:
    that: __health_resources.status != 'critical'
    fail_msg: >-
      {{ __health_resources.findings | selectattr('severity', 'eq', 'critical')
         | map(attribute='message') | join('; ') }}
    quiet: true

# The data volume of a database host, stricter disk levels, the 1-minute load.
- name: Sample a database host
  mevops.infra.host_resources:
    mounts: [/, /var/lib/postgresql]
    missing_mounts: skip
    warning:
      disk: 70
    critical:
      disk: 85
    load_window: 1
    top: 5
    include_cmdline: true
  register: __db_resources
"""

RETURN = r"""
---
status:
  description: The worst severity among RV(findings); V(ok) when there are none.
  returned: always
  type: str
  choices: [ok, warning, critical]
  sample: critical
findings:
  description:
    - One per resource at or above a threshold, critical ones first. Resources within thresholds
      give none.
    - C(resource) is V(cpu), V(memory), V(load), C(disk <mount>) or C(inodes <mount>); C(value) the
      measured figure (percent, or load per CPU); C(threshold) the level it reached; C(severity)
      V(warning) or V(critical); C(message) a sentence for a report.
  returned: always
  type: list
  elements: dict
  sample:
    - resource: disk /data
      value: 91.2
      threshold: 90
      severity: critical
      message: disk /data 91.2 % used (critical at 90 %)
    - resource: load
      value: 1.12
      threshold: 1.0
      severity: warning
      message: load 1.12 per CPU over 5 min (warning at 1)
cpu:
  description: CPU use over O(cpu_sample_seconds).
  returned: always
  type: dict
  contains:
    percent:
      description: All CPUs busy, percent.
      type: float
      sample: 37.5
    count:
      description: Logical CPUs.
      type: int
      sample: 16
    per_cpu:
      description: Busy percent of each logical CPU.
      type: list
      elements: float
      sample: [40.0, 35.0]
memory:
  description: Memory and swap.
  returned: always
  type: dict
  contains:
    total:
      description: Physical memory, bytes (C(MemTotal)).
      type: int
      sample: 67108864000
    available:
      description: Memory available to new work without swapping, bytes (C(MemAvailable)).
      type: int
      sample: 40265318400
    used_percent:
      description: C((total - available) / total), percent.
      type: float
      sample: 40.0
    swap:
      description: Swap C(total), C(used) and C(free) in bytes and C(used_percent) (V(0) without swap).
      type: dict
      sample: {total: 0, used: 0, free: 0, used_percent: 0.0}
disks:
  description: One per path in O(mounts) that exists, in the given order.
  returned: always
  type: list
  elements: dict
  contains:
    mount:
      description: The path as given.
      type: str
      sample: /data
    mountpoint:
      description: The mount point of the file system holding it.
      type: str
      sample: /data
    device:
      description: The mounted device, empty when unknown.
      type: str
      sample: /dev/nvme0n1p1
    fstype:
      description: File system type, empty when unknown.
      type: str
      sample: ext4
    total:
      description: Size, bytes (C(f_blocks * f_frsize)).
      type: int
      sample: 2000000000000
    used:
      description: Used, bytes.
      type: int
      sample: 1824000000000
    free:
      description: Available to unprivileged users, bytes.
      type: int
      sample: 176000000000
    used_percent:
      description: As C(df)'s C(Use%), C(used / (used + free)), percent.
      type: float
      sample: 91.2
    inodes:
      description:
        - C(total), C(used), C(free) inodes and C(used_percent).
        - C(used_percent) is V(null) on file systems without a fixed inode count (btrfs, some overlays).
      type: dict
      sample: {total: 122101760, used: 1220000, free: 120881760, used_percent: 1.0}
skipped_mounts:
  description: Paths of O(mounts) that do not exist and were left out (O(missing_mounts=skip)).
  returned: always
  type: list
  elements: str
  sample: [/data]
load:
  description: Load averages (C(1), C(5), C(15) minutes) and the same divided by the logical CPU count in C(per_cpu).
  returned: always
  type: dict
  sample: {"1": 3.2, "5": 2.9, "15": 2.5, per_cpu: {"1": 0.2, "5": 0.18, "15": 0.16}}
top_cpu:
  description:
    - The O(top) processes using the most CPU over the sample, busiest first.
    - Each with C(pid), C(name), C(user), C(cpu_percent) (of one CPU), C(rss) (bytes),
      C(memory_percent), and C(cmdline) (redacted) when O(include_cmdline=true).
  returned: always
  type: list
  elements: dict
  sample:
    - {pid: 1234, name: mev-engine, user: mev, cpu_percent: 180.5, rss: 2147483648, memory_percent: 3.2}
top_memory:
  description: The O(top) processes with the largest resident memory, largest first; same keys as RV(top_cpu).
  returned: always
  type: list
  elements: dict
  sample:
    - {pid: 987, name: reth, user: reth, cpu_percent: 55.0, rss: 34359738368, memory_percent: 51.2}
"""

import os
import time
from collections.abc import Mapping
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mevops.infra.plugins.module_utils.resources import (
    DEFAULT_CRITICAL,
    DEFAULT_WARNING,
    LOAD_WINDOWS,
    THRESHOLD_KEYS,
    check_thresholds,
    evaluate,
    overall_status,
    redact_cmdline,
    top_processes,
)

# PROCESS_ERRORS: what a process can raise while it is read (it exited, it is not ours to read,
# it is a zombie). Empty without psutil, which main() reports before any process is read.
try:
    import psutil
except ImportError:
    psutil = None
    PROCESS_ERRORS: tuple[type[Exception], ...] = ()
else:
    PROCESS_ERRORS = (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess)

# The runbooks' morning checklist: df -h | grep -E "/$|/data".
DEFAULT_MOUNTS = ("/", "/data")
SAMPLE_MIN_SECONDS = 0.05
SAMPLE_MAX_SECONDS = 60.0


def _threshold_spec(defaults: Mapping[str, float]) -> dict[str, Any]:
    return {
        "type": "dict",
        "apply_defaults": True,
        "options": {key: {"type": "float", "default": defaults[key]} for key in THRESHOLD_KEYS},
    }


def argument_spec() -> dict[str, Any]:
    return {
        "mounts": {"type": "list", "elements": "path"},
        "missing_mounts": {"type": "str", "choices": ["fail", "skip"], "default": "fail"},
        "cpu_sample_seconds": {"type": "float", "default": 0.5},
        "warning": _threshold_spec(DEFAULT_WARNING),
        "critical": _threshold_spec(DEFAULT_CRITICAL),
        "load_window": {"type": "int", "choices": list(LOAD_WINDOWS), "default": 5},
        "top": {"type": "int", "default": 10},
        "include_cmdline": {"type": "bool", "default": False},
    }


def _percent(part: float, whole: float) -> float:
    return round(part / whole * 100, 1) if whole else 0.0


def _mountpoints() -> list[Any]:
    """Mounted file systems, longest mount point first, so the first prefix match is the right one."""
    partitions = psutil.disk_partitions(all=True)
    return sorted(partitions, key=lambda part: len(part.mountpoint), reverse=True)


def _containing(path: str, partitions: list[Any]) -> Any | None:
    real = os.path.realpath(path)
    for part in partitions:
        point = part.mountpoint.rstrip("/") or "/"
        if real == point or real.startswith(point.rstrip("/") + "/"):
            return part
    return None


def disk_report(path: str, partitions: list[Any]) -> dict[str, Any]:
    usage = psutil.disk_usage(path)
    stat = os.statvfs(path)
    inodes_used = stat.f_files - stat.f_ffree
    part = _containing(path, partitions)
    return {
        "mount": path,
        "mountpoint": part.mountpoint if part else "",
        "device": part.device if part else "",
        "fstype": part.fstype if part else "",
        "total": usage.total,
        "used": usage.used,
        "free": usage.free,
        "used_percent": round(usage.percent, 1),
        "inodes": {
            "total": stat.f_files,
            "used": inodes_used,
            "free": stat.f_ffree,
            "used_percent": _percent(inodes_used, stat.f_files) if stat.f_files else None,
        },
    }


def memory_report() -> dict[str, Any]:
    virtual = psutil.virtual_memory()
    swap = psutil.swap_memory()
    return {
        "total": virtual.total,
        "available": virtual.available,
        "used_percent": _percent(virtual.total - virtual.available, virtual.total),
        "swap": {"total": swap.total, "used": swap.used, "free": swap.free, "used_percent": round(swap.percent, 1)},
    }


def load_report(cpu_count: int) -> dict[str, Any]:
    averages = dict(zip((str(window) for window in LOAD_WINDOWS), psutil.getloadavg(), strict=True))
    return {
        **{window: round(value, 2) for window, value in averages.items()},
        "per_cpu": {window: round(value / cpu_count, 2) for window, value in averages.items()},
    }


def _start_process_sampling() -> dict[int, Any]:
    """Prime cpu_percent on every process, so its next call covers the same interval as the host's."""
    primed = {}
    for proc in psutil.process_iter():
        try:
            proc.cpu_percent(None)
        except PROCESS_ERRORS:
            continue
        primed[proc.pid] = proc
    return primed


def _cpu_percent(proc: Any, primed: dict[int, Any], elapsed: float) -> float:
    known = primed.get(proc.pid)
    # psutil.Process equality includes the start time, so a recycled pid is a new process.
    if known is not None and known == proc:
        return known.cpu_percent(None)
    # Started during the sample: all its CPU time was spent within it (what top's first frame misses).
    times = proc.cpu_times()
    return (times.user + times.system) / elapsed * 100 if elapsed > 0 else 0.0


def _process_rows(primed: dict[int, Any], started: float, include_cmdline: bool) -> list[dict[str, Any]]:
    elapsed = time.monotonic() - started
    rows = []
    for proc in psutil.process_iter():
        try:
            with proc.oneshot():
                row = {
                    "pid": proc.pid,
                    "name": proc.name(),
                    "user": _username(proc),
                    "cpu_percent": round(_cpu_percent(proc, primed, elapsed), 1),
                    "rss": proc.memory_info().rss,
                    "memory_percent": round(proc.memory_percent(), 1),
                }
                if include_cmdline:
                    row["cmdline"] = redact_cmdline(_cmdline(proc))
        except PROCESS_ERRORS:
            # The process exited or hid itself during the sample; it is no longer a top consumer.
            continue
        rows.append(row)
    return rows


def _username(proc: Any) -> str:
    try:
        return proc.username()
    except KeyError:
        # A uid with no passwd entry (a container's user seen from the host).
        return str(proc.uids().real)


def _cmdline(proc: Any) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.AccessDenied:
        return []


def sample(params: dict[str, Any], mounts: list[str]) -> dict[str, Any]:
    cpu_count = psutil.cpu_count() or 1
    partitions = _mountpoints()
    top = params["top"]
    started = time.monotonic()
    primed = _start_process_sampling() if top > 0 else {}
    psutil.cpu_percent(None)
    psutil.cpu_percent(None, percpu=True)
    time.sleep(params["cpu_sample_seconds"])
    cpu_percent = psutil.cpu_percent(None)
    per_cpu = psutil.cpu_percent(None, percpu=True)
    rows = _process_rows(primed, started, params["include_cmdline"]) if top > 0 else []
    return {
        "cpu": {"percent": round(cpu_percent, 1), "count": cpu_count, "per_cpu": per_cpu},
        "memory": memory_report(),
        "disks": [disk_report(path, partitions) for path in mounts],
        "load": load_report(cpu_count),
        "top_cpu": top_processes(rows, "cpu_percent", top),
        "top_memory": top_processes(rows, "rss", top),
    }


def _option_problems(params: dict[str, Any]) -> list[str]:
    problems = check_thresholds(params["warning"], params["critical"])
    seconds = params["cpu_sample_seconds"]
    if not SAMPLE_MIN_SECONDS <= seconds <= SAMPLE_MAX_SECONDS:
        problems.append(
            f"cpu_sample_seconds must be between {SAMPLE_MIN_SECONDS:g} and {SAMPLE_MAX_SECONDS:g}, got {seconds:g}"
        )
    if params["top"] < 0:
        problems.append(f"top must be 0 or more, got {params['top']}")
    for path in params["mounts"] or []:
        if not os.path.isabs(path):
            problems.append(f"mounts: {path!r} is not an absolute path")
    return problems


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    problems = _option_problems(params)
    if problems:
        module.fail_json(msg="Invalid options: " + "; ".join(problems), problems=problems)
    if psutil is None:
        module.fail_json(
            msg=missing_required_lib("psutil", reason="to sample host resources").rstrip(".")
            + ". On Debian, install the package python3-psutil (apt-get install python3-psutil)."
        )

    if params["mounts"] is None:
        mounts = [path for path in DEFAULT_MOUNTS if path == "/" or os.path.exists(path)]
        missing: list[str] = []
    else:
        mounts = [path for path in params["mounts"] if os.path.exists(path)]
        missing = [path for path in params["mounts"] if not os.path.exists(path)]
    if missing and params["missing_mounts"] == "fail":
        module.fail_json(
            msg=f"mounts: no such path on this host: {', '.join(missing)}; "
            "correct the path or set missing_mounts: skip",
            missing_mounts=missing,
        )

    result = sample(params, mounts)
    findings = evaluate(result, params["warning"], params["critical"], params["load_window"])
    module.exit_json(
        changed=False,
        status=overall_status(findings),
        findings=findings,
        skipped_mounts=missing,
        **result,
    )


if __name__ == "__main__":
    main()
