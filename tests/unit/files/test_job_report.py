"""mevops-job-report: what every scheduled job leaves for node_exporter's textfile collector,
and that monitoring's metrics.yml names each metric it writes."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from scriptload import load_script

TOP = Path(__file__).resolve().parents[3]
report = load_script(TOP / "roles" / "_common" / "files" / "mevops-job-report", "mevops_job_report")

UNIT = "mevops-backup-db-full"


@pytest.fixture
def textfiles(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "systemd_property", lambda unit, prop: "")
    monkeypatch.setattr(report, "failed_units", lambda: ["mevops-backup-db-full.service"])
    return tmp_path


def run(directory: Path, *argv: str) -> int:
    return report.main(["--dir", str(directory), *argv])


def samples(path: Path) -> dict[str, float]:
    values = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            name, value = line.split(" ")
            values[name] = float(value)
    return values


def test_init_records_the_installation_once(textfiles, capsys):
    assert run(textfiles, "init", UNIT) == 0
    assert "report started" in capsys.readouterr().out
    first = samples(textfiles / f"mevops_job_{UNIT}.prom")
    assert list(first) == [f'mevops_job_installed_timestamp_seconds{{unit="{UNIT}"}}']
    assert run(textfiles, "init", f"{UNIT}.service") == 0
    assert capsys.readouterr().out == ""
    assert samples(textfiles / f"mevops_job_{UNIT}.prom") == first


def test_success_then_failure_keeps_the_last_success(textfiles, monkeypatch, capsys):
    run(textfiles, "init", UNIT)
    monkeypatch.setenv("SERVICE_RESULT", "success")
    monkeypatch.setattr(report.time, "time", lambda: 1000.0)
    assert run(textfiles, "finish", UNIT) == 0
    assert "<6>" in capsys.readouterr().out
    monkeypatch.setenv("SERVICE_RESULT", "exit-code")
    monkeypatch.setenv("EXIT_CODE", "exited")
    monkeypatch.setenv("EXIT_STATUS", "2")
    monkeypatch.setattr(report.time, "time", lambda: 2000.0)
    assert run(textfiles, "finish", UNIT) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"<2>{UNIT}: FAILED (exit-code: exited 2)")
    values = samples(textfiles / f"mevops_job_{UNIT}.prom")
    label = f'{{unit="{UNIT}"}}'
    assert values[f"mevops_job_last_success_timestamp_seconds{label}"] == 1000.0
    assert values[f"mevops_job_last_run_timestamp_seconds{label}"] == 2000.0
    assert values[f"mevops_job_failed{label}"] == 1.0
    assert f"mevops_job_installed_timestamp_seconds{label}" in values


def test_finish_outside_systemd_refuses(textfiles, monkeypatch, capsys):
    monkeypatch.delenv("SERVICE_RESULT", raising=False)
    assert run(textfiles, "finish", UNIT) == 2
    assert "ExecStopPost" in capsys.readouterr().out
    assert not list(textfiles.iterdir())


def test_duration_from_systemds_monotonic_clock(textfiles, monkeypatch):
    monkeypatch.setattr(report, "systemd_property", lambda unit, prop: "5000000")
    monkeypatch.setattr(report.time, "monotonic", lambda: 12.5)
    monkeypatch.setenv("SERVICE_RESULT", "success")
    run(textfiles, "finish", UNIT)
    assert samples(textfiles / f"mevops_job_{UNIT}.prom")[f'mevops_job_last_duration_seconds{{unit="{UNIT}"}}'] == 7.5


def test_failed_records_a_job_that_never_ran(textfiles, capsys):
    """OnFailure= without ExecStopPost= (the job could not start): the failure is still written."""
    assert run(textfiles, "failed", UNIT) == 0
    assert capsys.readouterr().out.startswith(f"<2>{UNIT} entered the failed state")
    values = samples(textfiles / f"mevops_job_{UNIT}.prom")
    assert values[f'mevops_job_failed{{unit="{UNIT}"}}'] == 1.0
    assert f'mevops_job_last_success_timestamp_seconds{{unit="{UNIT}"}}' not in values


def test_a_broken_file_is_rewritten_not_trusted(textfiles, monkeypatch):
    (textfiles / f"mevops_job_{UNIT}.prom").write_text("garbage {\n")
    monkeypatch.setenv("SERVICE_RESULT", "success")
    run(textfiles, "finish", UNIT)
    assert f'mevops_job_failed{{unit="{UNIT}"}}' in samples(textfiles / f"mevops_job_{UNIT}.prom")


def test_bad_unit_names_are_refused(textfiles, capsys):
    assert run(textfiles, "init", 'x"} 1\nevil') == 1
    assert "not a unit name" in capsys.readouterr().err


def test_status_lists_every_job_and_the_failed_units(textfiles, monkeypatch, capsys):
    monkeypatch.setenv("SERVICE_RESULT", "success")
    run(textfiles, "finish", UNIT)
    run(textfiles, "init", "mevops-disk-guard")
    (textfiles / "other.prom").write_text("node_something 1\n")
    capsys.readouterr()
    assert run(textfiles, "status") == 0
    status = json.loads(capsys.readouterr().out)
    assert set(status["jobs"]) == {UNIT, "mevops-disk-guard"}
    assert status["jobs"][UNIT]["failed"] == 0.0
    assert "last_success_timestamp_seconds" in status["jobs"][UNIT]
    assert status["failed_units"] == ["mevops-backup-db-full.service"]


TEXTFILE = yaml.safe_load((TOP / "roles" / "monitoring" / "files" / "metrics.yml").read_text())["textfile"]
WRITERS = [
    TOP / "roles" / "housekeeping" / "files" / "mevops-disk-guard",
    TOP / "roles" / "integrity" / "files" / "mevops-integrity-check",
]


def test_metrics_yml_names_every_metric_written():
    """monitoring's metrics.yml (what the alert rules may name) describes what the writers write."""
    assert set(report.METRICS) <= set(TEXTFILE)
    for name, help_text in report.METRICS.items():
        assert TEXTFILE[name]["help"] == help_text, name
        assert TEXTFILE[name]["labels"] == ["unit"], name
    written = set(report.METRICS)
    # The security check's lines come from module_utils/security_findings.py's prom_text().
    sys.path.insert(0, str(TOP / "plugins" / "module_utils"))
    import security_findings

    texts = [path.read_text() for path in WRITERS]
    texts.append(security_findings.prom_text({"counts": {}}, 0))
    for text in texts:
        for name, help_text in re.findall(r"# HELP (\w+) ([^\n\\]+)", text):
            assert TEXTFILE[name]["help"] == help_text, name
            written.add(name)
    assert written == set(TEXTFILE), "metrics.yml lists a textfile metric nobody writes"


def test_record_a_run_outside_the_timer(textfiles):
    assert run(textfiles, "record", UNIT, "--result", "success", "--duration", "3.5") == 0
    values = samples(textfiles / f"mevops_job_{UNIT}.prom")
    assert values[f'mevops_job_failed{{unit="{UNIT}"}}'] == 0.0
    assert values[f'mevops_job_last_duration_seconds{{unit="{UNIT}"}}'] == 3.5
    assert f'mevops_job_last_success_timestamp_seconds{{unit="{UNIT}"}}' in values
