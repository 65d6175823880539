# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters of the morning health check (Operational Runbook, "Daily Operations → Morning
Checklist"): each check's raw result becomes rows {host, check, target, severity, reason},
the rows of every host roll up into one report, and the report renders as a text table,
Markdown and JSON. Severities are ok < warning < critical; the worst one is the report's."""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError

SEVERITIES = ("ok", "warning", "critical")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
_JOURNAL_ERROR = re.compile(r"^(ERROR|CRITICAL)\b|^Traceback \(most recent call last\)")
COLUMNS = ("host", "check", "target", "severity", "reason")
# Widest host, check or target column in the printed table (longer values are cut there).
_MAX_COLUMN = 40


def _row(host: str, check: str, target: str, severity: str, reason: str) -> dict[str, str]:
    if severity not in _RANK:
        raise AnsibleFilterError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    return {"host": str(host), "check": check, "target": str(target), "severity": severity, "reason": reason}


def _worst(severities: Any) -> str:
    return max(severities, key=lambda s: _RANK[s], default="ok")


def _level(value: float, warning: float, critical: float) -> str:
    """At or above a threshold reaches it (as the host_resources module)."""
    if value >= float(critical):
        return "critical"
    if value >= float(warning):
        return "warning"
    return "ok"


def health_severity_at_least(severity: str, level: str) -> bool:
    """Whether `severity` is `level` or worse; level `never` is never reached."""
    if level == "never":
        return False
    if level not in _RANK or severity not in _RANK:
        raise AnsibleFilterError(f"severities are {', '.join(SEVERITIES)} (or never), got {severity!r} / {level!r}")
    return _RANK[severity] >= _RANK[level]


def health_rows_at_least(rows: Any, level: str) -> list[dict]:
    """The rows at `level` or worse (none for `never`)."""
    return [row for row in rows or [] if health_severity_at_least(row["severity"], level)]


def health_row_lines(rows: Any) -> list[str]:
    """One sentence per row: `host check target: SEVERITY reason`."""
    return [f"{r['host']} {r['check']} {r['target']}: {r['severity'].upper()} {r['reason']}" for r in rows or []]


# ---------------------------------------------------------------------------- checks -> rows


def health_node_rows(results: Any, host: str, age_warning: float = 30, age_critical: float = 120) -> list[dict]:
    """mevops.infra.evm_node_info results (a loop over evm_node_endpoints, each with `item`)."""
    rows = []
    for result in results or []:
        item = result.get("item") or {}
        chain = f"chain {item.get('name') or result.get('url')}"
        if "state" not in result:
            rows.append(_row(host, "node sync", chain, "critical", f"check failed: {result.get('msg', 'no message')}"))
            continue
        state = result.get("state")
        if state != "ok":
            rows.append(
                _row(
                    host, "node sync", chain, "critical", f"node {state} at {result.get('url')}: {result.get('reason')}"
                )
            )
            continue
        if result.get("chain_id_ok") is False:
            rows.append(
                _row(
                    host,
                    "node sync",
                    chain,
                    "critical",
                    f"serves chain id {result.get('chain_id')}, expected {item.get('chain_id')}",
                )
            )
            continue
        head = result.get("head_number")
        if result.get("syncing"):
            reason = f"syncing: block {result.get('sync_current')} of {result.get('sync_highest')}"
            rows.append(_row(host, "node sync", chain, "critical", reason))
            continue
        age = result.get("head_age_seconds")
        if age is None:
            rows.append(_row(host, "node sync", chain, "critical", "head block has no timestamp"))
            continue
        severity = _level(float(age), age_warning, age_critical)
        reason = f"head {head} is {float(age):.0f} s old"
        if severity != "ok":
            limit = age_critical if severity == "critical" else age_warning
            reason += f" ({severity} at {float(limit):g} s)"
        peers = result.get("peer_count")
        if peers is not None:
            reason += f", {peers} peers"
            if int(peers) == 0:
                severity = _worst([severity, "warning"])
        rows.append(_row(host, "node sync", chain, severity, reason))
    return rows


def _systemctl_show(text: str) -> dict[str, dict[str, str]]:
    """`systemctl show --property=Id,LoadState,ActiveState,SubState <units>` -> {Id: {property: value}}."""
    units: dict[str, dict[str, str]] = {}
    for block in str(text or "").strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            units[props["Id"]] = props
    return units


