"""failure_reason: the one line a rescue block reports for the task that failed."""

from __future__ import annotations

import pytest

from ansible_collections.mevops.infra.plugins.filter.failure import failure_reason


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ({"failed": True, "msg": "Timeout when waiting for 10.0.0.1:8090"}, "Timeout when waiting for 10.0.0.1:8090"),
        (
            {"msg": "non-zero return code", "rc": 56, "stderr": "WARN: slow\nERROR: [056]: unable to find primary\n\n"},
            "ERROR: [056]: unable to find primary (rc 56)",
        ),
        ({"msg": "", "rc": 3, "stderr": "", "stdout": "inactive\n"}, "inactive (rc 3)"),
        ({"msg": "non-zero return code", "rc": 1, "stderr": "", "stdout": ""}, "exit code 1"),
        (
            {"msg": "One or more items failed", "results": [{"failed": False}, {"failed": True, "msg": "HTTP 500"}]},
            "HTTP 500",
        ),
        ({"msg": "One or more items failed", "results": [{"failed": True}]}, "One or more items failed"),
        (
            {"results": [{"failed": False, "msg": "ok"}, {"failed": True, "rc": 2, "stderr": "no such chain"}]},
            "no such chain (rc 2)",
        ),
        ({"failed": True}, "failed"),
        ({}, "failed"),
        (None, "failed"),
        ("a string", "failed"),
    ],
)
def test_failure_reason(result, reason):
    assert failure_reason(result) == reason
