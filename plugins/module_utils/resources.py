# -*- coding: utf-8 -*-
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Host resource thresholds, findings and command-line redaction for ``host_resources``.

Pure functions over plain data shaped like psutil's results (numbers, dicts, lists of
strings), so they are tested without psutil. The module gathers the sample; this file
decides what it means:

- ``check_thresholds`` validates the ``warning``/``critical`` options and returns every
  problem, each naming the option (``warning.disk``);
- ``severity`` places one value against a warning and a critical threshold: a value *at or
  above* a threshold reaches it, so a threshold of 0 always reports;
- ``evaluate`` turns a whole sample into findings with readable messages such as
  ``disk /data 91.2 % used (critical at 90 %)``, and ``overall_status`` the worst of them;
- ``redact_cmdline`` drops what looks like a secret from a process's arguments
  (``--token=abc``, ``--password abc``, ``PGPASSWORD=...``, ``postgres://user:pass@host``,
  a bare 64-hex-digit private key) and truncates the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

OK = "ok"
WARNING = "warning"
CRITICAL = "critical"
_RANK: Mapping[str, int] = MappingProxyType({OK: 0, WARNING: 1, CRITICAL: 2})

# Threshold keys; the first three are percentages (0-100), load is per logical CPU.
PERCENT_RESOURCES: tuple[str, ...] = ("cpu", "memory", "disk")
THRESHOLD_KEYS: tuple[str, ...] = (*PERCENT_RESOURCES, "load_per_cpu")

# The runbooks' alert levels: memory, CPU and disk warning over 80 %, critical over 90 %.
# Load: one runnable task per CPU is a saturated host (warning), two is an overloaded one.
DEFAULT_WARNING: Mapping[str, float] = MappingProxyType(
    {"cpu": 80.0, "memory": 80.0, "disk": 80.0, "load_per_cpu": 1.0}
)
DEFAULT_CRITICAL: Mapping[str, float] = MappingProxyType(
    {"cpu": 90.0, "memory": 90.0, "disk": 90.0, "load_per_cpu": 2.0}
)

LOAD_WINDOWS: tuple[int, ...] = (1, 5, 15)

REDACTED = "<redacted>"
# Longest command line returned, in characters, after redaction.
CMDLINE_MAX = 200

# An option or variable name that announces a secret: --password, --jwt-secret, --api-key,
# PGPASSWORD, AWS_SECRET_ACCESS_KEY, --private-key, --mnemonic, --auth, --token. Not -p (a port
# as often as a password) and not --authrpc.port (the engine API's port on every node).
_SECRET_NAME = re.compile(
    r"(pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|access[-_]?key|priv(ate)?[-_]?key|"
    r"mnemonic|seed[-_]?phrase|credential|auth(orization)?(?![a-z])|bearer|cookie|session[-_]?key|signing[-_]?key)",
    re.IGNORECASE,
)
# --name=value / --name:value / NAME=value
_ASSIGNMENT = re.compile(r"^(?P<name>-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)(?P<sep>[=:])(?P<value>.+)$")
# --name (value in the next argument)
_FLAG = re.compile(r"^-{1,2}[A-Za-z][A-Za-z0-9_.-]*$")
# scheme://user:password@host
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)(?P<password>[^/@\s]+)(?P<tail>@)")
# An Ethereum private key or any 256-bit hex secret, with or without 0x (addresses are 40 digits).
_HEX_KEY = re.compile(r"\b(0x)?[0-9a-fA-F]{64}\b")


def check_thresholds(warning: Mapping[str, float | None], critical: Mapping[str, float | None]) -> list[str]:
    """Return every problem with the thresholds, each naming the option; empty when valid."""
    problems: list[str] = []
    for option, levels in (("warning", warning), ("critical", critical)):
        for key in THRESHOLD_KEYS:
            value = levels.get(key)
            if value is None:
                problems.append(f"{option}.{key} is required (a number)")
            elif key in PERCENT_RESOURCES and not 0 <= value <= 100:
                problems.append(f"{option}.{key} must be a percentage between 0 and 100, got {value:g}")
            elif value < 0:
                problems.append(f"{option}.{key} must be 0 or more (load per CPU), got {value:g}")
    for key in THRESHOLD_KEYS:
        low, high = warning.get(key), critical.get(key)
        if low is not None and high is not None and low > high:
            problems.append(f"warning.{key} ({low:g}) must not be above critical.{key} ({high:g})")
    return problems


