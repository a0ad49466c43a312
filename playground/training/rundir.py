"""Whose folder is it? The run-folder marker, the "running" flag and the checks before a run.

``train --run-dir DIR`` writes config, history, weights and a checkpoint into DIR and, without
``--resume``, starts that run afresh (its old checkpoint is removed). That is only safe in a folder
the app made itself, so every run folder carries a marker file (:data:`MARKER`); a folder without
it is used only when it is new or empty. Anything else (the user's home, a dataset, someone's
project) is refused before any work starts.

While a run trains, :data:`RUNNING` holds the training process's id and start time. A run that
ends in any way Python sees removes it; a process killed outright (the kernel's out-of-memory
killer, ``kill -9``, a power cut) cannot, so the next start finds the flag of a process that no
longer exists and says so (:func:`killed_note`, :func:`killed_runs`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from playground.core.atomic import write_text_atomic
from playground.core.errors import PlaygroundError

MARKER = ".keras-playground-run"
RUNNING = ".running"
CHECKPOINT_FILES = ("latest.weights.h5", "training_metadata.json")


class RunDirError(PlaygroundError):
    """The folder cannot be used as a run folder (the CLI exits 2)."""


def is_run_folder(path: str | os.PathLike[str]) -> bool:
    """A folder this app made for a run (it carries the marker file)."""
    return os.path.isfile(os.path.join(path, MARKER))


def has_checkpoint(path: str | os.PathLike[str]) -> bool:
    """The run folder holds a complete checkpoint to resume from."""
    backup = os.path.join(path, "backup")
    return all(os.path.isfile(os.path.join(backup, name)) for name in CHECKPOINT_FILES)


def check(path: str | os.PathLike[str], resume: bool = False) -> None:
    """Refuse a folder the run must not write into; cheap, called before any work.

    Usable: a path that does not exist yet (its parent chain must lead to a folder), an empty
    folder, or a run folder made by this app. ``resume`` also needs that run's checkpoint.
    """
    text = os.fspath(path)
    if os.path.lexists(text) and not os.path.isdir(text):
        raise RunDirError(f"--run-dir {text}: exists and is not a folder")
    if os.path.isdir(text):
        try:
            entries = os.listdir(text)
        except OSError as exc:
            raise RunDirError(f"--run-dir {text}: cannot read the folder: "
                              f"{exc.strerror or exc}") from None
        if entries and MARKER not in entries:
            raise RunDirError(
                f"--run-dir {text}: the folder is not empty and is not a run folder made by "
                f"this app (no {MARKER} file); refusing to write into it. Give a new or empty "
                "folder")
        owner = _live_owner(text)
        if owner is not None and owner != os.getpid():
            raise RunDirError(f"--run-dir {text}: another training process (pid {owner}) is "
                              "writing this run folder; wait for it or choose another folder")
    else:
        probe = os.path.dirname(os.path.abspath(text))
        while not os.path.exists(probe) and os.path.dirname(probe) != probe:
            probe = os.path.dirname(probe)
        if not os.path.isdir(probe):
            raise RunDirError(f"--run-dir {text}: {probe} is not a folder")
    if resume and not has_checkpoint(text):
        raise RunDirError(f"--resume: {text} has no checkpoint to continue from "
                          "(backup/latest.weights.h5); run it without --resume to start afresh")


def claim(path: str | os.PathLike[str]) -> Path:
    """Create the folder if needed and mark it as a run folder (after :func:`check`)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.exists():
        write_text_atomic(marker, json.dumps({"app": "keras-playground", "kind": "run",
                                              "created": time.strftime("%Y-%m-%d %H:%M:%S")})
                          + "\n")
    return folder


# ------------------------------------------------------------------------------ running flag
def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if it does not exist.

    Pids are recycled: the pid alone could name an unrelated process started later.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except (PermissionError, OSError):
            return "unknown"
        return "unknown"
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else "unknown"


def begin(path: str | os.PathLike[str], epoch: int = 0) -> None:
    """Flag the run as training in this process (removed by :func:`end`)."""
    write_text_atomic(os.path.join(path, RUNNING), json.dumps({
        "pid": os.getpid(), "start": _process_start(os.getpid()),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"), "epoch": epoch}) + "\n")


def end(path: str | os.PathLike[str]) -> None:
    try:
        os.unlink(os.path.join(path, RUNNING))
    except OSError:
        pass


def _live_owner(path: str | os.PathLike[str]) -> int | None:
    """The pid of the process training in ``path`` now, if its flag names a live one."""
    try:
        with open(os.path.join(path, RUNNING), encoding="utf-8") as handle:
            info = json.loads(handle.read(4096))
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    start = _process_start(pid) if pid > 0 else None
    if start is not None and (start == "unknown" or start == info.get("start")):
        return pid
    return None


def killed_note(path: str | os.PathLike[str], forget: bool = True) -> str | None:
    """If the last run in ``path`` was killed while training, a sentence saying so.

    ``forget`` removes the stale flag, so it is reported once.
    """
    flag = os.path.join(path, RUNNING)
    if not os.path.exists(flag) or _live_owner(path) is not None:
        return None  # no flag, or still training (in this process or another)
    try:
        with open(flag, encoding="utf-8") as handle:
            info = json.loads(handle.read(4096))
        if not isinstance(info, dict):
            info = {}
    except (OSError, ValueError):
        info = {}
    from playground.training.runs import read_history

    try:
        done = len(read_history(path))
    except (OSError, ValueError):
        done = 0
    if forget:
        end(path)
    since = info.get("since", "an unknown time")
    return (f"the run in {path} (started {since}) was killed while training, after "
            f"{done} finished epoch(s): most likely the system ran out of memory (the kernel "
            "ends such a process without a message) or it was killed with SIGKILL; try a "
            "smaller batch or input, and --resume continues from its last checkpoint")


def killed_runs(root: str | os.PathLike[str], forget: bool = True) -> list[str]:
    """:func:`killed_note` for every run folder directly under ``root``."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return []
    notes = []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and os.path.exists(
                os.path.join(entry.path, RUNNING)):
            note = killed_note(entry.path, forget=forget)
            if note:
                notes.append(note)
    return notes
