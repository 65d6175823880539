# -*- coding: utf-8 -*-
# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""The collection's one sysfs/procfs parser: read, parse, compare and write kernel attributes.

Two file formats exist:

- selection files list every choice and bracket the active one, e.g.
  ``/sys/block/nvme0n1/queue/scheduler`` ("none [mq-deadline] kyber bfq") and
  ``/sys/kernel/mm/transparent_hugepage/{enabled,defrag}`` ("always [madvise] never");
- plain files hold a value, e.g. ``/proc/sys/net/ipv4/tcp_rmem`` ("4096\\t131072\\t6291456").

sysfs and procfs attributes cannot be replaced by writing a temporary file and renaming
it over the attribute (there is no file to replace, only a kernel handler behind the
name), so ``write_attribute`` writes in place with one write(2) call, the way
``echo value > attribute`` does.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

# Attribute files are at most a page in the kernel; anything bigger is not an attribute.
_MAX_READ = 65536

# Names of legacy (single-queue) I/O schedulers and their blk-mq equivalents. Kernels
# since 5.0 only have blk-mq, where "noop" and "deadline" no longer exist.
SCHEDULER_ALIASES: Mapping[str, str] = MappingProxyType({"noop": "none", "deadline": "mq-deadline"})

SCHEDULER_ALIAS_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "noop": "blk-mq kernels have no noop scheduler; none is its equivalent",
        "deadline": "blk-mq kernels renamed deadline to mq-deadline",
    }
)

# Write errors meaning "this attribute cannot be written here" rather than "bad value".
READ_ONLY_ERRNOS: frozenset[int] = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})

_WRITE_ERROR_TEMPLATES: Mapping[int, str] = MappingProxyType(
    {
        errno.EROFS: "cannot write {path}: the file system holding it is mounted read-only "
        "(as /proc/sys is inside containers)",
        errno.EACCES: "cannot write {path}: permission denied; the attribute is read-only, "
        "or the task needs become: true",
        errno.EPERM: "cannot write {path}: operation not permitted here "
        "(missing capability, or a setting owned by the host outside this namespace)",
        errno.EINVAL: "the kernel rejected {value!r} for {path} (EINVAL): expected a value this attribute "
        "accepts; check its format and range in the kernel documentation",
        errno.ENOENT: "cannot write {path}: it does not exist (the device or knob went away)",
    }
)


@dataclass(frozen=True)
class AttributeState:
    """What one attribute file looks like now.

    ``value`` is the effective value: the selected item of a selection file, the stripped
    content of a plain file, None when the file is missing or unreadable. ``options`` is
    what a selection file offers (empty for plain files). ``writable`` is a prediction
    (see ``_predict_writable``); the write itself is the authority.
    """

    path: str
    exists: bool
    readable: bool = False
    writable: bool = False
    raw: str | None = None
    value: str | None = None
    options: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def is_selection(self) -> bool:
        """True for "[selected] other" files."""
        return bool(self.options)


class AttributeWriteError(Exception):
    """Writing an attribute failed; ``errno`` says why, ``str()`` says it for an operator."""

    def __init__(self, path: str, value: str, error_number: int, reason: str) -> None:
        self.path = path
        self.value = value
        self.errno = error_number
        self.reason = reason
        super().__init__(self.message)

    @property
    def errno_name(self) -> str:
        """Symbolic errno, e.g. "EROFS"."""
        return errno.errorcode.get(self.errno, str(self.errno))

    @property
    def read_only(self) -> bool:
        """True when the attribute cannot be written here (EROFS, EACCES, EPERM)."""
        return self.errno in READ_ONLY_ERRNOS

    @property
    def message(self) -> str:
        """Readable explanation naming the path, the value and the errno."""
        template = _WRITE_ERROR_TEMPLATES.get(self.errno)
        if template is None:
            return f"writing {self.value!r} to {self.path} failed: {self.reason} ({self.errno_name})"
        text = template.format(path=self.path, value=self.value)
        return text if self.errno_name in text else f"{text} ({self.errno_name})"


def _is_marked(token: str) -> bool:
    return len(token) > 2 and token[0] == "[" and token[-1] == "]" and not _has_bracket(token[1:-1])


def _has_bracket(token: str) -> bool:
    return "[" in token or "]" in token


