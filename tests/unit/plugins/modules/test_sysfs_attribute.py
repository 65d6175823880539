"""Unit tests for the sysfs_attribute module against fake /sys and /proc trees in tmp_path.

Plain attributes are written for real (regular files behave like plain attributes).
Selection files go through `kernel`, a stand-in for the kernel's store handler that moves
the brackets, since a regular file would just take the written text.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ansible.module_utils import basic
from harness import ModuleFailed

from ansible_collections.mevops.infra.plugins.module_utils import sysfs
from ansible_collections.mevops.infra.plugins.module_utils.sysfs import AttributeWriteError, parse_selection
from ansible_collections.mevops.infra.plugins.modules import sysfs_attribute

Runner = Callable[..., dict[str, Any]]

SCHEDULER = "/sys/block/nvme0n1/queue/scheduler"
THP = "/sys/kernel/mm/transparent_hugepage/enabled"
TCP_RMEM = "/proc/sys/net/ipv4/tcp_rmem"
GOVERNOR = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
HUGEPAGES = "/proc/sys/vm/nr_hugepages"


def put(root: Path, path: str, content: str, mode: int = 0o644) -> Path:
    """Create attribute `path` (as the host sees it) under the fake root."""
    file = root / path.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(content)
    file.chmod(mode)
    return file


def args(root: Path, path: str, **extra: Any) -> dict[str, Any]:
    return {"path": path, "root": str(root), **extra}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    fake = tmp_path / "root"
    fake.mkdir()
    return fake


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Replace the module's writer with a fake kernel store handler; returns the writes it saw."""
    writes: list[tuple[str, str]] = []

    def store(path: str, value: str) -> None:
        writes.append((path, value))
        file = Path(path)
        selected, options = parse_selection(file.read_text())
        if selected is None:
            file.write_text(value + "\n")
        elif value in options:
            file.write_text(" ".join(f"[{item}]" if item == value else item for item in options) + "\n")
        else:
            raise AttributeWriteError(path, value, errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(sysfs_attribute, "write_attribute", store)
    return writes


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Collect what the module passes to AnsibleModule.warn (the result's `warnings`)."""
    seen: list[str] = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda _self, warning, **_kw: seen.append(warning))
    return seen


def refuse_writes(monkeypatch: pytest.MonkeyPatch, target: Path, error_number: int) -> None:
    """Make opening `target` for writing fail with `error_number`, as a read-only /proc/sys does."""
    real_open = os.open

    def fake_open(path: str, flags: int, *rest: int) -> int:
        if os.fspath(path) == str(target) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(error_number, os.strerror(error_number), os.fspath(path))
        return real_open(path, flags, *rest)

    monkeypatch.setattr(sysfs.os, "open", fake_open)


def fail(run_module: Runner, module_args: dict[str, Any], **options: Any) -> dict[str, Any]:
    with pytest.raises(ModuleFailed) as exc:
        run_module(sysfs_attribute, module_args, **options)
    assert exc.value.result["failed"] is True
    return exc.value.result


# --- reading only ------------------------------------------------------------------------


def test_read_selection_file_without_value(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    file = put(root, SCHEDULER, "none [mq-deadline] kyber bfq\n")
    result = run_module(sysfs_attribute, args(root, SCHEDULER))
    assert result["changed"] is False
    assert result["status"] == "present"
    assert result["attribute"] == SCHEDULER
    assert result["value"] == "mq-deadline"
    assert result["previous"] == "mq-deadline"
    assert result["options"] == ["none", "mq-deadline", "kyber", "bfq"]
    assert "diff" not in result
    assert kernel == []
    assert file.read_text() == "none [mq-deadline] kyber bfq\n"


def test_read_plain_file_without_value(run_module: Runner, root: Path) -> None:
    put(root, TCP_RMEM, "4096\t131072\t6291456\n")
    result = run_module(sysfs_attribute, args(root, TCP_RMEM), diff=True)
    assert result["changed"] is False
    assert result["status"] == "present"
    assert result["value"] == "4096\t131072\t6291456"
    assert result["options"] == []
    assert "diff" not in result


def test_read_of_read_only_file_succeeds(run_module: Runner, root: Path) -> None:
    put(root, GOVERNOR, "powersave\n", mode=0o444)
    result = run_module(sysfs_attribute, args(root, GOVERNOR))
    assert result["status"] == "present"
    assert result["value"] == "powersave"


# --- selection files ---------------------------------------------------------------------


def test_selection_already_selected_is_unchanged(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    file = put(root, SCHEDULER, "[none] mq-deadline kyber bfq\n")
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="none"), diff=True)
    assert result["changed"] is False
    assert result["status"] == "present"
    assert result["value"] == "none"
    assert result["previous"] == "none"
    assert result["options"] == ["none", "mq-deadline", "kyber", "bfq"]
    assert "diff" not in result
    assert kernel == []
    assert file.read_text() == "[none] mq-deadline kyber bfq\n"


def test_selection_change_moves_the_bracket(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    file = put(root, SCHEDULER, "none [mq-deadline] kyber bfq\n")
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="none"))
    assert file.read_text() == "[none] mq-deadline kyber bfq\n"
    assert kernel == [(str(file), "none")]
    assert result["changed"] is True
    assert result["status"] == "present"
    assert result["value"] == "none"
    assert result["previous"] == "mq-deadline"
    assert result["options"] == ["none", "mq-deadline", "kyber", "bfq"]
    assert result["msg"] == f"changed {SCHEDULER} from 'mq-deadline' to 'none'"


