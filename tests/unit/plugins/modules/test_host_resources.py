"""Unit tests for the host_resources module, run for real on this machine with psutil.

The figures are checked against what the kernel says through other doors (/proc/meminfo,
os.statvfs, os.cpu_count, /proc/loadavg). psutil is replaced only for states that cannot be
produced here: a 95 % full disk, and psutil not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.module_utils.resources import REDACTED
from ansible_collections.mevops.infra.plugins.modules import host_resources

Runner = Callable[..., dict[str, Any]]
ZERO = {"cpu": 0, "memory": 0, "disk": 0, "load_per_cpu": 0}
FAST = {"cpu_sample_seconds": 0.1}


def meminfo_bytes(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, value = line.split(":", 1)
        if name == field:
            return int(value.split()[0]) * 1024
    raise AssertionError(f"{field} not in /proc/meminfo")


@pytest.fixture
def busy_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process burning one CPU, with a secret on its command line, for the top lists."""
    code = "import sys\nwhile True: pass"
    proc = subprocess.Popen([sys.executable, "-c", code, "--token=hunter2-secret", "--password", "swordfish"])
    time.sleep(0.2)
    yield proc
    proc.kill()
    proc.wait()


# --- real figures ---------------------------------------------------------------------


def test_figures_match_the_kernel(run_module: Runner) -> None:
    result = run_module(host_resources, {"mounts": ["/"], **FAST})

    assert result["changed"] is False
    assert result["cpu"]["count"] == os.cpu_count()
    assert len(result["cpu"]["per_cpu"]) == os.cpu_count()
    assert 0 <= result["cpu"]["percent"] <= 100

    memory = result["memory"]
    assert memory["total"] == meminfo_bytes("MemTotal")
    assert 0 < memory["available"] <= memory["total"]
    # MemAvailable moves between two reads; 5 % of memory is far more than it moves in a second.
    assert abs(memory["available"] - meminfo_bytes("MemAvailable")) < memory["total"] * 0.05
    assert memory["swap"]["total"] == meminfo_bytes("SwapTotal")

    (root,) = result["disks"]
    stat = os.statvfs("/")
    assert root["mount"] == "/"
    assert root["mountpoint"] == "/"
    assert root["total"] == stat.f_blocks * stat.f_frsize
    assert root["inodes"]["total"] == stat.f_files
    assert root["fstype"]
    # df's Use%: used / (used + available to unprivileged users).
    assert root["used_percent"] == pytest.approx(root["used"] / (root["used"] + root["free"]) * 100, abs=0.1)

    loadavg = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    for window, proc_value in zip(("1", "5", "15"), loadavg, strict=True):
        assert result["load"][window] == pytest.approx(proc_value, abs=1.0)
        assert result["load"]["per_cpu"][window] == pytest.approx(result["load"][window] / os.cpu_count(), abs=0.01)
    assert result["status"] in {"ok", "warning", "critical"}
    assert result["skipped_mounts"] == []


def test_default_mounts_are_root_and_data_when_present(run_module: Runner) -> None:
    result = run_module(host_resources, FAST)
    expected = ["/", "/data"] if os.path.exists("/data") else ["/"]
    assert [disk["mount"] for disk in result["disks"]] == expected


def test_a_path_below_a_mount_reports_its_file_system(run_module: Runner, tmp_path: Path) -> None:
    result = run_module(host_resources, {"mounts": [str(tmp_path)], **FAST})
    (disk,) = result["disks"]
    stat = os.statvfs(tmp_path)
    assert disk["mount"] == str(tmp_path)
    assert str(tmp_path).startswith(disk["mountpoint"])
    assert disk["total"] == stat.f_blocks * stat.f_frsize


def test_zero_thresholds_give_a_critical_finding_for_each_resource(run_module: Runner) -> None:
    result = run_module(host_resources, {"mounts": ["/"], "warning": ZERO, "critical": ZERO, **FAST})
    assert result["status"] == "critical"
    by_resource = {finding["resource"]: finding for finding in result["findings"]}
    assert set(by_resource) == {"cpu", "memory", "disk /", "inodes /", "load"}
    assert all(finding["severity"] == "critical" for finding in result["findings"])
    assert by_resource["disk /"]["value"] == pytest.approx(result["disks"][0]["used_percent"], abs=0.01)
    assert by_resource["memory"]["message"] == f"memory {result['memory']['used_percent']:.1f} % used (critical at 0 %)"


