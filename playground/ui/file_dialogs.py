"""Where file dialogs start: the folder the user last chose a file in, else their documents
folder, else home; never the app's source folder (a clone's working directory).

The folder is remembered for the session and, when settings are enabled, across sessions
(QSettings ``dialogs/lastFolder``). Call :func:`remember` with each path a dialog returned.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

_last: str | None = None
SETTINGS_KEY = "dialogs/lastFolder"


def _settings() -> QSettings | None:
    if os.environ.get("PLAYGROUND_NO_SETTINGS") == "1":
        return None
    return QSettings("KerasPlayground", "KerasArchitecturePlayground")


def documents_dir() -> str:
    """The user's documents folder where it exists, else their home folder."""
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if docs and os.path.isdir(docs):
        return docs
    return str(Path.home())


def start_dir() -> str:
    """The folder a file dialog opens in."""
    global _last
    if _last is None:
        settings = _settings()
        stored = settings.value(SETTINGS_KEY, "") if settings is not None else ""
        _last = str(stored) if isinstance(stored, str) and stored else ""
    if _last and os.path.isdir(_last):
        return _last
    return documents_dir()


def start_path(name: str) -> str:
    """A suggested file name inside :func:`start_dir` (for save dialogs)."""
    return os.path.join(start_dir(), name)


def remember(path: str | os.PathLike[str] | None) -> None:
    """The user chose ``path`` (a file or a folder): the next dialog starts beside it."""
    global _last
    if not path:
        return
    folder = str(path) if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    if not folder or not os.path.isdir(folder):
        return
    _last = folder
    settings = _settings()
    if settings is not None:
        settings.setValue(SETTINGS_KEY, folder)


def forget() -> None:
    """Tests: back to the documents folder."""
    global _last
    _last = ""
