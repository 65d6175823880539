"""The disk guard's cleanup rules on real files in a temporary tree (usage is faked: a
test cannot fill a real file system)."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import pytest
from scriptload import load_script

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "housekeeping" / "files" / "mevops-disk-guard"


guard_module = load_script(SCRIPT, "mevops_disk_guard")


def age(path: Path, days: float) -> None:
    stamp = time.time() - days * 86400
    os.utime(path, (stamp, stamp))


@pytest.fixture
def tree(tmp_path):
    logs = tmp_path / "log" / "mev"
    logs.mkdir(parents=True)
    (logs / "engine.log").write_text("active\n" * 1000)
    (logs / "engine.log.1").write_text("rotated\n" * 100000)
    (logs / "engine.log.2.gz").write_bytes(os.urandom(1000))
    age(logs / "engine.log.2.gz", 2)
    (logs / "engine.log.9.gz").write_bytes(os.urandom(5000))
    age(logs / "engine.log.9.gz", 30)
    (logs / "positions.dat").write_bytes(os.urandom(5000))
    age(logs / "positions.dat", 30)
    chain = tmp_path / "chain" / "ancient"
    chain.mkdir(parents=True)
    (chain / "000001.ldb").write_bytes(os.urandom(5000))
    age(chain / "000001.ldb", 60)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "mev_old").write_text("x" * 100)
    age(tmp / "mev_old", 3)
    (tmp / "mev_new").write_text("x")
    (tmp / "other_old").write_text("x")
    age(tmp / "other_old", 3)
    config = {
        "paths": [str(tmp_path)],
        "warn_percent": 80,
        "critical_percent": 90,
        "log_globs": [str(logs / "*.log")],
        "keep_days": 14,
        "logrotate_config": None,
        "tmp_patterns": [str(tmp / "mev_*")],
        "tmp_age_hours": 24,
        "extra_rules": [],
    }
    return tmp_path, config


def run(config, usage: float, dry_run: bool = False, monkeypatch=None):
    monkeypatch.setattr(guard_module.Guard, "usage", staticmethod(lambda path: usage))
    return guard_module.Guard(config, dry_run=dry_run).run()


def test_below_warning_touches_nothing(tree, monkeypatch):
    root, config = tree
    report = run(config, 50.0, monkeypatch=monkeypatch)
    assert report["status"] == "ok" and not report["cleanup_ran"] and report["actions"] == []
    assert (root / "log" / "mev" / "engine.log.1").exists()


def test_warning_only_reports(tree, monkeypatch):
    _root, config = tree
    report = run(config, 85.0, monkeypatch=monkeypatch)
    assert report["status"] == "warning" and not report["cleanup_ran"]


def test_critical_applies_only_the_safe_rules(tree, monkeypatch):
    root, config = tree
    logs = root / "log" / "mev"
    report = run(config, 95.0, monkeypatch=monkeypatch)
    assert report["cleanup_ran"]
    assert not (logs / "engine.log.1").exists()
    with gzip.open(logs / "engine.log.1.gz", "rt") as handle:
        assert handle.read() == "rotated\n" * 100000  # compressed, not lost
    assert not (logs / "engine.log.9.gz").exists()  # older than keep_days
    assert (logs / "engine.log.2.gz").exists()
    assert (logs / "engine.log").read_text() == "active\n" * 1000
    assert (logs / "positions.dat").exists()  # not a log
    assert (root / "chain" / "ancient" / "000001.ldb").exists()  # chain data: never without a rule
    assert not (root / "tmp" / "mev_old").exists()
    assert (root / "tmp" / "mev_new").exists() and (root / "tmp" / "other_old").exists()
    assert report["freed_bytes"] > 700000
    assert {a["action"].split(" ")[0] for a in report["actions"]} == {"compress", "delete"}


def test_dry_run_changes_nothing(tree, monkeypatch):
    root, config = tree
    before = sorted(p.name for p in root.rglob("*"))
    report = run(config, 95.0, dry_run=True, monkeypatch=monkeypatch)
    assert report["freed_bytes"] > 0
    assert sorted(p.name for p in root.rglob("*")) == before


def test_explicit_rule_reaches_chain_data(tree, monkeypatch):
    root, config = tree
    config["extra_rules"] = [{"path": str(root / "chain" / "ancient"), "pattern": "*.ldb", "older_than_days": 30}]
    run(config, 95.0, monkeypatch=monkeypatch)
    assert not (root / "chain" / "ancient" / "000001.ldb").exists()


def test_bad_config_is_refused(tmp_path, capsys):
    bad = tmp_path / "guard.json"
    bad.write_text('{"paths": ["/"], "warn_percent": 95, "critical_percent": 90}')
    assert guard_module.main(["--check-config", str(bad)]) == 1
    assert "missing keys" in capsys.readouterr().err


def test_the_cleanup_is_written_for_the_alert_only_when_it_acts(tree, monkeypatch, tmp_path_factory):
    """main() with a metrics_file: nothing at 50 %, the cleanup's time and bytes at 95 %."""
    _root, config = tree
    out = tmp_path_factory.mktemp("textfiles")
    config["metrics_file"] = str(out / "mevops_disk_guard.prom")
    path = out / "guard.json"
    path.write_text(json.dumps(config))
    monkeypatch.setattr(guard_module.Guard, "usage", staticmethod(lambda p: 50.0))
    assert guard_module.main(["--config", str(path)]) == 0
    assert not (out / "mevops_disk_guard.prom").exists()
    monkeypatch.setattr(guard_module.Guard, "usage", staticmethod(lambda p: 95.0))
    assert guard_module.main(["--config", str(path)]) == 2
    values = dict(
        line.split(" ") for line in (out / "mevops_disk_guard.prom").read_text().splitlines() if line[0] != "#"
    )
    assert abs(float(values["mevops_disk_guard_last_cleanup_timestamp_seconds"]) - time.time()) < 60
    assert int(values["mevops_disk_guard_freed_bytes"]) > 700000
    assert (out / "mevops_disk_guard.prom").stat().st_mode & 0o777 == 0o644
