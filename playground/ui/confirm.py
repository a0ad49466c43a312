"""Asking before an export replaces something that exists, shared by the main window and the
training panel (a file dialog asks about the name it returned, but not about a name the app made
up itself: an added ``.keras`` ending, a ``savedmodel`` folder inside the chosen one)."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QMessageBox, QWidget


def confirm_replace(parent: QWidget | None, path: str) -> bool:
    """True when ``path`` does not exist or the user agrees to replace it (default: No)."""
    if not os.path.lexists(path):
        return True
    B = QMessageBox.StandardButton  # noqa: N806
    kind = "folder" if os.path.isdir(path) else "file"
    answer = QMessageBox.question(
        parent, "Replace existing export?",
        f"The {kind} {path} already exists. Replace it?", B.Yes | B.No, B.No)
    return answer == B.Yes
