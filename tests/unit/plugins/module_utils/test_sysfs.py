"""Unit tests for plugins/module_utils/sysfs.py against files in tmp_path."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from ansible_collections.mevops.infra.plugins.module_utils import sysfs
from ansible_collections.mevops.infra.plugins.module_utils.sysfs import (
    SCHEDULER_ALIASES,
    AttributeState,
    AttributeWriteError,
    is_scheduler_path,
    is_selection,
    normalize,
    parse_selection,
    read_attribute,
    resolve_scheduler_alias,
    write_attribute,
)

SCHEDULER = "sys/block/nvme0n1/queue/scheduler"


def make_file(root: Path, relative: str, content: str, mode: int = 0o644) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(mode)
    return path


def refuse_open(monkeypatch: pytest.MonkeyPatch, target: Path, error_number: int) -> None:
    """Make os.open fail with `error_number` for `target` only, as the kernel would."""
    real_open = os.open

    def fake_open(path: str, flags: int, *args: int) -> int:
        if os.fspath(path) == str(target):
            raise OSError(error_number, os.strerror(error_number), os.fspath(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(sysfs.os, "open", fake_open)


# --- parse_selection / is_selection ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "selected", "options"),
    [
        ("none [mq-deadline] kyber bfq\n", "mq-deadline", ["none", "mq-deadline", "kyber", "bfq"]),
        ("[none] mq-deadline\n", "none", ["none", "mq-deadline"]),
        ("always [madvise] never\n", "madvise", ["always", "madvise", "never"]),
        (
            "always defer defer+madvise [madvise] never",
            "madvise",
            ["always", "defer", "defer+madvise", "madvise", "never"],
        ),
        ("mq-deadline kyber [bfq]", "bfq", ["mq-deadline", "kyber", "bfq"]),
        ("[none]\n", "none", ["none"]),
        ("  none\t[kyber]  \n", "kyber", ["none", "kyber"]),
    ],
)
def test_parse_selection_returns_selected_item_and_all_options(text: str, selected: str, options: list[str]) -> None:
    assert parse_selection(text) == (selected, options)
    assert is_selection(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "4096\t87380\t6291456\n",
        "performance\n",
        "",
        "\n",
        "[a] [b] c",  # two selections: ambiguous
        "[a] b]",  # stray bracket
        "[] a",  # empty brackets
        "[ab c",  # unclosed
        "a [[b]] c",  # nested
    ],
)
def test_parse_selection_treats_anything_else_as_plain(text: str) -> None:
    assert parse_selection(text) == (None, [])
    assert is_selection(text) is False


# --- normalize -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4096\t87380  6291456", "4096 87380 6291456"),
        ("  4096 87380 6291456\n", "4096 87380 6291456"),
        ("performance\n", "performance"),
        ("a\n b\t\tc", "a b c"),
        ("", ""),
        (" \t\n", ""),
    ],
)
def test_normalize_strips_and_collapses_whitespace(value: str, expected: str) -> None:
    assert normalize(value) == expected


def test_normalize_makes_tab_and_space_separated_values_equal() -> None:
    assert normalize("4096\t87380  6291456") == normalize("4096 87380 6291456")
    assert normalize("4096 87380 6291456") != normalize("4096 87381 6291456")


# --- scheduler aliases -----------------------------------------------------------------


def test_scheduler_aliases_are_the_documented_data_and_read_only() -> None:
    assert dict(SCHEDULER_ALIASES) == {"noop": "none", "deadline": "mq-deadline"}
    with pytest.raises(TypeError):
        SCHEDULER_ALIASES["cfq"] = "bfq"  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/sys/block/nvme0n1/queue/scheduler", True),
        ("/tmp/x/sys/block/sda/queue/scheduler", True),
        ("/sys/kernel/mm/transparent_hugepage/enabled", False),
        ("/sys/block/sda/queue/nr_requests", False),
        ("/sys/block/sda/scheduler", False),
    ],
)
def test_is_scheduler_path(path: str, expected: bool) -> None:
    assert is_scheduler_path(path) is expected


def test_noop_becomes_none_with_a_warning_on_blk_mq() -> None:
    name, warning = resolve_scheduler_alias("noop", ["none", "mq-deadline", "kyber"], "/sys/block/sda/queue/scheduler")
    assert name == "none"
    assert warning is not None
    assert "'noop'" in warning
    assert "'none'" in warning
    assert "/sys/block/sda/queue/scheduler" in warning
    assert "blk-mq" in warning


def test_deadline_becomes_mq_deadline_with_a_warning() -> None:
    name, warning = resolve_scheduler_alias("deadline", ["none", "mq-deadline"])
    assert name == "mq-deadline"
    assert warning is not None
    assert "'mq-deadline'" in warning


def test_alias_applies_when_options_are_unknown() -> None:
    assert resolve_scheduler_alias("noop")[0] == "none"
    assert resolve_scheduler_alias("deadline")[0] == "mq-deadline"


def test_offered_legacy_name_is_kept_without_warning() -> None:
    assert resolve_scheduler_alias("noop", ["noop", "deadline", "cfq"]) == ("noop", None)
    assert resolve_scheduler_alias("deadline", ["noop", "deadline", "cfq"]) == ("deadline", None)


def test_alias_is_not_applied_when_its_target_is_not_offered() -> None:
    assert resolve_scheduler_alias("noop", ["mq-deadline", "kyber"]) == ("noop", None)


def test_names_without_alias_pass_through() -> None:
    assert resolve_scheduler_alias("kyber", ["none", "kyber"]) == ("kyber", None)
    assert resolve_scheduler_alias("bfq") == ("bfq", None)


# --- read_attribute --------------------------------------------------------------------


def test_read_selection_file(tmp_path: Path) -> None:
    path = make_file(tmp_path, SCHEDULER, "none [mq-deadline] kyber bfq\n")
    state = read_attribute(str(path))
    assert state == AttributeState(
        path=str(path),
        exists=True,
        readable=True,
        writable=True,
        raw="none [mq-deadline] kyber bfq\n",
        value="mq-deadline",
        options=["none", "mq-deadline", "kyber", "bfq"],
    )
    assert state.is_selection is True


def test_read_plain_file_strips_but_keeps_inner_whitespace(tmp_path: Path) -> None:
    path = make_file(tmp_path, "proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t6291456\n")
    state = read_attribute(str(path))
    assert state.exists
    assert state.readable
    assert state.raw == "4096\t131072\t6291456\n"
    assert state.value == "4096\t131072\t6291456"
    assert state.options == []
    assert state.is_selection is False


def test_read_empty_file_gives_empty_value(tmp_path: Path) -> None:
    path = make_file(tmp_path, "sys/class/x/empty", "")
    state = read_attribute(str(path))
    assert state.readable
    assert state.value == ""


@pytest.mark.parametrize(
    "relative",
    [
        "sys/block/nvme9n1/queue/scheduler",  # no such directory
        "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
    ],
)
def test_read_missing_file(tmp_path: Path, relative: str) -> None:
    state = read_attribute(str(tmp_path / relative))
    assert state.exists is False
    assert state.readable is False
    assert state.value is None
    assert state.options == []


def test_read_path_through_a_file_is_missing(tmp_path: Path) -> None:
    make_file(tmp_path, "sys/block/sda", "not a directory")
    state = read_attribute(str(tmp_path / "sys/block/sda/queue/scheduler"))
    assert state.exists is False


def test_read_dangling_symlink_is_missing(tmp_path: Path) -> None:
    link = tmp_path / "sys/block/sda"
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path / "sys/devices/gone")
    assert read_attribute(str(link / "queue/scheduler")).exists is False


def test_read_directory_is_unreadable(tmp_path: Path) -> None:
    directory = tmp_path / "sys/block/sda/queue"
    directory.mkdir(parents=True)
    state = read_attribute(str(directory))
    assert state.exists is True
    assert state.readable is False
    assert state.value is None
    assert state.error is not None
    assert "directory" in state.error


def test_read_error_is_reported_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_file(tmp_path, "proc/sys/vm/drop_caches", "0\n", mode=0o200)

    def refuse(_path: str) -> str:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(sysfs, "_read_text", refuse)
    state = read_attribute(str(path))
    assert state.exists is True
    assert state.readable is False
    assert state.error == "Permission denied (EACCES)"


def test_read_follows_symlinks(tmp_path: Path) -> None:
    make_file(tmp_path, "sys/devices/pci0000:00/nvme/nvme0n1/queue/scheduler", "[none] mq-deadline\n")
    link = tmp_path / "sys/block/nvme0n1"
    link.parent.mkdir(parents=True)
    link.symlink_to("../devices/pci0000:00/nvme/nvme0n1")
    assert read_attribute(str(link / "queue/scheduler")).value == "none"


def test_writable_prediction_uses_write_bits_even_for_root(tmp_path: Path) -> None:
    assert read_attribute(str(make_file(tmp_path, "sys/a", "1\n", mode=0o644))).writable is True
    assert read_attribute(str(make_file(tmp_path, "sys/b", "1\n", mode=0o200))).writable is True
    assert read_attribute(str(make_file(tmp_path, "sys/c", "1\n", mode=0o444))).writable is False


def test_writable_prediction_honours_read_only_file_systems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_file(tmp_path, "proc/sys/net/core/somaxconn", "4096\n")
    monkeypatch.setattr(sysfs.os, "access", lambda _path, _mode: False)  # what access(2) says on EROFS
    assert read_attribute(str(path)).writable is False


# --- write_attribute -------------------------------------------------------------------


def test_write_replaces_content_in_place_without_newline(tmp_path: Path) -> None:
    path = make_file(tmp_path, "proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t6291456\n")
    inode = path.stat().st_ino
    write_attribute(str(path), "4096 87380 16777216")
    assert path.read_text() == "4096 87380 16777216"
    assert path.stat().st_ino == inode  # written in place, not renamed over


def test_write_truncates_longer_content(tmp_path: Path) -> None:
    path = make_file(tmp_path, "sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n")
    write_attribute(str(path), "never")
    assert path.read_text() == "never"


def test_write_missing_raises_enoent_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sys/block/sda/queue/scheduler"
    path.parent.mkdir(parents=True)
    with pytest.raises(AttributeWriteError) as exc:
        write_attribute(str(path), "none")
    assert exc.value.errno == errno.ENOENT
    assert exc.value.errno_name == "ENOENT"
    assert exc.value.read_only is False
    assert str(path) in str(exc.value)
    assert "does not exist" in str(exc.value)
    assert not path.exists()


def test_write_directory_raises_eisdir(tmp_path: Path) -> None:
    directory = tmp_path / "sys/block/sda/queue"
    directory.mkdir(parents=True)
    with pytest.raises(AttributeWriteError) as exc:
        write_attribute(str(directory), "none")
    assert exc.value.errno == errno.EISDIR
    assert exc.value.read_only is False
    assert "EISDIR" in str(exc.value)
    assert str(directory) in str(exc.value)


@pytest.mark.parametrize(
    ("error_number", "name", "words"),
    [
        (errno.EROFS, "EROFS", "mounted read-only"),
        (errno.EACCES, "EACCES", "permission denied"),
        (errno.EPERM, "EPERM", "not permitted"),
    ],
)
def test_write_read_only_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error_number: int, name: str, words: str
) -> None:
    path = make_file(tmp_path, "proc/sys/net/core/somaxconn", "4096\n")
    refuse_open(monkeypatch, path, error_number)
    with pytest.raises(AttributeWriteError) as exc:
        write_attribute(str(path), "65535")
    error = exc.value
    assert error.errno == error_number
    assert error.errno_name == name
    assert error.read_only is True
    assert error.path == str(path)
    assert error.value == "65535"
    assert words in str(error)
    assert name in str(error)
    assert str(path) in str(error)
    assert path.read_text() == "4096\n"


def test_write_einval_names_value_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_file(tmp_path, SCHEDULER, "[none] mq-deadline\n")

    def reject(_descriptor: int, _data: bytes) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(sysfs.os, "write", reject)
    with pytest.raises(AttributeWriteError) as exc:
        write_attribute(str(path), "cfq")
    assert exc.value.errno == errno.EINVAL
    assert exc.value.read_only is False
    assert "rejected 'cfq'" in str(exc.value)
    assert str(path) in str(exc.value)
    assert "EINVAL" in str(exc.value)
    assert str(exc.value).count("EINVAL") == 1


def test_write_other_errno_gets_a_generic_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_file(tmp_path, "sys/class/x/busy", "0\n")
    refuse_open(monkeypatch, path, errno.EBUSY)
    with pytest.raises(AttributeWriteError) as exc:
        write_attribute(str(path), "1")
    assert exc.value.read_only is False
    assert str(exc.value) == f"writing '1' to {path} failed: {os.strerror(errno.EBUSY)} (EBUSY)"


def test_short_write_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_file(tmp_path, "sys/class/x/value", "0\n")
    monkeypatch.setattr(sysfs.os, "write", lambda _descriptor, data: len(data) - 1)
    with pytest.raises(AttributeWriteError) as exc:
        write_attribute(str(path), "12345")
    assert exc.value.errno == errno.EIO
    assert "short write: 4 of 5 bytes" in str(exc.value)