def test_thp_change_to_madvise(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    file = put(root, THP, "[always] madvise never\n")
    result = run_module(sysfs_attribute, args(root, THP, value="madvise"))
    assert file.read_text() == "always [madvise] never\n"
    assert result["changed"] is True
    assert result["value"] == "madvise"
    assert result["previous"] == "always"


def test_second_run_is_idempotent(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    put(root, THP, "[always] madvise never\n")
    assert run_module(sysfs_attribute, args(root, THP, value="madvise"))["changed"] is True
    assert run_module(sysfs_attribute, args(root, THP, value="madvise"))["changed"] is False
    assert len(kernel) == 1


def test_selection_value_surrounding_whitespace_is_ignored(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    file = put(root, THP, "[always] madvise never\n")
    result = run_module(sysfs_attribute, args(root, THP, value=" madvise\n"))
    assert kernel == [(str(file), "madvise")]
    assert result["value"] == "madvise"


def test_value_not_offered_fails_naming_path_value_and_options(
    run_module: Runner, root: Path, kernel: list[Any]
) -> None:
    file = put(root, SCHEDULER, "[none] mq-deadline\n")
    result = fail(run_module, args(root, SCHEDULER, value="kyber"))
    assert str(file) in result["msg"]
    assert "'kyber'" in result["msg"]
    assert "it offers: none, mq-deadline" in result["msg"]
    assert "modprobe" in result["msg"]
    assert result["options"] == ["none", "mq-deadline"]
    assert result["previous"] == "none"
    assert result["changed"] is False
    assert kernel == []
    assert file.read_text() == "[none] mq-deadline\n"


def test_value_not_offered_on_thp_has_no_scheduler_hint(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    put(root, THP, "always [madvise] never\n")
    result = fail(run_module, args(root, THP, value="sometimes"))
    assert "it offers: always, madvise, never" in result["msg"]
    assert "modprobe" not in result["msg"]
    assert kernel == []


def test_value_not_offered_fails_in_check_mode_too(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    put(root, THP, "always [madvise] never\n")
    result = fail(run_module, args(root, THP, value="sometimes"), check_mode=True)
    assert "'sometimes'" in result["msg"]


# --- scheduler aliases -------------------------------------------------------------------


def test_noop_is_written_as_none_with_a_warning(
    run_module: Runner, root: Path, kernel: list[Any], warnings: list[str]
) -> None:
    file = put(root, SCHEDULER, "[mq-deadline] none kyber\n")
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="noop"))
    assert file.read_text() == "mq-deadline [none] kyber\n"
    assert kernel == [(str(file), "none")]
    assert result["changed"] is True
    assert result["value"] == "none"
    assert len(warnings) == 1
    assert "'noop'" in warnings[0]
    assert "'none'" in warnings[0]
    assert str(file) in warnings[0]


def test_noop_already_none_is_unchanged_but_still_warns(
    run_module: Runner, root: Path, kernel: list[Any], warnings: list[str]
) -> None:
    put(root, SCHEDULER, "[none] mq-deadline\n")
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="noop"))
    assert result["changed"] is False
    assert result["value"] == "none"
    assert kernel == []
    assert len(warnings) == 1


def test_deadline_is_written_as_mq_deadline(
    run_module: Runner, root: Path, kernel: list[Any], warnings: list[str]
) -> None:
    file = put(root, SCHEDULER, "[none] mq-deadline\n")
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="deadline"))
    assert file.read_text() == "none [mq-deadline]\n"
    assert result["value"] == "mq-deadline"
    assert len(warnings) == 1
    assert "'mq-deadline'" in warnings[0]


