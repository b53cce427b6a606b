"""Opening and reading a batch checkpoint file on a file system that may be hostile.

A checkpoint file that is itself a symbolic link (a dangling one included) is refused:
it is checked with ``lstat`` and opened with ``O_NOFOLLOW`` where the OS has it, so a
link swapped in between is refused too (links among the directories above it are
followed as usual: they are the caller's choice of place). Only regular files are used:
a FIFO, device or socket is refused before anything blocks on it (opened with
``O_NONBLOCK``). Lines are read with a bound, so one multi-gigabyte line is never read
whole into memory.

Example::

    if path_holds_file(path):                     # False: nothing there yet
        with os.fdopen(open_checkpoint(path, os.O_RDWR), "r+b") as handle:
            for number, offset, raw in bounded_lines(handle, 1 << 20):
                ...
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

#: flags every checkpoint open gets, where the OS has them
_SAFE_FLAGS = (
    getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
#: what open() says for a final path part that is a link under O_NOFOLLOW (Linux, BSDs)
_LINK_ERRNOS = {errno.ELOOP, errno.EMLINK, getattr(errno, "EFTYPE", errno.ELOOP)}

LINK_REFUSED = (
    "is a symbolic link: a checkpoint is never followed through a link"
    " (give the path of the file itself)"
)


class UnsafeCheckpointPath(Exception):
    """Why a checkpoint path cannot be used; the caller names the file."""


class LineTooLong(Exception):
    """A line longer than the bound: its 1-based ``number`` and byte ``offset``."""

    def __init__(self, number: int, offset: int) -> None:
        super().__init__(f"line {number} at byte {offset} is too long")
        self.number = number
        self.offset = offset


def _check_kind(mode: int) -> None:
    if stat.S_ISLNK(mode):
        raise UnsafeCheckpointPath(LINK_REFUSED)
    if stat.S_ISDIR(mode):
        raise UnsafeCheckpointPath("is a directory, not a checkpoint file")
    if not stat.S_ISREG(mode):
        raise UnsafeCheckpointPath(
            "is not a regular file (a FIFO, device or socket): a checkpoint must be a plain file"
        )


def path_holds_file(path: Path) -> bool:
    """True when a regular file is at ``path``, False when nothing is there.

    A symbolic link (dangling or not), a directory or any other kind of file:
    :class:`UnsafeCheckpointPath`.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise UnsafeCheckpointPath(f"cannot be examined ({exc.strerror})") from None
    _check_kind(info.st_mode)
    return True


def open_checkpoint(path: Path, flags: int) -> int:
    """``os.open(path, flags)`` never through a link and only onto a regular file; a
    blocking file descriptor (``O_NONBLOCK`` only guards the open itself)."""
    path_holds_file(path)  # a link refused by name where the OS has no O_NOFOLLOW
    try:
        fd = os.open(path, flags | _SAFE_FLAGS, 0o666)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS and os.path.islink(path):
            raise UnsafeCheckpointPath(LINK_REFUSED) from None
        raise UnsafeCheckpointPath(f"cannot be opened ({exc.strerror})") from None
    try:
        _check_kind(os.fstat(fd).st_mode)
        if _SAFE_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def bounded_lines(handle: IO[bytes], limit: int) -> Iterator[tuple[int, int, bytes]]:
    """``(number, offset, line)`` for each line of ``handle`` (1-based number, byte offset
    of its start, the line with its newline; a last line may lack it). A line of more
    than ``limit`` bytes (its newline counted) raises :class:`LineTooLong` after at most
    ``limit + 1`` bytes of it were read."""
    number, offset = 0, 0
    while True:
        raw = handle.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit:
            raise LineTooLong(number, offset)
        yield number, offset, raw
        offset += len(raw)


def lock_exclusively(handle: IO[bytes]) -> None:
    """Hold an exclusive lock on the open file until it is closed (BlockingIOError:
    another run holds it). Where the OS or file system has no such lock (Windows, some
    network file systems), none is taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise
    except OSError:  # pragma: no cover - no lock support here (e.g. ENOLCK)
        return