def parse_selection(text: str) -> tuple[str | None, list[str]]:
    """Parse "none [mq-deadline] kyber" into ("mq-deadline", ["none", "mq-deadline", "kyber"]).

    A selection has exactly one bracketed item and no other brackets; anything else is a
    plain file and gives (None, []).
    """
    tokens = text.split()
    marked = [index for index, token in enumerate(tokens) if _is_marked(token)]
    if len(marked) != 1:
        return None, []
    chosen = marked[0]
    if any(_has_bracket(token) for index, token in enumerate(tokens) if index != chosen):
        return None, []
    options = [token[1:-1] if index == chosen else token for index, token in enumerate(tokens)]
    return options[chosen], options


def is_selection(text: str) -> bool:
    """True when ``text`` is in the "[selected] other" format."""
    return parse_selection(text)[0] is not None


def normalize(value: str) -> str:
    """Comparable form of a plain value: stripped, inner whitespace runs collapsed to one space."""
    return " ".join(value.split())


def is_scheduler_path(path: str) -> bool:
    """True for a block device's I/O scheduler attribute (.../queue/scheduler)."""
    parts = os.path.normpath(path).split(os.sep)
    return parts[-2:] == ["queue", "scheduler"]


def resolve_scheduler_alias(
    value: str, options: Sequence[str] | None = None, path: str | None = None
) -> tuple[str, str | None]:
    """Map a legacy scheduler name to its blk-mq name: returns (name to use, warning or None).

    A name the device offers is never mapped (single-queue kernels really have noop and
    deadline), nor is one whose blk-mq name the device does not offer. With ``options``
    None (nothing to ask, e.g. when rendering a udev rule) the alias applies, since every
    kernel since 5.0 is blk-mq only.
    """
    target = SCHEDULER_ALIASES.get(value)
    if target is None:
        return value, None
    if options is not None and (value in options or target not in options):
        return value, None
    where = f" by {path}" if path else ""
    warning = (
        f"I/O scheduler {value!r} is not offered{where}; using {target!r} instead "
        f"({SCHEDULER_ALIAS_REASONS[value]}). Write {target!r} to silence this warning."
    )
    return target, warning


def _predict_writable(path: str, mode: int) -> bool:
    """Whether a write is expected to succeed.

    access(2) reports read-only file systems (EROFS) but lets root write any mode; sysfs
    (kernfs) and /proc/sys refuse writes to attributes without a write bit even to root,
    so a mode without any write bit also means "not writable".
    """
    return os.access(path, os.W_OK) and bool(mode & 0o222)


def predicted_write_error(path: str, value: str) -> AttributeWriteError | None:
    """The error a write of ``value`` would raise, where it shows without writing: a file
    system mounted read-only (EROFS, as /proc/sys and /sys inside containers). Check mode then
    reports what the real run reports. None when no such reason is known."""
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return None
    return AttributeWriteError(path, value, errno.EROFS, os.strerror(errno.EROFS)) if read_only else None


def _describe_os_error(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno, str(exc.errno)) if exc.errno is not None else "unknown errno"
    return f"{exc.strerror or exc} ({name})"


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read(_MAX_READ)


def read_attribute(path: str) -> AttributeState:
    """Read one attribute file and parse it; never raises for missing or unreadable files."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return AttributeState(path=path, exists=False)
    except OSError as exc:
        return AttributeState(path=path, exists=True, error=_describe_os_error(exc))
    if stat.S_ISDIR(mode):
        return AttributeState(path=path, exists=True, error="it is a directory; expected an attribute file")
    writable = _predict_writable(path, mode)
    try:
        raw = _read_text(path)
    except OSError as exc:
        return AttributeState(path=path, exists=True, writable=writable, error=_describe_os_error(exc))
    selected, options = parse_selection(raw)
    value = selected if selected is not None else raw.strip()
    return AttributeState(
        path=path, exists=True, readable=True, writable=writable, raw=raw, value=value, options=options
    )


def write_attribute(path: str, value: str) -> None:
    """Write ``value`` to an existing attribute in one write(2), in place (no temp file and rename).

    The file is opened without O_CREAT, so a missing attribute raises ENOENT instead of
    creating a file. Raises AttributeWriteError carrying the errno.
    """
    data = value.encode("utf-8")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            written = os.write(descriptor, data)
        finally:
            os.close(descriptor)
    except OSError as exc:
        error_number = exc.errno if exc.errno is not None else errno.EIO
        raise AttributeWriteError(path, value, error_number, exc.strerror or str(exc)) from exc
    if written != len(data):
        raise AttributeWriteError(path, value, errno.EIO, f"short write: {written} of {len(data)} bytes taken")
