"""Weights and checkpoints written so that no kill and no full disk destroys the last good one.

Every file goes to a temp name in the target's folder and is moved into place with
``os.replace`` only when complete: a process killed mid-write (``kill -9``, the OOM killer)
leaves the previous file untouched and at most a stray temp file, which the next write (or
:func:`remove_partials`) removes. A write that fails (disk full, quota, I/O error) removes its
partial file and raises :class:`CheckpointWriteError`, which names the path and says that the
previous checkpoint is kept.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from typing import Any

from playground.core.atomic import write_text_atomic
from playground.core.errors import PlaygroundError

TMP_TAG = ".tmp-"


class CheckpointWriteError(PlaygroundError):
    """Writing a weights file or checkpoint failed; the previous one is kept."""

    def __init__(self, path: str, exc: BaseException) -> None:
        self.path = path
        self.errno = getattr(exc, "errno", None)
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if self.errno == errno.ENOSPC or "No space left" in str(exc):
            reason = os.strerror(errno.ENOSPC)  # h5py's many-line text, made plain
        reason = " ".join(str(reason).split())[:200]
        super().__init__(f"cannot write {path}: {reason}; training stopped, and the last "
                         "complete checkpoint and weights files are kept (free some space, "
                         "then continue with --resume)")


def _tmp_name(path: str) -> str:
    folder, name = os.path.split(path)
    stem, dot, ext = name.partition(".")
    return os.path.join(folder, f".{stem}{TMP_TAG}{os.getpid()}.{ext or 'tmp'}")


def remove_partials(folder: str) -> list[str]:
    """Delete temp files a killed writer left in ``folder``; returns their names."""
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for name in entries:
        # Ours (".latest.tmp-PID.weights.h5") and core.atomic's (".NAME.XXXX.tmp").
        if name.startswith(".") and (TMP_TAG in name or name.endswith(".tmp")):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
                removed.append(name)
    return removed


def save_weights_atomic(model: Any, path: str) -> None:
    """``model.save_weights`` into a temp file beside ``path``, then ``os.replace``."""
    tmp = _tmp_name(path)
    if not tmp.endswith(".weights.h5"):
        tmp = tmp + ".weights.h5"
    try:
        model.save_weights(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError, ValueError) as exc:
        # h5py reports a full disk as OSError or RuntimeError ("Can't write data").
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CheckpointWriteError(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_backup(model: Any, backup_dir: str, epoch: int, batch: int) -> None:
    """The resume checkpoint (Keras ``BackupAndRestore`` layout): weights with the optimizer
    state, then the epoch to continue from. Each file is replaced atomically, weights first, so
    a kill between the two leaves newer weights with an older epoch (some work redone, none
    lost)."""
    os.makedirs(backup_dir, exist_ok=True)
    remove_partials(backup_dir)
    save_weights_atomic(model, os.path.join(backup_dir, "latest.weights.h5"))
    meta = os.path.join(backup_dir, "training_metadata.json")
    try:
        write_text_atomic(meta, json.dumps({"epoch": int(epoch), "batch": int(batch)}))
    except OSError as exc:
        raise CheckpointWriteError(meta, exc) from None


def checkpoint_epoch(backup_dir: str) -> int | None:
    """The epoch a resume starts at, None without a readable checkpoint."""
    try:
        with open(os.path.join(backup_dir, "training_metadata.json"), encoding="utf-8") as f:
            return int(json.load(f)["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