def test_legacy_kernel_offering_noop_gets_noop_without_warning(
    run_module: Runner, root: Path, kernel: list[Any], warnings: list[str]
) -> None:
    file = put(root, "/sys/block/sda/queue/scheduler", "noop [deadline] cfq\n")
    result = run_module(sysfs_attribute, args(root, "/sys/block/sda/queue/scheduler", value="noop"))
    assert file.read_text() == "[noop] deadline cfq\n"
    assert result["value"] == "noop"
    assert warnings == []


def test_alias_applies_only_to_scheduler_files(
    run_module: Runner, root: Path, kernel: list[Any], warnings: list[str]
) -> None:
    path = "/sys/class/fake/mode"
    file = put(root, path, "[always] none\n")
    result = fail(run_module, args(root, path, value="noop"))
    assert "'noop'" in result["msg"]
    assert warnings == []
    assert file.read_text() == "[always] none\n"


# --- plain files and whitespace ----------------------------------------------------------


def test_tcp_rmem_with_tabs_equals_value_with_spaces(run_module: Runner, root: Path) -> None:
    file = put(root, TCP_RMEM, "4096\t87380\t6291456\n")
    mtime = file.stat().st_mtime_ns
    result = run_module(sysfs_attribute, args(root, TCP_RMEM, value="4096 87380  6291456"), diff=True)
    assert result["changed"] is False
    assert result["value"] == "4096\t87380\t6291456"
    assert "diff" not in result
    assert file.read_text() == "4096\t87380\t6291456\n"
    assert file.stat().st_mtime_ns == mtime


def test_plain_change_is_written_and_read_back(run_module: Runner, root: Path) -> None:
    file = put(root, TCP_RMEM, "4096\t131072\t6291456\n")
    result = run_module(sysfs_attribute, args(root, TCP_RMEM, value="4096 87380 16777216"))
    assert file.read_text() == "4096 87380 16777216"
    assert result["changed"] is True
    assert result["status"] == "present"
    assert result["value"] == "4096 87380 16777216"
    assert result["previous"] == "4096\t131072\t6291456"
    assert result["options"] == []


def test_plain_value_is_written_stripped(run_module: Runner, root: Path) -> None:
    file = put(root, GOVERNOR, "powersave\n")
    result = run_module(sysfs_attribute, args(root, GOVERNOR, value="  performance\n"))
    assert file.read_text() == "performance"
    assert result["value"] == "performance"


def test_proc_attribute_is_managed(run_module: Runner, root: Path) -> None:
    file = put(root, "/proc/sys/vm/swappiness", "60\n")
    result = run_module(sysfs_attribute, args(root, "/proc/sys/vm/swappiness", value="1"))
    assert file.read_text() == "1"
    assert result["previous"] == "60"
    assert result["value"] == "1"


def test_symlinked_device_directory_is_followed(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    real = put(root, "/sys/devices/pci0000:00/nvme/nvme0n1/queue/scheduler", "[mq-deadline] none\n")
    link = root / "sys/block/nvme0n1"
    link.parent.mkdir(parents=True)
    link.symlink_to("../devices/pci0000:00/nvme/nvme0n1")
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="none"))
    assert result["changed"] is True
    assert real.read_text() == "mq-deadline [none]\n"


# --- check mode and diff -----------------------------------------------------------------


def test_check_mode_reports_change_without_writing_selection(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    file = put(root, SCHEDULER, "none [mq-deadline] kyber\n")
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="none"), check_mode=True)
    assert result["changed"] is True
    assert result["status"] == "present"
    assert result["value"] == "none"
    assert result["previous"] == "mq-deadline"
    assert result["options"] == ["none", "mq-deadline", "kyber"]
    assert result["msg"].startswith("would change")
    assert kernel == []
    assert file.read_text() == "none [mq-deadline] kyber\n"


