# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""The daily security check's findings (MEV Bot Operational Runbook, "Security Operations →
Daily Security Checks"): authentication failures from the journal, owners and modes of key and
env files, listening sockets against the expected list, the AIDE summary, one report with a
severity per finding, and its lines for node_exporter's textfile collector.

Pure Python (standard library only), written once for both sides: the filters of
plugins/filter/security.py import it on the controller, and the security_check role installs it
on each host beside mevops-security-check (roles/security_check/files), the job its daily timer
and the playbook run.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

SEVERITIES = ("ok", "warning", "critical")
_FAILURE = re.compile(
    r"Failed (password|publickey|keyboard-interactive|none)|Invalid user|authentication failure"
    r"|maximum authentication attempts exceeded|Connection closed by (authenticating|invalid) user"
    r"|Disconnected from (authenticating|invalid) user"
)
_SOURCE = re.compile(
    r"(?:rhost=|from |user \S+ |\s)(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]*:[0-9a-fA-F:]+)(?: port (?P<port>\d+))?"
)


def _finding(check: str, severity: str, message: str, **details: Any) -> dict[str, Any]:
    return {"check": check, "severity": severity, "message": message, "details": details}


def auth_failures(lines: Any, warning: int = 5, critical: int = 50) -> dict[str, Any]:
    """Failed login attempts in journal lines, one per (source, port) connection."""
    attempts: set[tuple[str, str]] = set()
    by_source: dict[str, int] = {}
    anonymous = 0
    for line in lines or []:
        if not _FAILURE.search(line):
            continue
        match = _SOURCE.search(line)
        if not match:
            anonymous += 1
            continue
        key = (match["ip"], match["port"] or f"line{anonymous + len(attempts)}")
        if key not in attempts:
            attempts.add(key)
            by_source[match["ip"]] = by_source.get(match["ip"], 0) + 1
    count = len(attempts) + anonymous
    severity = "critical" if count >= int(critical) else "warning" if count >= int(warning) else "ok"
    top = dict(sorted(by_source.items(), key=lambda kv: -kv[1])[:10])
    return _finding("authentication", severity, f"{count} failed login attempts", count=count, by_source=top)


def _mode_excess(mode: str, allowed: str) -> int:
    return int(str(mode), 8) & ~int(str(allowed), 8) & 0o7777


def file_findings(stats: Any) -> list[dict[str, Any]]:
    """Owner/group/mode findings from a list of {rule, files: [stat dicts]}; rule holds path,
    owner, group (optional) and max_mode (bits the file may have)."""
    findings = []
    for entry in stats or []:
        rule = entry["rule"]
        if not entry.get("files"):
            findings.append(_finding("secret files", "ok", f"{rule['path']}: no file matches", path=rule["path"]))
            continue
        for st in entry["files"]:
            problems = []
            if rule.get("owner") and st.get("pw_name") != rule["owner"]:
                problems.append(f"owner {st.get('pw_name')} (expected {rule['owner']})")
            if rule.get("group") and st.get("gr_name") != rule["group"]:
                problems.append(f"group {st.get('gr_name')} (expected {rule['group']})")
            excess = _mode_excess(st.get("mode", "0"), rule.get("max_mode", "0600"))
            if excess:
                problems.append(f"mode {st.get('mode')} (at most {rule.get('max_mode', '0600')})")
            # Readable or writable by group/others, or owned by someone else: critical.
            severity = "critical" if excess & 0o077 or any(p.startswith("owner") for p in problems) else "warning"
            findings.append(
                _finding(
                    "secret files",
                    severity if problems else "ok",
                    f"{st['path']}: " + ("; ".join(problems) if problems else "owner and mode as expected"),
                    path=st["path"],
                )
            )
    return findings


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "localhost")


