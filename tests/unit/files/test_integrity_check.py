"""The summary mevops-integrity-check writes from AIDE's exit code and JSON report."""

from __future__ import annotations

import json
from pathlib import Path

from scriptload import load_script

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "integrity" / "files" / "mevops-integrity-check"


check = load_script(SCRIPT, "mevops_integrity_check")

# Shape of AIDE 0.18's report_format=json, as written in the molecule scenario.
REPORT = {
    "outline": "AIDE found differences between database and filesystem!!",
    "number_of_entries": {"total": 3, "added": 1, "removed": 0, "changed": 1},
    "added": {"/etc/mev/new": "f+++++++++++++++++"},
    "changed": {"/etc/mev/config.yaml": "f > ... ....H.. . "},
}


def test_clean():
    summary = check.summarise(0, {}, "")
    assert summary["status"] == "clean"
    assert summary["added"] == summary["removed"] == summary["changed"] == []


def test_changes_are_listed():
    summary = check.summarise(5, REPORT, "")
    assert summary["status"] == "changed"
    assert summary["added"] == ["/etc/mev/new"]
    assert summary["changed"] == ["/etc/mev/config.yaml"]


def test_aide_errors_are_errors():
    summary = check.summarise(17, {}, "line1\nCouldn't open file /var/lib/mevops/integrity/aide.db.gz for reading\n")
    assert summary["status"] == "error"
    assert "Couldn't open file" in summary["message"][-1]


def test_summary_is_written_atomically_and_readable(tmp_path):
    target = tmp_path / "summary.json"
    check.write_atomic(str(target), json.dumps({"status": "clean"}))
    assert json.loads(target.read_text()) == {"status": "clean"}
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_the_change_count_is_written_for_the_alert():
    assert check.metrics(check.summarise(5, REPORT, "")).splitlines()[-1] == "mevops_integrity_changes 2"
    assert check.metrics(check.summarise(0, {}, "")).splitlines()[-1] == "mevops_integrity_changes 0"
