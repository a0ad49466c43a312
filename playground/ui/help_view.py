"""The help window (F1): one scrollable page built by :mod:`playground.ui.help_content`, with a
find field. Non-modal, so it can stay open beside the canvas; F1 with a node selected opens it
at that block's entry."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence, QShortcut, QTextDocument
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QLineEdit, QTextBrowser, QVBoxLayout

from playground.ui.help_content import help_html


class HelpWindow(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("helpWindow")
        self.setWindowTitle("Help \u2014 Keras Architecture Playground")
        self.resize(760, 640)
        try:
            from playground.data.augment import AUGMENTATIONS
        except ImportError:   # the help must open even where the data package cannot load
            AUGMENTATIONS = {}  # noqa: N806
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(True)
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(help_html(AUGMENTATIONS))
        self.find = QLineEdit(self)
        self.find.setPlaceholderText("Find in help (Enter: next)")
        self.find.returnPressed.connect(self.find_next)
        row = QHBoxLayout()
        row.addWidget(QLabel("Find", self))
        row.addWidget(self.find, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.browser, 1)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self, self.find.setFocus)

    def show_section(self, key: str) -> None:
        """Scroll to a section (``canvas``, ``blocks``, ``transfer``...) or ``block-<Type>``."""
        self.browser.scrollToAnchor(key)

    def find_next(self) -> bool:
        text = self.find.text().strip()
        if not text:
            return False
        if self.browser.find(text):
            return True
        cursor = self.browser.textCursor()      # wrap around to the top once
        cursor.movePosition(cursor.MoveOperation.Start)
        self.browser.setTextCursor(cursor)
        return self.browser.find(text, QTextDocument.FindFlag(0))