def health_unit_rows(show: Any, units: Any, host: str) -> list[dict]:
    """The output of `systemctl show --property=Id,LoadState,ActiveState,SubState` for the units
    that must run: each one loaded and active (running)."""
    states = _systemctl_show(show)
    rows = []
    for unit in units or []:
        name = unit if unit.endswith(".service") else f"{unit}.service"
        props = states.get(name)
        if props is None or props.get("LoadState") == "not-found":
            rows.append(_row(host, "engine unit", name, "critical", "unit not installed"))
        elif props.get("ActiveState") != "active":
            rows.append(
                _row(
                    host,
                    "engine unit",
                    name,
                    "critical",
                    f"{props.get('ActiveState')} ({props.get('SubState')}); must be active",
                )
            )
        else:
            rows.append(_row(host, "engine unit", name, "ok", f"active ({props.get('SubState')})"))
    return rows


def health_ready_row(result: Any, host: str, url: str = "") -> dict:
    """The ansible.builtin.uri result of the engine's /health/ready."""
    result = result or {}
    status = result.get("status", -1)
    target = "ready probe"
    body = result.get("json") if isinstance(result.get("json"), dict) else {}
    if status == 200 and body.get("degraded"):  # a backup provider serves a chain (engine README)
        degraded = "; ".join(f"{name}: {why}" for name, why in sorted(body["degraded"].items()))
        return _row(host, "engine", target, "warning", f"degraded: {degraded}")
    if status == 200:
        return _row(host, "engine", target, "ok", "ready")
    if status == 503 and body.get("failing"):
        failing = "; ".join(f"{name}: {why}" for name, why in sorted(body["failing"].items()))
        return _row(host, "engine", target, "critical", f"not ready: {failing}")
    why = result.get("msg") or f"HTTP {status}"
    return _row(host, "engine", target, "critical", f"{url or 'the API'} does not answer: {why}")


def health_trading_row(result: Any, host: str) -> dict:
    """mevops.infra.mev_engine_control action=status: trading state, as information."""
    result = result or {}
    if result.get("failed") or "trading" not in result:
        return _row(host, "engine", "trading", "critical", f"status unreadable: {result.get('msg')}")
    trading = result.get("trading") or {}
    state = trading.get("state", "unknown")
    reason = f"{state} ({trading.get('reason') or 'no reason recorded'})"
    pending = (result.get("status") or {}).get("pending_transactions")
    if pending is not None:
        reason += f", {pending} pending transactions"
    return _row(host, "engine", "trading", "warning" if state == "emergency_stop" else "ok", reason)


def health_balance_rows(result: Any, host: str, warning_eth: Any = None, critical_eth: Any = None) -> list[dict]:
    """mevops.infra.evm_balance's balances (each with a level) -> one row per chain and address."""
    result = result or {}
    if result.get("failed") or result.get("msg") or "balances" not in result:
        return [_row(host, "wallet balance", "hot wallet", "critical", f"balances unreadable: {result.get('msg')}")]
    rows = []
    for entry in result.get("balances") or []:
        level = entry.get("level", "ok")
        reason = f"{entry.get('eth')} ETH"
        if level == "critical" and critical_eth is not None:
            reason += f" (critical under {critical_eth})"
        elif level == "warning" and warning_eth is not None:
            reason += f" (warning under {warning_eth})"
        address = str(entry.get("address", ""))
        rows.append(_row(host, "wallet balance", f"{entry.get('chain')} {address[:10]}", level, reason))
    return rows


def health_resource_rows(result: Any, host: str) -> list[dict]:
    """mevops.infra.host_resources: one row per finding, or one ok row with the main figures."""
    result = result or {}
    if result.get("failed") or "status" not in result:
        return [_row(host, "resources", "host", "critical", f"not sampled: {result.get('msg')}")]
    findings = result.get("findings") or []
    if findings:
        return [_row(host, "resources", f["resource"], f["severity"], f["message"]) for f in findings]
    memory = (result.get("memory") or {}).get("used_percent")
    disks = ", ".join(f"{d['mount']} {d['used_percent']:.0f} %" for d in result.get("disks") or [])
    cpu = (result.get("cpu") or {}).get("percent")
    return [_row(host, "resources", "host", "ok", f"cpu {cpu} %, memory {memory} %, disk {disks}")]


