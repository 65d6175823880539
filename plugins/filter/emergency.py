# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters of the emergency role: the report lines its steps write and the summary of every host.

emergency_summary: "{{ hostvars | mevops.infra.emergency_summary(groups, ansible_run_tags, ansible_skip_tags) }}"
emergency_notified: "{{ __emergency_notify.results | mevops.infra.emergency_notified(_emergency_http_ok) }}"
_emergency_line: "{{ __emergency_cancel | mevops.infra.emergency_cancel_line(__emergency_cancel_host) }}"
_emergency_line: "{{ __emergency_withdraw.results | mevops.infra.emergency_withdraw_line(host, to) }}"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.module_utils import units

# Every step of an engine host, in the playbook's order; the other hosts only do the last three.
ENGINE_STEPS = ("stop_trading", "cancel_pending", "withdraw", "snapshot", "shutdown", "shutdown_support", "isolate")
HOST_STEPS = ("snapshot", "shutdown_support", "isolate")
NO_REPORT = "NO REPORT - host unreachable or failed before this step (see the recap)"


def _var(hostvars: Any, host: str, name: str, default: Any) -> Any:
    """hostvars[host][name], or `default` when the host or the variable is not there."""
    try:
        return hostvars[host].get(name, default)
    except KeyError:
        return default


def _eth(wei: Any) -> str:
    try:
        return units.wei_to_eth(wei)
    except ValueError as exc:
        raise AnsibleFilterError(f"emergency_withdraw_line: {exc}") from None


def _selected(step: str, run: Sequence[str], skip: Sequence[str]) -> bool:
    """Whether the run's tags ran `step` (shutdown_support runs under the tag shutdown)."""
    tag = "shutdown" if step == "shutdown_support" else step
    return ("all" in run or step in run or tag in run) and step not in skip and tag not in skip


def emergency_summary(
    hostvars: Any, groups: Any, run_tags: Sequence[str] | None = None, skip_tags: Sequence[str] | None = None
) -> list[str]:
    """One line per targeted host and step the run's tags selected: the host's report, FAILED when the
    step failed, NO REPORT when the host wrote none for it."""
    if not isinstance(groups, Mapping):
        raise AnsibleFilterError(f"emergency_summary needs `groups` as its first argument, got {type(groups).__name__}")
    run = list(run_tags) if run_tags is not None else ["all"]
    skip = list(skip_tags or [])
    engines = list(groups.get("engines") or [])
    lines: list[str] = []
    for host in groups.get("all") or []:
        # stop_trading_fleet registers its result on every engine of its play: those it stopped are reported from it.
        fleet = (_var(hostvars, host, "__emergency_stop_fleet", {}) or {}).get("results") or {}
        stopped = fleet[host] if host in fleet and "trading" in fleet[host] else None
        if not (_var(hostvars, host, "emergency_targeted", False) or stopped):
            continue
        report = dict(_var(hostvars, host, "_emergency_report", {}) or {})
        if stopped and "stop_trading" not in report:
            report["stop_trading"] = (
                f"API: trading {stopped.get('previous')} -> {stopped['trading']['state']} (called from the controller)"
            )
        failed = _var(hostvars, host, "_emergency_failed", []) or []
        for step in ENGINE_STEPS if host in engines else HOST_STEPS:
            if not _selected(step, run, skip):
                continue
            if step in report:
                lines.append(f"{host} {step}: {'FAILED ' if step in failed else ''}{str(report[step]).strip()}")
            else:
                lines.append(f"{host} {step}: {NO_REPORT}")
    return lines


def emergency_notified(results: Sequence[Mapping[str, Any]] | None, http_ok: Sequence[int]) -> str:
    """'<webhook>: HTTP <status>; ' per webhook posted to, FAILED (<status>) when it did not take the
    message, 'no webhook configured' when there was none."""
    parts = []
    for result in results or []:
        name = (result.get("item") or {}).get("name", "webhook")
        status = result.get("status", -1)
        answer = f"HTTP {status}" if status in http_ok else f"FAILED ({result.get('status', 'no answer')})"
        parts.append(f"{name}: {answer}; ")
    return "".join(parts) or "no webhook configured"


