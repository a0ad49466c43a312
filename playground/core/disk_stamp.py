"""Has a file changed on disk since we read or wrote it? (Two editors on one file.)

The editor remembers a :class:`DiskStamp` of its file when it opens or saves it. Before the next
save it compares: a different size or modification time is confirmed by the content's hash (a
``touch`` or a copy of the same bytes is not a change), so the user is asked only when another
program really wrote something else there; saving blindly would silently undo that work.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

MAX_HASHED = 256 * 1024 * 1024  # a graph file is small; a huge file counts as changed


@dataclass(frozen=True)
class DiskStamp:
    size: int
    mtime_ns: int
    sha256: str


def _digest(path: str | os.PathLike[str]) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        read = 0
        while chunk := handle.read(1 << 20):
            read += len(chunk)
            if read > MAX_HASHED:
                return "too-large"
            sha.update(chunk)
    return sha.hexdigest()


def take(path: str | os.PathLike[str]) -> DiskStamp | None:
    """The file's stamp now; None when it is missing or not a readable regular file."""
    try:
        info = os.stat(path)
        if not os.path.isfile(path):
            return None
        return DiskStamp(info.st_size, info.st_mtime_ns, _digest(path))
    except OSError:
        return None


def changed_since(path: str | os.PathLike[str], stamp: DiskStamp | None) -> bool:
    """True when ``path`` now holds other bytes than when ``stamp`` was taken.

    A file that was deleted since counts as unchanged (saving recreates it, nothing is lost);
    without a stamp (a new file) nothing is compared.
    """
    if stamp is None:
        return False
    try:
        info = os.stat(path)
    except OSError:
        return False
    if info.st_size == stamp.size and info.st_mtime_ns == stamp.mtime_ns:
        return False
    now = take(path)
    return now is None or now.sha256 != stamp.sha256
