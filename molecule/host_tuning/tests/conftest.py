"""host_tuning's report (/var/lib/mevops/host_tuning_report.json) as the tests of both hosts read it.

Fixtures rather than an importable module: the collection's pytest settings use
``--import-mode=importlib``, which does not put a test folder on ``sys.path``.
"""

from __future__ import annotations

import json

import pytest

REPORT = "/var/lib/mevops/host_tuning_report.json"


@pytest.fixture
def tuning_report(host) -> dict:
    return json.loads(host.file(REPORT).content_string)


@pytest.fixture
def tuning_settings(tuning_report) -> dict[str, dict]:
    """{setting: its report entry}."""
    return {entry["setting"]: entry for entry in tuning_report["settings"]}