def test_findings_agree_with_the_returned_figures(run_module: Runner) -> None:
    # The highest thresholds there are: whatever reaches them must be a finding, nothing else may be.
    high = {"cpu": 100, "memory": 100, "disk": 100, "load_per_cpu": 1000}
    result = run_module(host_resources, {"mounts": ["/"], "warning": high, "critical": high, "top": 0, **FAST})
    figures = {
        "cpu": result["cpu"]["percent"],
        "memory": result["memory"]["used_percent"],
        "disk /": result["disks"][0]["used_percent"],
        "inodes /": result["disks"][0]["inodes"]["used_percent"],
        "load": result["load"]["per_cpu"]["5"],
    }
    threshold_of = {"cpu": "cpu", "memory": "memory", "disk /": "disk", "inodes /": "disk", "load": "load_per_cpu"}
    reached = {name for name, value in figures.items() if value is not None and value >= high[threshold_of[name]]}
    assert {finding["resource"] for finding in result["findings"]} == reached
    assert result["status"] == ("critical" if reached else "ok")
    assert result["top_cpu"] == [] and result["top_memory"] == []


def test_partial_threshold_dict_keeps_the_other_defaults(run_module: Runner) -> None:
    # Only warning.disk is given (0): the disk warns, critical.disk stays 90, memory keeps 80/90.
    result = run_module(host_resources, {"mounts": ["/"], "warning": {"disk": 0}, "top": 0, **FAST})
    used = result["disks"][0]["used_percent"]
    disk = next(f for f in result["findings"] if f["resource"] == "disk /")
    assert (disk["severity"], disk["threshold"]) == (("critical", 90) if used >= 90 else ("warning", 0))
    memory_reported = any(f["resource"] == "memory" for f in result["findings"])
    assert memory_reported == (result["memory"]["used_percent"] >= 80)


def test_top_limits_both_lists(run_module: Runner) -> None:
    result = run_module(host_resources, {"mounts": ["/"], "top": 3, **FAST})
    assert len(result["top_cpu"]) == len(result["top_memory"]) == 3
    rss = [row["rss"] for row in result["top_memory"]]
    assert rss == sorted(rss, reverse=True)
    # This test process is among the three largest, or the third is at least about as large.
    own = psutil.Process()
    assert own.pid in {row["pid"] for row in result["top_memory"]} or rss[-1] >= own.memory_info().rss * 0.9


def test_check_mode_returns_the_same_report(run_module: Runner) -> None:
    result = run_module(host_resources, {"mounts": ["/"], "top": 0, **FAST}, check_mode=True)
    assert result["changed"] is False
    assert result["memory"]["total"] == meminfo_bytes("MemTotal")


# --- top processes --------------------------------------------------------------------


def test_top_lists_find_a_busy_process_without_its_cmdline(
    run_module: Runner, busy_process: subprocess.Popen[bytes]
) -> None:
    # top large enough to list every process: other helpers share these CPUs, so the busy
    # process is not guaranteed to rank first; it must be there and visibly busy.
    result = run_module(host_resources, {"mounts": ["/"], "top": 10000, "cpu_sample_seconds": 0.5})
    busy = next((row for row in result["top_cpu"] if row["pid"] == busy_process.pid), None)
    assert busy is not None, f"busy process {busy_process.pid} not listed"
    assert busy["cpu_percent"] > 5
    assert len(result["top_cpu"]) == len(result["top_memory"]) == len({row["pid"] for row in result["top_cpu"]})
    cpu = [row["cpu_percent"] for row in result["top_cpu"]]
    assert cpu == sorted(cpu, reverse=True)
    assert busy["user"] == psutil.Process().username()
    assert busy["rss"] == pytest.approx(psutil.Process(busy_process.pid).memory_info().rss, rel=0.5)
    assert "cmdline" not in busy
    rss = [row["rss"] for row in result["top_memory"]]
    assert rss == sorted(rss, reverse=True)
    assert "hunter2" not in repr(result) and "swordfish" not in repr(result)


def test_a_process_started_during_the_sample_is_counted(run_module: Runner) -> None:
    # top's first frame shows such a process at 0 %; here its CPU time counts from its start.
    spawned: list[subprocess.Popen[bytes]] = []
    code = "import time\nend = time.monotonic() + 3\nwhile time.monotonic() < end: pass"
    timer = threading.Timer(0.2, lambda: spawned.append(subprocess.Popen([sys.executable, "-c", code])))
    timer.start()
    try:
        result = run_module(host_resources, {"mounts": ["/"], "top": 10000, "cpu_sample_seconds": 1.0})
    finally:
        timer.join()
        for proc in spawned:
            proc.kill()
            proc.wait()
    (late,) = spawned
    row = next((row for row in result["top_cpu"] if row["pid"] == late.pid), None)
    assert row is not None, f"process {late.pid} started during the sample not in {result['top_cpu']}"
    # It ran for about 0.8 s of the 1 s sample on a shared machine; top's first frame would say 0.
    assert 5 < row["cpu_percent"] <= 100


