"""Atomic writes: a crash or a full disk mid-save must leave the previous file intact."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then ``os.replace`` it into place."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (or the old file's).
        os.fchmod(fd, file_mode(target))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def file_mode(target: Path) -> int:
    """The permission bits the replaced file keeps, else 0666 less the process umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def dir_mode(target: Path) -> int:
    """The permission bits a replaced folder keeps, else 0777 less the process umask (mkdtemp
    staging folders are 0700)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o777 & ~_umask()


def _umask() -> int:
    # /proc avoids os.umask's set-and-restore, which would race with other threads' file creation.
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def replace_dir_atomic(staging: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Move a fully written ``staging`` folder to ``target``, replacing an existing one.

    The old folder is renamed aside first and removed only after the new one is in place, so a
    failure at any point leaves one complete folder at ``target``.
    """
    staging, target = Path(staging), Path(target)
    backup = None
    if target.exists():
        backup = target.with_name(f".{target.name}.old-{os.getpid()}")
        if backup.exists():
            shutil.rmtree(backup)
        os.replace(target, backup)
    try:
        os.replace(staging, target)
    except BaseException:
        if backup is not None:
            os.replace(backup, target)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