def test_check_mode_reports_change_without_writing_plain(run_module: Runner, root: Path) -> None:
    file = put(root, "/proc/sys/net/core/somaxconn", "4096\n")
    result = run_module(sysfs_attribute, args(root, "/proc/sys/net/core/somaxconn", value="65535"), check_mode=True)
    assert result["changed"] is True
    assert result["value"] == "65535"
    assert result["previous"] == "4096"
    assert file.read_text() == "4096\n"


def test_check_mode_unchanged(run_module: Runner, root: Path) -> None:
    put(root, "/proc/sys/net/core/somaxconn", "65535\n")
    result = run_module(sysfs_attribute, args(root, "/proc/sys/net/core/somaxconn", value="65535"), check_mode=True)
    assert result["changed"] is False


def test_diff_shows_effective_values(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    put(root, SCHEDULER, "none [mq-deadline] kyber\n")
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="none"), diff=True)
    assert result["diff"] == {
        "before": "mq-deadline\n",
        "after": "none\n",
        "before_header": SCHEDULER,
        "after_header": SCHEDULER,
    }


def test_diff_in_check_mode_shows_the_prediction(run_module: Runner, root: Path) -> None:
    file = put(root, TCP_RMEM, "4096\t131072\t6291456\n")
    result = run_module(sysfs_attribute, args(root, TCP_RMEM, value="4096 87380 6291456"), check_mode=True, diff=True)
    assert result["diff"] == {
        "before": "4096\t131072\t6291456\n",
        "after": "4096 87380 6291456\n",
        "before_header": TCP_RMEM,
        "after_header": TCP_RMEM,
    }
    assert file.read_text() == "4096\t131072\t6291456\n"


def test_no_diff_without_diff_mode(run_module: Runner, root: Path, kernel: list[Any]) -> None:
    put(root, SCHEDULER, "none [mq-deadline]\n")
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="none"))
    assert result["changed"] is True
    assert "diff" not in result


# --- missing attributes ------------------------------------------------------------------


def test_missing_skip(run_module: Runner, root: Path) -> None:
    result = run_module(sysfs_attribute, args(root, GOVERNOR, value="performance", missing="skip"), diff=True)
    assert result["changed"] is False
    assert result["status"] == "missing"
    assert result["attribute"] == GOVERNOR
    assert result["value"] is None
    assert result["previous"] is None
    assert result["options"] == []
    assert "does not exist" in result["msg"]
    assert "diff" not in result
    assert not (root / GOVERNOR.lstrip("/")).exists()


def test_missing_skip_in_check_mode(run_module: Runner, root: Path) -> None:
    result = run_module(sysfs_attribute, args(root, GOVERNOR, value="performance", missing="skip"), check_mode=True)
    assert result["status"] == "missing"
    assert result["changed"] is False


def test_missing_skip_when_only_reading(run_module: Runner, root: Path) -> None:
    result = run_module(sysfs_attribute, args(root, SCHEDULER, missing="skip"))
    assert result["status"] == "missing"
    assert result["value"] is None


def test_missing_fails_by_default(run_module: Runner, root: Path) -> None:
    result = fail(run_module, args(root, GOVERNOR, value="performance"))
    assert str(root / GOVERNOR.lstrip("/")) in result["msg"]
    assert "does not exist" in result["msg"]
    assert "missing: skip" in result["msg"]
    assert result["changed"] is False
    assert not (root / GOVERNOR.lstrip("/")).exists()