def test_include_cmdline_redacts_secrets(run_module: Runner, busy_process: subprocess.Popen[bytes]) -> None:
    result = run_module(host_resources, {"mounts": ["/"], "top": 5, "include_cmdline": True, "cpu_sample_seconds": 0.5})
    busy = next(row for row in result["top_cpu"] if row["pid"] == busy_process.pid)
    assert busy["cmdline"].startswith(sys.executable)
    assert f"--token={REDACTED} --password {REDACTED}" in busy["cmdline"]
    assert "hunter2" not in repr(result) and "swordfish" not in repr(result)


# --- missing mounts and bad input -----------------------------------------------------


def test_missing_mount_fails_naming_it(run_module: Runner, tmp_path: Path) -> None:
    gone = str(tmp_path / "nowhere")
    with pytest.raises(ModuleFailed) as exc:
        run_module(host_resources, {"mounts": ["/", gone], **FAST})
    assert gone in exc.value.result["msg"]
    assert "missing_mounts: skip" in exc.value.result["msg"]


def test_missing_mount_is_skipped_when_asked(run_module: Runner, tmp_path: Path) -> None:
    gone = str(tmp_path / "nowhere")
    result = run_module(host_resources, {"mounts": [gone, "/"], "missing_mounts": "skip", **FAST})
    assert [disk["mount"] for disk in result["disks"]] == ["/"]
    assert result["skipped_mounts"] == [gone]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"warning": {"disk": 95}}, "warning.disk (95) must not be above critical.disk (90)"),
        ({"critical": {"memory": 120}}, "critical.memory must be a percentage between 0 and 100, got 120"),
        ({"warning": {"cpu": -5}}, "warning.cpu must be a percentage between 0 and 100, got -5"),
        ({"warning": {"load_per_cpu": 3}}, "warning.load_per_cpu (3) must not be above critical.load_per_cpu (2)"),
        ({"cpu_sample_seconds": 0}, "cpu_sample_seconds must be between 0.05 and 60, got 0"),
        ({"top": -1}, "top must be 0 or more, got -1"),
        ({"mounts": ["data"]}, "mounts: 'data' is not an absolute path"),
    ],
)
def test_bad_input_fails_naming_the_option(run_module: Runner, args: dict[str, Any], message: str) -> None:
    with pytest.raises(ModuleFailed) as exc:
        run_module(host_resources, args)
    assert message in exc.value.result["msg"]


# --- what cannot be produced here -----------------------------------------------------

Usage = namedtuple("Usage", "total used free percent")


def test_a_95_percent_full_disk_is_critical_but_does_not_fail(
    run_module: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = psutil.disk_usage

    def usage(path: str) -> Usage:
        if path == "/":
            return Usage(total=1000, used=950, free=50, percent=95.0)
        return real(path)

    monkeypatch.setattr(host_resources.psutil, "disk_usage", usage)
    result = run_module(host_resources, {"mounts": ["/"], "top": 0, **FAST})
    assert result["status"] == "critical"
    assert {
        "resource": "disk /",
        "value": 95.0,
        "threshold": 90,
        "severity": "critical",
        "message": "disk / 95.0 % used (critical at 90 %)",
    } in result["findings"]


def test_missing_psutil_tells_the_operator_what_to_install(run_module: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_resources, "psutil", None)
    with pytest.raises(ModuleFailed) as exc:
        run_module(host_resources, {})
    message = exc.value.result["msg"]
    assert "psutil" in message
    assert "python3-psutil" in message


# --- documentation agrees with the code -----------------------------------------------


def _shape(options: dict[str, Any], nested: str) -> dict[str, Any]:
    """Type, default, choices, elements and nested options of each option, from docs or spec."""
    return {
        name: {
            "type": entry.get("type", "str"),
            "default": entry.get("default"),
            "choices": entry.get("choices"),
            "elements": entry.get("elements"),
            "options": _shape(entry[nested], nested) if nested in entry else None,
        }
        for name, entry in options.items()
    }


def test_documented_options_match_the_argument_spec() -> None:
    documented = yaml.safe_load(host_resources.DOCUMENTATION)["options"]
    assert _shape(documented, "suboptions") == _shape(host_resources.argument_spec(), "options")


def test_return_documents_every_returned_key(run_module: Runner) -> None:
    result = run_module(host_resources, {"mounts": ["/"], "top": 1, **FAST})
    documented = yaml.safe_load(host_resources.RETURN)
    assert set(result) - {"changed"} == set(documented)
    assert set(result["disks"][0]) == set(documented["disks"]["contains"])
    assert set(result["cpu"]) == set(documented["cpu"]["contains"])
    assert set(result["memory"]) == set(documented["memory"]["contains"])
    assert set(result["top_cpu"][0]) == {"pid", "name", "user", "cpu_percent", "rss", "memory_percent"}
