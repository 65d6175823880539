# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters for the daily security check (MEV Bot Operational Runbook, "Security
Operations → Daily Security Checks"). The findings are plugins/module_utils/security_findings.py's,
which the hosts' mevops-security-check runs too."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.module_utils import security_findings as findings


def security_report(items: Any) -> dict[str, Any]:
    """One report: the worst severity, counts per severity and the findings, worst first."""
    try:
        return findings.security_report(items)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    """mevops.infra security check filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "auth_failures": findings.auth_failures,
            "file_findings": findings.file_findings,
            "listener_findings": findings.listener_findings,
            "integrity_finding": findings.integrity_finding,
            "security_report": security_report,
            "security_report_text": findings.security_report_text,
        }
