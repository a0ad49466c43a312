"""The problems list: every error and warning of the latest analysis. Clicking one selects and
centres its node; a problem with a quick fix gets a "Fix" button whose menu lists the fixes from
``core.quickfix`` (each applied as one undo step).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QMenu,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playground.ui import theme
from playground.ui.document import Document
from playground.ui.editing import Editor

PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 2


class ProblemsPanel(QWidget):
    node_requested = Signal(str)   # select and centre this node

    def __init__(self, doc: Document, editor: Editor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.editor = editor
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["", "Where", "Problem", "Fix"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)
        self.problems: list = []
        self._signature: tuple = ()
        doc.analyzed.connect(self.refresh)
        self.refresh(doc.analysis)

    def refresh(self, analysis) -> None:
        problems = list(analysis.problems)
        signature = tuple((p.severity, p.location, p.message, p.fix) for p in problems)
        if signature == self._signature:
            return
        self._signature = signature
        self.problems = problems
        self.tree.clear()
        for problem in problems:
            item = QTreeWidgetItem(["\u2716" if problem.severity == "error" else "\u26a0",
                                    problem.location, problem.message, ""])
            color = theme.ERROR_COLOR if problem.severity == "error" else theme.WARNING_COLOR
            item.setForeground(0, color)
            item.setToolTip(2, problem.message)
            item.setData(0, PROBLEM_ROLE, problem)
            self.tree.addTopLevelItem(item)
            if problem.fix:
                fixes = self.editor.fixes_for(problem)
                if fixes:
                    self.tree.setItemWidget(item, 3, self._fix_button(fixes))

    def _fix_button(self, fixes) -> QToolButton:
        button = QToolButton(self.tree)
        button.setObjectName("fixButton")
        if len(fixes) == 1:
            label, command = fixes[0]
            button.setText("Fix: " + label)
            button.clicked.connect(lambda: self.editor.apply_fix(label, command))
        else:
            button.setText(f"Fix ({len(fixes)})")
            button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            menu = QMenu(button)
            for label, command in fixes:
                menu.addAction(label).triggered.connect(
                    lambda _c=False, lb=label, cmd=command: self.editor.apply_fix(lb, cmd))
            button.setMenu(menu)
        return button

    def fix_buttons(self) -> list[QToolButton]:
        result = []
        for i in range(self.tree.topLevelItemCount()):
            widget = self.tree.itemWidget(self.tree.topLevelItem(i), 3)
            if isinstance(widget, QToolButton):
                result.append(widget)
        return result

    def _clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        problem = item.data(0, PROBLEM_ROLE)
        if problem is None:
            return
        node = problem.node or (problem.edge[1] if problem.edge else None)
        if node:
            self.node_requested.emit(node)