def emergency_cancel_line(api: Mapping[str, Any], host: Mapping[str, Any] | None = None) -> str:
    """The cancel_pending step's report: the replacements the API sent, else those signed on the host."""
    host = host or {}
    if "cancelled" in api:
        cancelled = api["cancelled"]
        sent = ", ".join(f"{c['chain']} nonce {c['nonce']}" for c in cancelled)
        return f"API: {len(cancelled)} replacement(s) sent" + (f" ({sent})" if cancelled else ", nothing pending")
    if "chains" in host:
        replaced = "".join(
            f"{c['chain']} nonces {[r['nonce'] for r in c['cancelled']]} replaced; " for c in host["chains"]
        )
        missed = f" NOT replaced: {host['msg']}" if "msg" in host else ""
        return f"API did not answer ({api.get('msg', '?')}); on the host with the keystore: {replaced}{missed}"
    return f"FAILED: {api.get('msg', 'no answer')}"


def _contracts_part(items: Sequence[Mapping[str, Any]] | None) -> str:
    """', from <contract>: <amount> <token> tx <hash>, ...' for the owned contracts' withdrawals
    (the engine's `contracts`: amount; evm_sweep's: amount_wei and action)."""
    moved = [i for i in items or [] if i.get("action", "withdraw") in ("withdraw", "withdraw_token", "withdraw_eth")]
    return "".join(
        f", from {i['contract']} {i.get('amount', i.get('amount_wei'))} "
        + (f"of token {i['token']}" if i.get("token") else "wei")
        + (f" tx {i['tx_hash']}" if i.get("tx_hash") else "")
        for i in moved
    )


def emergency_withdraw_line(
    api: Sequence[Mapping[str, Any]] | None,
    host: Mapping[str, Any] | None,
    to: str,
    left: Mapping[str, Any] | None = None,
) -> str:
    """The withdraw step's report: what the API withdrew per chain and what it left in the hot
    wallet (`left`: evm_balance's result, read from the chains after the withdrawals were mined),
    else what was swept on the host."""
    host = host or {}
    if "chains" in host:
        swept = "".join(
            f" {c['chain']} {c['state']} {_eth(c['swept_wei'])} ETH"
            + (f" tx {c['tx_hash']}" if c.get("tx_hash") else "")
            + _contracts_part(c.get("contracts"))
            + f", left {c['remaining_wei']} wei;"
            for c in host["chains"]
        )
        failed = f" FAILED: {host['msg']}" if "msg" in host else ""
        return f"API did not answer; on the host with the keystore to {to}: {swept}{failed}"
    left = left or {}
    remaining = {b["chain"]: b["wei"] for b in left.get("balances", [])}

    def chain_line(r: Mapping[str, Any]) -> str:
        name = r["item"]["name"]
        if "withdrawal" not in r:
            return f" {name} {r.get('msg', '?')};"
        w = r["withdrawal"]
        family = f" ({w['fee_family']})" if w.get("fee_family") else ""
        stays = f", left {remaining[name]} wei" if name in remaining else ""
        sent = f" tx {w['tx_hash']}" if w.get("tx_hash") else ""
        return f" {name} {_eth(w['amount_wei'])} ETH{sent}{family}{_contracts_part(w.get('contracts'))}{stays};"

    unread = f" (what stays behind not read: {left.get('msg', '?')})" if left.get("failed") else ""
    return f"API to {to}: {''.join(chain_line(r) for r in api or [])}{unread}"


class FilterModule:
    """Emergency filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "emergency_summary": emergency_summary,
            "emergency_notified": emergency_notified,
            "emergency_cancel_line": emergency_cancel_line,
            "emergency_withdraw_line": emergency_withdraw_line,
        }
