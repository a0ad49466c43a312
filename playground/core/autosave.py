"""Crash recovery: periodic snapshots of open documents, offered again after a crash.

Pure file logic (the editor calls ``Autosave.write`` from a timer and ``clear`` after a save or a
clean close). Each snapshot is one JSON file named after the writing process and the document,
written atomically, holding the graph document plus where it came from, when and by which process
(pid and, on Linux, the process start time, so a recycled pid is not mistaken for the writer).
``pending()`` lists the snapshots whose writer is gone; a corrupt snapshot is reported and moved
aside to ``*.corrupt`` so it is offered once, never crashes the app, and is never lost silently.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.core import fileformat, safefile
from playground.core.atomic import write_text_atomic
from playground.core.errors import GraphFileError
from playground.core.graph import Graph

AUTOSAVE_FORMAT = "keras-playground-autosave"
AUTOSAVE_VERSION = 1
SUFFIX = ".autosave.json"
MAX_AUTOSAVE_BYTES = fileformat.MAX_FILE_BYTES + 1024 * 1024
MAX_PID = 2**31 - 1   # pid_t is a signed 32-bit int; a larger "pid" is not a process id


def autosave_dir() -> Path:
    """``$PLAYGROUND_AUTOSAVE_DIR``, else ``$XDG_DATA_HOME`` (or ~/.local/share) +
    ``/keras-playground/autosave``. The UI may pass a ``QStandardPaths`` folder instead."""
    override = os.environ.get("PLAYGROUND_AUTOSAVE_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join("~", ".local", "share")
    return Path(base).expanduser() / "keras-playground" / "autosave"


def _process_start(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    # Field 2 (comm) may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rfind(")") + 2:].split()
    try:
        return int(fields[19])  # field 22 overall; fields[0] is field 3 (state)
    except (IndexError, ValueError):
        return None


def _process_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    rest = text[text.rfind(")") + 2:]
    return rest[:1] or None


def process_alive(pid: int, start: int | None = None) -> bool:
    """True if process ``pid`` runs (and, when ``start`` is known, is the same process)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid <= MAX_PID:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except (OSError, OverflowError):
        return False
    if _process_state(pid) in ("Z", "X"):
        return False  # killed, not yet reaped: it will write nothing more
    if start is not None:
        now = _process_start(pid)
        if now is not None and now != start:
            return False  # the pid was recycled by another process
    return True