def health_journal_row(lines: Any, host: str, hours: int = 12, warning: int = 1, critical: int = 50) -> dict:
    """ERROR/CRITICAL lines and tracebacks of the engine's units in the journal."""
    errors = [line for line in lines or [] if _JOURNAL_ERROR.search(line)]
    severity = _level(len(errors), warning, critical)
    if not errors:
        return _row(host, "journal", f"mev-* last {hours} h", "ok", "no ERROR or CRITICAL line")
    last = errors[-1].strip()
    if len(last) > 120:
        last = last[:117] + "..."
    return _row(host, "journal", f"mev-* last {hours} h", severity, f"{len(errors)} error lines; last: {last}")


def health_alert_rows(result: Any, host: str) -> list[dict]:
    """Alertmanager API v2 /api/v2/alerts (active, not silenced, not inhibited) -> rows. A row's
    host is the alert's `instance` label when it has one (the host the alert is about), else
    the monitoring host that was asked."""
    result = result or {}
    if result.get("status") != 200 or not isinstance(result.get("json"), list):
        why = result.get("msg") or f"HTTP {result.get('status')}"
        return [_row(host, "alerts", "alertmanager", "critical", f"Alertmanager does not answer: {why}")]
    alerts = [a for a in result["json"] if (a.get("status") or {}).get("state", "active") == "active"]
    if not alerts:
        return [_row(host, "alerts", "alertmanager", "ok", "no firing alert")]
    rows = []
    for alert in alerts:
        labels = alert.get("labels") or {}
        severity = labels.get("severity", "warning")
        severity = severity if severity in ("warning", "critical") else "warning"
        where = ", ".join(f"{k}={labels[k]}" for k in ("chain", "component") if labels.get(k))
        summary = (alert.get("annotations") or {}).get("summary") or ""
        reason = f"firing since {alert.get('startsAt', '?')[:19]}" + (f": {summary}" if summary else "")
        target = labels.get("alertname", "alert") + (f" ({where})" if where else "")
        rows.append(_row(labels.get("instance") or host, "alerts", target, severity, reason))
    return rows


def health_integrity_row(finding: Any, host: str) -> dict:
    """mevops.infra.integrity_finding's result as a row."""
    return _row(host, "integrity", "AIDE", finding["severity"], finding["message"])


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def health_job_rows(
    status: Any,
    host: str,
    backup_max_age_hours: float = 26,
    backup_units: str = "^mevops-backup-db-",
    ignore_units: Any = None,
) -> list[dict]:
    """`mevops-job-report status` (its JSON, or the failed command's result) -> rows: the host's
    failed units, the scheduled jobs whose last run failed (critical for backups), and the
    age of the last successful database backup where the host backs one up."""
    if not isinstance(status, dict) or "jobs" not in status:
        reason = (
            str((status or {}).get("stderr") or (status or {}).get("msg") or status)[:200]
            if isinstance(status, dict)
            else str(status)
        )
        return [
            _row(host, "jobs", "mevops-job-report", "critical", f"cannot read the scheduled jobs' reports: {reason}")
        ]
    rows: list[dict] = []
    failed_units = status.get("failed_units")
    if failed_units is None:
        rows.append(_row(host, "units", "failed units", "critical", "systemctl could not list the failed units"))
    else:
        failed = [u for u in failed_units if u not in set(ignore_units or ())]
        rows.append(
            _row(host, "units", "failed units", "critical" if failed else "ok", ", ".join(failed) or "no failed unit")
        )
    now = float(status.get("now") or 0)
    jobs = status["jobs"] or {}
    broken = sorted(unit for unit, job in jobs.items() if job.get("failed") == 1)
    for unit in broken:
        job = jobs[unit]
        severity = "critical" if unit.startswith("mevops-backup-") else "warning"
        last = job.get("last_success_timestamp_seconds")
        since = f"last success {_hours(now - last)} ago" if last else "never succeeded"
        rows.append(_row(host, "jobs", unit, severity, f"last run failed ({since}): journalctl -u {unit}"))
    if jobs and not broken:
        rows.append(
            _row(host, "jobs", f"{len(jobs)} scheduled jobs", "ok", "every last run succeeded (or none ran yet)")
        )
    backups = {unit: job for unit, job in jobs.items() if re.search(backup_units, unit)}
    if backups:
        successes = [
            j["last_success_timestamp_seconds"] for j in backups.values() if j.get("last_success_timestamp_seconds")
        ]
        limit = float(backup_max_age_hours) * 3600
        if successes:
            age = now - max(successes)
            severity = "critical" if age > limit else "ok"
            reason = f"last successful database backup {_hours(age)} ago (limit {backup_max_age_hours} h)"
        else:
            installed = min(j.get("installed_timestamp_seconds") or now for j in backups.values())
            age = now - installed
            severity = "critical" if age > limit else "warning"
            reason = f"no successful database backup since the jobs were installed {_hours(age)} ago"
        rows.append(_row(host, "backup", "database backup age", severity, reason))
    return rows