def severity(value: float, warning: float, critical: float) -> str:
    """``critical`` when value reaches critical, ``warning`` when it reaches warning, else ``ok``."""
    if value >= critical:
        return CRITICAL
    if value >= warning:
        return WARNING
    return OK


def _finding(
    resource: str, value: float, warning: float, critical: float, *, what: str, unit: str
) -> dict[str, Any] | None:
    level = severity(value, warning, critical)
    if level == OK:
        return None
    threshold = critical if level == CRITICAL else warning
    shown = f"{value:.1f} %" if unit == "%" else f"{value:.2f}"
    limit = f"{threshold:g} %" if unit == "%" else f"{threshold:g}"
    return {
        "resource": resource,
        "value": round(value, 2),
        "threshold": threshold,
        "severity": level,
        "message": f"{resource} {shown} {what} ({level} at {limit})",
    }


def evaluate(
    sample: Mapping[str, Any],
    warning: Mapping[str, float],
    critical: Mapping[str, float],
    load_window: int = 5,
) -> list[dict[str, Any]]:
    """Findings for a sample, worst first then in resource order; resources at ``ok`` give none.

    ``sample`` holds ``cpu.percent``, ``memory.used_percent``, ``disks[].mount``,
    ``disks[].used_percent``, ``disks[].inodes.used_percent`` (may be None) and
    ``load.per_cpu.<window>`` as the module returns them. Inode use is held to the disk
    thresholds: a file system out of inodes is as full as one out of blocks.
    """
    w, c = warning, critical
    candidates = [
        _finding("cpu", sample["cpu"]["percent"], w["cpu"], c["cpu"], what="busy", unit="%"),
        _finding("memory", sample["memory"]["used_percent"], w["memory"], c["memory"], what="used", unit="%"),
    ]
    for disk in sample["disks"]:
        mount = disk["mount"]
        candidates.append(_finding(f"disk {mount}", disk["used_percent"], w["disk"], c["disk"], what="used", unit="%"))
        inodes = disk["inodes"]["used_percent"]
        if inodes is not None:
            candidates.append(_finding(f"inodes {mount}", inodes, w["disk"], c["disk"], what="used", unit="%"))
    per_cpu = sample["load"]["per_cpu"][str(load_window)]
    candidates.append(
        _finding(
            "load",
            per_cpu,
            w["load_per_cpu"],
            c["load_per_cpu"],
            what=f"per CPU over {load_window} min",
            unit="",
        )
    )
    findings = [finding for finding in candidates if finding is not None]
    # sorted() is stable: within a severity the resource order above is kept.
    return sorted(findings, key=lambda finding: -_RANK[finding["severity"]])


def overall_status(findings: Iterable[Mapping[str, Any]]) -> str:
    """The worst severity among findings; ``ok`` when there are none."""
    worst = OK
    for finding in findings:
        if _RANK[finding["severity"]] > _RANK[worst]:
            worst = finding["severity"]
    return worst


def _redact_text(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}{m['tail']}", text)
    return _HEX_KEY.sub(REDACTED, text)


def redact_args(args: Sequence[str]) -> list[str]:
    """Arguments with secret-looking values replaced by ``<redacted>``; the names stay visible."""
    redacted: list[str] = []
    secret_follows = False
    for arg in args:
        if secret_follows:
            redacted.append(REDACTED)
            secret_follows = False
            continue
        assignment = _ASSIGNMENT.match(arg)
        if assignment and _SECRET_NAME.search(assignment["name"]):
            redacted.append(f"{assignment['name']}{assignment['sep']}{REDACTED}")
            continue
        if _FLAG.match(arg) and _SECRET_NAME.search(arg):
            redacted.append(arg)
            secret_follows = True
            continue
        redacted.append(_redact_text(arg))
    return redacted


def redact_cmdline(args: Sequence[str], limit: int = CMDLINE_MAX) -> str:
    """One line: the redacted arguments joined by spaces, cut to ``limit`` characters with '...'."""
    line = " ".join(redact_args(args))
    if len(line) <= limit:
        return line
    return line[: max(limit - 3, 0)] + "..."


def top_processes(processes: Iterable[Mapping[str, Any]], key: str, count: int) -> list[dict[str, Any]]:
    """The ``count`` processes with the largest ``key`` (None counts as 0), ties by lower pid."""
    ordered = sorted(processes, key=lambda proc: (-(proc.get(key) or 0), proc["pid"]))
    return [dict(proc) for proc in ordered[:count]]
