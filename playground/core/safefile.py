"""Opening a file the user named without hanging on it or reading it without end.

A path can name a FIFO (``open`` blocks until a writer comes, forever), a character device such
as ``/dev/zero`` (``os.path.getsize`` says 0, reading never ends), a socket or a folder, directly
or through a symlink. Every reader of user-named files (graphs, recovery files, models, weights)
opens through here: the file is opened without blocking, ``fstat`` on the open descriptor (no
race with a swapped path) must say "regular file", and reads stop at a byte limit.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO


class NotARegularFile(OSError):
    """The path is a FIFO, a device, a socket (or a folder): refused before any read."""


class FileTooLarge(OSError):
    """The file holds more bytes than the caller's limit; ``size`` is what it holds."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"the file is {size:,} bytes; more than {limit:,} are "
                                      "refused")
        self.size, self.limit = size, limit


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """A binary file object for ``path``, which must be a regular file (symlinks followed).

    Raises ``IsADirectoryError`` for a folder, ``NotARegularFile`` for a FIFO/device/socket,
    and the usual ``OSError`` subclasses (``FileNotFoundError``, ``PermissionError``)."""
    nonblock = getattr(os, "O_NONBLOCK", 0)   # POSIX; Windows has no FIFOs to wait on
    flags = os.O_RDONLY | nonblock | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO returns at once instead of waiting
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
        if not stat.S_ISREG(mode):
            raise NotARegularFile(errno.EINVAL, f"is {_kind(mode)}, not a regular file",
                                  str(path))
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: str | os.PathLike[str]) -> int:
    """Refuse what ``open_regular`` refuses; returns the file's size in bytes."""
    with open_regular(path) as handle:
        return os.fstat(handle.fileno()).st_size


def read_capped(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (``FileTooLarge`` otherwise).

    The size is checked before reading and the read itself stops one byte past the limit, so a
    file that grows meanwhile (or lies about its size) cannot get past it either."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise FileTooLarge(size, limit)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(len(data), limit)
    return data