def _key_slug(doc_key: str) -> str:
    """A file-name-safe, collision-free form of the document key."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", doc_key)[:40].strip("._") or "doc"
    digest = hashlib.sha1(doc_key.encode("utf-8")).hexdigest()[:10]
    return f"{readable}-{digest}"


@dataclass
class RecoveryEntry:
    """A snapshot left behind by a process that is no longer running."""

    path: Path
    doc_key: str = ""
    source_path: str | None = None
    time: float = 0.0
    pid: int = 0
    name: str = ""                # the graph's name, for the recovery dialog
    host: str = ""
    pid_start: int | None = None  # the writer's start time (Linux), against pid reuse
    error: str | None = None      # set when the file was corrupt (then moved to ``path``)
    _document: dict[str, Any] | None = field(default=None, repr=False)

    def load(self) -> Graph:
        """The graph as it was autosaved; ``GraphFileError`` for a corrupt snapshot."""
        if self.error is not None or self._document is None:
            raise GraphFileError(self.error or "the recovery file holds no graph",
                                 source=str(self.path))
        return fileformat.from_document(self._document, source=str(self.path))

    def discard(self) -> None:
        """Delete the snapshot (after it was recovered or declined)."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class Autosave:
    """Snapshots of this process's documents in ``directory``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.pid = os.getpid()
        self._start = _process_start(self.pid)
        self.host = socket.gethostname()

    def path_for(self, doc_key: str) -> Path:
        return self.directory / f"{self.pid}-{_key_slug(doc_key)}{SUFFIX}"

    def write(self, doc_key: str, graph: Graph, source_path: str | None = None) -> Path:
        """Snapshot ``graph`` atomically; raises ``OSError`` if the folder is not writable and
        ``GraphFileError`` for a value JSON cannot hold (NaN...), naming the node; the previous
        snapshot stays intact either way (the editor reports it once and keeps going)."""
        now = time.time()
        record = {
            "format": AUTOSAVE_FORMAT,
            "version": AUTOSAVE_VERSION,
            "doc_key": doc_key,
            "source_path": None if source_path is None else str(source_path),
            "time": now,
            "time_iso": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now)),
            "pid": self.pid,
            "pid_start": self._start,
            "host": self.host,
            "graph": fileformat.to_document(graph),
        }
        try:
            text = json.dumps(record, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            fileformat.dumps(graph)  # raises a GraphFileError naming the node and param
            raise
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(doc_key)
        write_text_atomic(path, text)
        return path

    def clear(self, doc_key: str) -> None:
        """Forget the snapshot of ``doc_key`` (saved, or closed without changes)."""
        try:
            self.path_for(doc_key).unlink()
        except FileNotFoundError:
            pass

    def pending(self) -> list[RecoveryEntry]:
        """Snapshots whose writing process has ended, newest first. Corrupt ones come back with
        ``error`` set and their file renamed to ``*.corrupt``."""
        try:
            paths = sorted(self.directory.glob(f"*{SUFFIX}"))
        except OSError:
            return []
        entries = []
        for path in paths:
            entry = self._read(path)
            if entry is not None:
                entries.append(entry)
        entries.sort(key=lambda e: (-e.time, str(e.path)))
        return entries

    def _read(self, path: Path) -> RecoveryEntry | None:
        """One snapshot; whatever is wrong with it (even a FIFO, a pid of 2**63, a time of
        10**400) sets only this file aside, never the others."""
        try:
            # A regular file only, read up to the cap: a FIFO or /dev/zero here must not hang.
            data = safefile.read_capped(path, MAX_AUTOSAVE_BYTES)
            record = fileformat.parse_json(data.decode("utf-8"), str(path))
            entry = _entry_from(path, record)
            if entry.pid == self.pid and entry.host == self.host:
                return None  # our own live snapshot
            if entry.host == self.host and process_alive(entry.pid, entry.pid_start):
                return None  # another running instance is still editing it
        except FileNotFoundError:
            return None  # another instance took it meanwhile
        except safefile.FileTooLarge:
            return self._quarantine(path, "the file is too large to be a recovery file")
        except (OSError, UnicodeDecodeError, ValueError, GraphFileError) as exc:
            return self._quarantine(path, str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad file must not block the good ones
            return self._quarantine(path, f"{type(exc).__name__}: {str(exc)[:200]}")
        return entry

    def _quarantine(self, path: Path, reason: str) -> RecoveryEntry:
        target = path.with_name(path.name + ".corrupt")
        n = 1
        while target.exists():
            target = path.with_name(f"{path.name}.{n}.corrupt")
            n += 1
        try:
            os.replace(path, target)
        except OSError:
            target = path
        return RecoveryEntry(path=target, error=f"corrupt recovery file {path.name}: {reason}")


def _entry_from(path: Path, record: Any) -> RecoveryEntry:
    """Validate a snapshot record; ``ValueError`` with the reason otherwise."""
    if not isinstance(record, dict) or record.get("format") != AUTOSAVE_FORMAT:
        raise ValueError("not a recovery file")
    version = record.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > AUTOSAVE_VERSION:
        raise ValueError(f"unsupported recovery file version {version!r}")
    pid = record.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        raise ValueError("'pid' is missing")
    if not 0 < pid <= MAX_PID:
        raise ValueError(f"'pid' {_short(pid)} is not a process id")
    stamp = record.get("time")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        raise ValueError("'time' is missing")
    try:
        finite = math.isfinite(float(stamp))
    except OverflowError:
        finite = False
    if not finite:
        raise ValueError(f"'time' {_short(stamp)} is not a time")
    source = record.get("source_path")
    if source is not None and not isinstance(source, str):
        raise ValueError("'source_path' must be a string")
    doc = record.get("graph")
    graph = fileformat.from_document(doc, source=str(path))  # GraphFileError if broken
    start = record.get("pid_start")
    if isinstance(start, int) and not 0 <= start < 2**63:
        start = None
    return RecoveryEntry(
        path=path, doc_key=str(record.get("doc_key", "")), source_path=source,
        time=float(stamp), pid=pid, name=graph.name, host=str(record.get("host", "")),
        pid_start=start if isinstance(start, int) and not isinstance(start, bool) else None,
        _document=doc)


def _short(value: Any) -> str:
    """A number from a hostile file, short enough for a message (10**400 has 401 digits)."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"