def listener_findings(ports: Any, expected: Any, ignore_loopback: bool = True) -> list[dict[str, Any]]:
    """Listening sockets (community.general.listen_ports_facts tcp_listen + udp_listen) against
    the expected list of {port, protocol}; an unexpected listener is critical."""
    allowed = {(int(item["port"]), str(item.get("protocol", "tcp")).lower()) for item in expected or []}
    findings = []
    seen: set[tuple[int, str, str]] = set()
    for sock in ports or []:
        protocol = str(sock.get("protocol", "tcp")).lower().rstrip("6")
        port = int(sock["port"])
        address = str(sock.get("address", ""))
        key = (port, protocol, address)
        if key in seen:
            continue
        seen.add(key)
        if ignore_loopback and _is_loopback(address):
            continue
        if (port, protocol) in allowed:
            continue
        findings.append(
            _finding(
                "listeners",
                "critical",
                f"unexpected listener {protocol}/{port} on {address}"
                f" ({sock.get('name', '?')}, pid {sock.get('pid', '?')})",
                port=port,
                protocol=protocol,
                address=address,
                process=sock.get("name"),
            )
        )
    if not findings:
        findings.append(_finding("listeners", "ok", f"only expected listeners ({len(seen)} sockets)"))
    return findings


def integrity_finding(summary: Any, max_age_hours: int = 26, now: str | None = None) -> dict[str, Any]:
    """The AIDE summary written by mevops-integrity-check: changes are critical, a missing or
    stale summary a warning."""
    if not summary:
        return _finding("integrity", "warning", "no integrity summary: is the integrity role applied?")
    checked = datetime.datetime.fromisoformat(summary["checked_at"])
    current = datetime.datetime.fromisoformat(now) if now else datetime.datetime.now(datetime.timezone.utc)
    age_h = (current - checked).total_seconds() / 3600
    if summary.get("status") == "error":
        return _finding("integrity", "warning", f"AIDE failed: {summary.get('message')}")
    changes = {key: summary.get(key) or [] for key in ("added", "removed", "changed")}
    if any(changes.values()):
        listed = ", ".join(f"{key}: {' '.join(paths)}" for key, paths in changes.items() if paths)
        return _finding("integrity", "critical", f"changed since the baseline: {listed}", **changes)
    if age_h > int(max_age_hours):
        return _finding("integrity", "warning", f"last integrity check is {age_h:.0f} h old")
    return _finding("integrity", "ok", "no change since the baseline")


def security_report(findings: Any) -> dict[str, Any]:
    """One report: the worst severity, counts per severity and the findings, worst first."""
    flat: list[dict[str, Any]] = []
    for item in findings or []:
        flat.extend(item if isinstance(item, list) else [item])
    for item in flat:
        if item.get("severity") not in SEVERITIES:
            raise ValueError(f"security_report: bad severity in {item!r}")
    flat.sort(key=lambda f: -SEVERITIES.index(f["severity"]))
    counts = {severity: sum(1 for f in flat if f["severity"] == severity) for severity in SEVERITIES}
    status = next((s for s in reversed(SEVERITIES) if counts[s]), "ok")
    return {"status": status, "counts": counts, "findings": flat}


def security_report_text(report: dict[str, Any], host: str = "") -> list[str]:
    """Readable lines of a security report."""
    head = f"{host}: " if host else ""
    lines = [f"{head}security check {report['status'].upper()} ({report['counts']})"]
    lines += [f"[{f['severity'].upper():8}] {f['check']}: {f['message']}" for f in report["findings"]]
    return lines


# HELP texts: roles/monitoring/files/metrics.yml's `textfile` section (a unit test holds them equal).
FINDINGS_HELP = "Findings of the last daily security check by severity (ok, warning, critical)."
TIMESTAMP_HELP = "When the last daily security check ran (Unix time)."


def prom_text(report: dict[str, Any], timestamp: float) -> str:
    """The report's counts for node_exporter's textfile collector."""
    lines = [
        f"# HELP mevops_security_check_findings {FINDINGS_HELP}",
        "# TYPE mevops_security_check_findings gauge",
    ]
    lines += [f'mevops_security_check_findings{{severity="{s}"}} {report["counts"].get(s, 0)}' for s in SEVERITIES]
    lines += [
        f"# HELP mevops_security_check_timestamp_seconds {TIMESTAMP_HELP}",
        "# TYPE mevops_security_check_timestamp_seconds gauge",
        f"mevops_security_check_timestamp_seconds {int(timestamp)}",
    ]
    return "\n".join(lines) + "\n"