def health_unreachable_row(result: Any, host: str) -> dict:
    msg = (result or {}).get("msg") or "no connection"
    return _row(host, "host", "connection", "critical", f"unreachable: {str(msg).strip().splitlines()[0][:200]}")


# ---------------------------------------------------------------------------- roll-up and render


def health_report(rows: Any, generated_at: str = "", scope: Any = None) -> dict[str, Any]:
    """Rows of every host -> {status, counts, generated_at, scope, rows} (worst first, then host, check)."""
    flat: list[dict] = []
    for item in rows or []:
        flat.extend(item if isinstance(item, list) else [item])
    for row in flat:
        missing = [c for c in COLUMNS if c not in row]
        if missing or row["severity"] not in _RANK:
            raise AnsibleFilterError(f"a health row needs {', '.join(COLUMNS)} with a known severity, got {row!r}")
    ordered = sorted(flat, key=lambda r: (-_RANK[r["severity"]], r["host"], r["check"], r["target"]))
    counts = {name: sum(1 for r in flat if r["severity"] == name) for name in SEVERITIES}
    return {
        "status": _worst(r["severity"] for r in flat),
        "counts": counts,
        "generated_at": generated_at,
        "scope": list(scope) if scope else [],
        "rows": ordered,
    }


def _summary(report: dict[str, Any]) -> str:
    counts = report["counts"]
    return (
        f"health: {report['status'].upper()} - {counts['critical']} critical, {counts['warning']} warning, "
        f"{counts['ok']} ok"
    )


def health_report_table(report: dict[str, Any], width: int = 160) -> str:
    """A fixed-width text table, one line per row, reasons cut to fit `width`, and a summary line."""
    headers = {"host": "HOST", "check": "CHECK", "target": "TARGET", "severity": "STATUS", "reason": "REASON"}
    rows = report["rows"]
    widths = {c: min(max([len(headers[c])] + [len(r[c]) for r in rows]), _MAX_COLUMN) for c in COLUMNS if c != "reason"}
    fixed = sum(widths.values()) + 2 * len(widths)
    room = max(int(width) - fixed, 20)

    def cut(text: str, size: int) -> str:
        return text if len(text) <= size else text[: size - 3] + "..."

    def line(values: dict[str, str]) -> str:
        reason = cut(values["reason"], room)
        cells = [cut(values[c], widths[c]).ljust(widths[c]) for c in COLUMNS if c != "reason"]
        return "  ".join([*cells, reason]).rstrip()

    out = [line(headers), "  ".join("-" * widths[c] for c in COLUMNS if c != "reason") + "  " + "-" * 6]
    out += [line({**r, "severity": r["severity"].upper()}) for r in rows]
    out.append(_summary(report) + (f" ({report['generated_at']})" if report.get("generated_at") else ""))
    return "\n".join(out)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def health_report_markdown(report: dict[str, Any], title: str = "Health check") -> str:
    out = [f"# {title}", ""]
    if report.get("generated_at"):
        out += [f"Generated {report['generated_at']}.", ""]
    out += [f"**{_summary(report)}**", "", "| host | check | target | status | reason |", "|---|---|---|---|---|"]
    out += [
        f"| {_md(r['host'])} | {_md(r['check'])} | {_md(r['target'])} | {r['severity']} | {_md(r['reason'])} |"
        for r in report["rows"]
    ]
    return "\n".join(out) + "\n"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "health_alert_rows": health_alert_rows,
            "health_balance_rows": health_balance_rows,
            "health_integrity_row": health_integrity_row,
            "health_job_rows": health_job_rows,
            "health_journal_row": health_journal_row,
            "health_node_rows": health_node_rows,
            "health_ready_row": health_ready_row,
            "health_report": health_report,
            "health_report_markdown": health_report_markdown,
            "health_report_table": health_report_table,
            "health_resource_rows": health_resource_rows,
            "health_row_lines": health_row_lines,
            "health_rows_at_least": health_rows_at_least,
            "health_severity_at_least": health_severity_at_least,
            "health_trading_row": health_trading_row,
            "health_unit_rows": health_unit_rows,
            "health_unreachable_row": health_unreachable_row,
        }