def test_attribute_vanishing_before_the_write_follows_missing(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = put(root, SCHEDULER, "[mq-deadline] none\n")

    def unplugged(path: str, value: str) -> None:
        Path(path).unlink()
        raise AttributeWriteError(path, value, errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(sysfs_attribute, "write_attribute", unplugged)
    result = run_module(sysfs_attribute, args(root, SCHEDULER, value="none", missing="skip"))
    assert result["status"] == "missing"
    assert result["changed"] is False
    file.write_text("[mq-deadline] none\n")
    failed = fail(run_module, args(root, SCHEDULER, value="none"))
    assert "does not exist" in failed["msg"]


# --- attributes that cannot be written ---------------------------------------------------


@pytest.mark.parametrize("error_number", [errno.EROFS, errno.EACCES, errno.EPERM])
def test_unwritable_skip_reports_unsupported(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch, error_number: int
) -> None:
    file = put(root, "/proc/sys/net/core/somaxconn", "4096\n")
    refuse_writes(monkeypatch, file, error_number)
    result = run_module(
        sysfs_attribute, args(root, "/proc/sys/net/core/somaxconn", value="65535", readonly="skip"), diff=True
    )
    assert result["changed"] is False
    assert result["status"] == "unsupported"
    assert result["value"] == "4096"
    assert result["previous"] == "4096"
    assert errno.errorcode[error_number] in result["msg"]
    assert str(file) in result["msg"]
    assert "diff" not in result
    assert file.read_text() == "4096\n"


def test_read_only_file_system_fails_by_default(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = put(root, "/proc/sys/net/core/somaxconn", "4096\n")
    refuse_writes(monkeypatch, file, errno.EROFS)
    result = fail(run_module, args(root, "/proc/sys/net/core/somaxconn", value="65535"))
    assert "mounted read-only" in result["msg"]
    assert "EROFS" in result["msg"]
    assert "readonly: skip" in result["msg"]
    assert result["previous"] == "4096"
    assert result["changed"] is False
    assert file.read_text() == "4096\n"


def test_read_only_file_is_not_consulted_when_value_already_held(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = put(root, "/proc/sys/net/core/somaxconn", "65535\n", mode=0o444)
    refuse_writes(monkeypatch, file, errno.EROFS)
    result = run_module(sysfs_attribute, args(root, "/proc/sys/net/core/somaxconn", value="65535"))
    assert result["status"] == "present"
    assert result["changed"] is False


def test_check_mode_predicts_unsupported_from_mode_bits(run_module: Runner, root: Path) -> None:
    file = put(root, GOVERNOR, "powersave\n", mode=0o444)
    result = run_module(sysfs_attribute, args(root, GOVERNOR, value="performance", readonly="skip"), check_mode=True)
    assert result["status"] == "unsupported"
    assert result["changed"] is False
    assert "read-only here" in result["msg"]
    assert file.read_text() == "powersave\n"


def test_check_mode_predicts_read_only_file_system(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = put(root, "/proc/sys/net/core/somaxconn", "4096\n")
    monkeypatch.setattr(sysfs.os, "access", lambda _path, _mode: False)  # access(2) on a read-only mount
    result = fail(run_module, args(root, "/proc/sys/net/core/somaxconn", value="65535"), check_mode=True)
    assert "read-only here" in result["msg"]
    assert "readonly: skip" in result["msg"]
    assert file.read_text() == "4096\n"


def test_check_mode_reports_a_read_only_mount_as_the_real_run_does(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a read-only mount (containers) check mode names EROFS as the write does, so a report
    built from either run is the same (site.yml --check on a converged host changes nothing)."""
    file = put(root, "/proc/sys/net/core/somaxconn", "4096\n")
    monkeypatch.setattr(sysfs.os, "access", lambda _path, _mode: False)
    real_statvfs = os.statvfs
    monkeypatch.setattr(
        sysfs.os, "statvfs", lambda path: SimpleNamespace(f_flag=real_statvfs(path).f_flag | os.ST_RDONLY)
    )
    refuse_writes(monkeypatch, file, errno.EROFS)
    spec = args(root, "/proc/sys/net/core/somaxconn", value="65535", readonly="skip")
    checked = run_module(sysfs_attribute, spec, check_mode=True)
    applied = run_module(sysfs_attribute, spec)
    assert checked["status"] == applied["status"] == "unsupported"
    assert checked["msg"] == applied["msg"]
    assert "EROFS" in checked["msg"]
    assert file.read_text() == "4096\n"


# --- the kernel refusing or altering the value -------------------------------------------


def test_kernel_ignoring_the_write_fails_with_expected_and_found(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = put(root, GOVERNOR, "powersave\n")
    monkeypatch.setattr(sysfs_attribute, "write_attribute", lambda _path, _value: None)
    result = fail(run_module, args(root, GOVERNOR, value="performance", readonly="skip"))
    assert "wrote 'performance'" in result["msg"]
    assert "reports 'powersave'" in result["msg"]
    assert "expected 'performance'" in result["msg"]
    assert result["expected"] == "performance"
    assert result["value"] == "powersave"
    assert result["previous"] == "powersave"
    assert result["changed"] is False
    assert file.read_text() == "powersave\n"


def test_kernel_ignoring_a_selection_write_fails(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(root, SCHEDULER, "[mq-deadline] none\n")
    monkeypatch.setattr(sysfs_attribute, "write_attribute", lambda _path, _value: None)
    result = fail(run_module, args(root, SCHEDULER, value="none"))
    assert result["expected"] == "none"
    assert result["value"] == "mq-deadline"


def test_kernel_clamping_the_value_fails_and_reports_the_change(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = put(root, HUGEPAGES, "0\n")
    monkeypatch.setattr(sysfs_attribute, "write_attribute", lambda path, _value: Path(path).write_text("512\n"))
    result = fail(run_module, args(root, HUGEPAGES, value="1024"))
    assert result["expected"] == "1024"
    assert result["value"] == "512"
    assert result["previous"] == "0"
    assert result["changed"] is True
    assert file.read_text() == "512\n"


def test_verify_false_reports_what_the_kernel_took(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = put(root, HUGEPAGES, "0\n")
    monkeypatch.setattr(sysfs_attribute, "write_attribute", lambda path, _value: Path(path).write_text("512\n"))
    result = run_module(sysfs_attribute, args(root, HUGEPAGES, value="1024", verify=False))
    assert result["status"] == "present"
    assert result["value"] == "512"
    assert result["previous"] == "0"
    assert result["changed"] is True
    assert "verify: false" in result["msg"]
    assert file.read_text() == "512\n"


def test_verify_false_when_the_kernel_took_nothing_is_unchanged(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(root, HUGEPAGES, "0\n")
    monkeypatch.setattr(sysfs_attribute, "write_attribute", lambda _path, _value: None)
    result = run_module(sysfs_attribute, args(root, HUGEPAGES, value="1024", verify=False))
    assert result["value"] == "0"
    assert result["changed"] is False


def test_attribute_unreadable_after_the_write_fails(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(root, GOVERNOR, "powersave\n")
    monkeypatch.setattr(sysfs_attribute, "write_attribute", lambda path, _value: Path(path).unlink())
    result = fail(run_module, args(root, GOVERNOR, value="performance"))
    assert "reports nothing readable (the attribute is gone)" in result["msg"]
    assert result["expected"] == "performance"
    assert result["value"] is None
    assert result["changed"] is True


def test_kernel_rejecting_the_value_fails_even_with_readonly_skip(
    run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = put(root, HUGEPAGES, "0\n")

    def reject(path: str, value: str) -> None:
        raise AttributeWriteError(path, value, errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(sysfs_attribute, "write_attribute", reject)
    result = fail(run_module, args(root, HUGEPAGES, value="-5", readonly="skip"))
    assert "rejected '-5'" in result["msg"]
    assert "EINVAL" in result["msg"]
    assert str(file) in result["msg"]
    assert result["previous"] == "0"


# --- input validation --------------------------------------------------------------------


def test_allowed_values_rejects_before_reading(run_module: Runner, root: Path) -> None:
    file = put(root, GOVERNOR, "powersave\n")
    result = fail(run_module, args(root, GOVERNOR, value="performnce", allowed_values=["performance", "powersave"]))
    assert "'performnce'" in result["msg"]
    assert "expected one of: performance, powersave" in result["msg"]
    assert file.read_text() == "powersave\n"


def test_allowed_values_is_checked_even_where_the_path_is_missing(run_module: Runner, root: Path) -> None:
    result = fail(run_module, args(root, GOVERNOR, value="turbo", allowed_values=["performance"], missing="skip"))
    assert "expected one of: performance" in result["msg"]


def test_allowed_values_compares_normalized(run_module: Runner, root: Path) -> None:
    file = put(root, TCP_RMEM, "4096\t131072\t6291456\n")
    result = run_module(
        sysfs_attribute, args(root, TCP_RMEM, value="4096  87380 6291456", allowed_values=["4096 87380\t6291456"])
    )
    assert result["changed"] is True
    assert file.read_text() == "4096  87380 6291456"


def test_allowed_values_requires_value(run_module: Runner, root: Path) -> None:
    put(root, GOVERNOR, "powersave\n")
    result = fail(run_module, args(root, GOVERNOR, allowed_values=["performance"]))
    assert "allowed_values" in result["msg"]
    assert "value" in result["msg"]


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_empty_value_is_rejected(run_module: Runner, root: Path, value: str) -> None:
    file = put(root, GOVERNOR, "powersave\n")
    result = fail(run_module, args(root, GOVERNOR, value=value))
    assert "must not be empty" in result["msg"]
    assert file.read_text() == "powersave\n"


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "/sysadmin/notes", "/procfs/x", "/sys/../etc/shadow", "/proc/../etc/hosts", "/", "/tmp/sys"],
)
def test_path_outside_sys_and_proc_is_rejected(run_module: Runner, root: Path, path: str) -> None:
    target = put(root, "/etc/passwd", "root:x:0:0\n")
    result = fail(run_module, args(root, path, value="x"))
    assert "must be under /sys or /proc" in result["msg"]
    assert repr(path) in result["msg"]
    assert target.read_text() == "root:x:0:0\n"


def test_relative_path_is_rejected(run_module: Runner, root: Path) -> None:
    put(root, SCHEDULER, "[none] mq-deadline\n")
    result = fail(run_module, args(root, "sys/block/nvme0n1/queue/scheduler"))
    assert "must be absolute" in result["msg"]


def test_symlink_leaving_sys_is_rejected(run_module: Runner, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.conf"
    outside.write_text("keep me\n")
    link = root / "sys/class/evil"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    result = fail(run_module, args(root, "/sys/class/evil", value="x"))
    assert "outside /sys and /proc" in result["msg"]
    assert str(outside) in result["msg"]
    assert outside.read_text() == "keep me\n"


def test_root_must_be_a_directory(run_module: Runner, tmp_path: Path) -> None:
    result = fail(run_module, {"path": SCHEDULER, "root": str(tmp_path / "nowhere")})
    assert "root must be a directory" in result["msg"]


def test_directory_path_is_reported_as_unreadable(run_module: Runner, root: Path) -> None:
    put(root, SCHEDULER, "[none] mq-deadline\n")
    result = fail(run_module, args(root, "/sys/block/nvme0n1/queue", value="none"))
    assert "cannot read" in result["msg"]
    assert "directory" in result["msg"]


def test_unreadable_attribute_fails(run_module: Runner, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = put(root, "/proc/sys/vm/drop_caches", "", mode=0o200)

    def refuse(_path: str) -> str:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(sysfs, "_read_text", refuse)
    result = fail(run_module, args(root, "/proc/sys/vm/drop_caches", value="3", readonly="skip"))
    assert f"cannot read {file}: Permission denied (EACCES)" in result["msg"]
    assert "write-only" in result["msg"]
    assert file.read_text() == ""


# --- the module as Ansible runs it -------------------------------------------------------


def run_as_ansible(tmp_path: Path, module_args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Run the module file in a fresh interpreter, the way AnsiballZ does, and parse its JSON."""
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    collections = Path(__file__).resolve().parents[4] / ".collections"
    proc = subprocess.run(
        [sys.executable, "-m", sysfs_attribute.__name__, str(args_file)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(collections)},
        timeout=60,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_real_run_returns_warnings_and_diff(tmp_path: Path, root: Path) -> None:
    file = put(root, SCHEDULER, "[mq-deadline] none kyber\n")
    code, result = run_as_ansible(tmp_path, {**args(root, SCHEDULER, value="noop"), "_ansible_diff": True})
    assert code == 0
    assert result["changed"] is True
    assert result["previous"] == "mq-deadline"
    assert result["value"] == "none"
    assert file.read_text() == "none"  # a regular file takes the text as written
    assert result["diff"]["after"] == "none\n"
    messages = [entry["event"]["msg"] if isinstance(entry, dict) else entry for entry in result["warnings"]]
    assert any("'noop'" in message and "'none'" in message for message in messages)


def test_real_run_failure_exits_non_zero(tmp_path: Path, root: Path) -> None:
    code, result = run_as_ansible(tmp_path, args(root, "/etc/passwd", value="x"))
    assert code == 1
    assert result["failed"] is True
    assert "must be under /sys or /proc" in result["msg"]


# --- many attributes in one task ---------------------------------------------------------


def many(root: Path, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"attributes": items, "root": str(root), **extra}


def test_attributes_apply_each_and_report_in_order(run_module: Runner, root: Path, kernel: list) -> None:
    put(root, TCP_RMEM, "4096\t131072\t6291456\n")
    put(root, SCHEDULER, "[mq-deadline] none\n")
    swappiness = put(root, "/proc/sys/vm/swappiness", "60\n")
    items = [
        {"path": TCP_RMEM, "value": "4096 131072 6291456", "label": "net.ipv4.tcp_rmem"},
        {"path": "/proc/sys/vm/swappiness", "value": "1", "label": "vm.swappiness"},
        {"path": SCHEDULER, "value": "none"},
        {"path": "/proc/sys/kernel/nope", "value": "1", "label": "kernel.nope"},
    ]
    result = run_module(sysfs_attribute, many(root, items, missing="skip"), diff=True)
    assert result["changed"] is True
    assert [(r["label"], r["status"], r["changed"]) for r in result["attributes"]] == [
        ("net.ipv4.tcp_rmem", "present", False),
        ("vm.swappiness", "present", True),
        (None, "present", True),
        ("kernel.nope", "missing", False),
    ]
    assert swappiness.read_text() == "1\n"
    assert result["diff"]["before"] == f"/proc/sys/vm/swappiness = 60\n{SCHEDULER} = mq-deadline\n"
    assert result["diff"]["after"] == f"/proc/sys/vm/swappiness = 1\n{SCHEDULER} = none\n"
    assert [w[1] for w in kernel] == ["1", "none"]


def test_attributes_unchanged_rerun(run_module: Runner, root: Path, kernel: list) -> None:
    put(root, "/proc/sys/vm/swappiness", "1\n")
    result = run_module(sysfs_attribute, many(root, [{"path": "/proc/sys/vm/swappiness", "value": "1"}]))
    assert result["changed"] is False
    assert "diff" not in result
    assert kernel == []


def test_attributes_check_mode_writes_nothing(run_module: Runner, root: Path, kernel: list) -> None:
    file = put(root, "/proc/sys/vm/swappiness", "60\n")
    result = run_module(
        sysfs_attribute, many(root, [{"path": "/proc/sys/vm/swappiness", "value": "1"}]), check_mode=True
    )
    assert result["changed"] is True
    assert result["attributes"][0]["value"] == "1"
    assert file.read_text() == "60\n"
    assert kernel == []


def test_attributes_bad_value_fails_before_any_write(run_module: Runner, root: Path, kernel: list) -> None:
    put(root, "/proc/sys/vm/swappiness", "60\n")
    put(root, GOVERNOR, "powersave\n")
    items = [
        {"path": "/proc/sys/vm/swappiness", "value": "1"},
        {"path": GOVERNOR, "value": "turbo", "allowed_values": ["performance", "powersave"]},
    ]
    result = fail(run_module, many(root, items))
    assert result["msg"].startswith(f"{GOVERNOR}: value 'turbo' is not allowed")
    assert kernel == []


def test_attributes_write_failure_names_the_attribute_and_keeps_results(
    run_module: Runner, root: Path, kernel: list
) -> None:
    put(root, "/proc/sys/vm/swappiness", "60\n")
    put(root, SCHEDULER, "[mq-deadline] none\n")
    items = [{"path": "/proc/sys/vm/swappiness", "value": "1"}, {"path": SCHEDULER, "value": "kyber"}]
    result = fail(run_module, many(root, items))
    assert result["msg"].startswith(f"{SCHEDULER}: ")
    assert "does not offer 'kyber'" in result["msg"]
    assert result["changed"] is True  # swappiness was written before the failure
    assert [r["attribute"] for r in result["attributes"]] == ["/proc/sys/vm/swappiness"]


def test_attributes_and_path_are_mutually_exclusive(run_module: Runner, root: Path) -> None:
    result = fail(run_module, {"path": TCP_RMEM, "attributes": [], "root": str(root)})
    assert "mutually exclusive" in result["msg"]
    result = fail(run_module, {"root": str(root)})
    assert "one of the following is required" in result["msg"]
