"""host_tuning's report (/var/lib/mevops/host_tuning_report.json) as the tests of both hosts read it."""

from __future__ import annotations

import json

REPORT = "/var/lib/mevops/host_tuning_report.json"


def report(host) -> dict:
    return json.loads(host.file(REPORT).content_string)


def report_settings(host) -> dict[str, dict]:
    """{setting: its report entry}."""
    return {entry["setting"]: entry for entry in report(host)["settings"]}
