"""The problems list: every error and warning of the latest analysis. Clicking one selects and
centres its node; a problem with a quick fix gets a "Fix" button whose menu lists the fixes from
``core.quickfix`` (each applied as one undo step).

When the input is too small somewhere (AlexNet at 32x32), a last row suggests the smallest input
that works. Finding it re-runs the checker a few dozen times (up to ~100 ms for DenseNet), so it is
computed on a single-shot timer after the edits settle, and only while such a problem exists.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QMenu,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playground.core.minimum_input import minimum_input_message, size_problem
from playground.ui import theme
from playground.ui.document import Document
from playground.ui.editing import Editor

PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 2
HINT_ROLE = Qt.ItemDataRole.UserRole + 3   # the Input node a size hint refers to
# How long edits must settle before the smallest input is searched for.
HINT_DELAY_MS = 300


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
        self.hint: str | None = None
        self._hint_item: QTreeWidgetItem | None = None
        self._hint_timer = QTimer(self)
        self._hint_timer.setSingleShot(True)
        self._hint_timer.setInterval(HINT_DELAY_MS)
        self._hint_timer.timeout.connect(self._update_hint)
        doc.analyzed.connect(self.refresh)
        self.refresh(doc.analysis)

    def refresh(self, analysis) -> None:
        if size_problem(analysis) is not None:
            self._hint_timer.start()  # the graph may have changed even if the messages did not
        else:
            self._hint_timer.stop()
            self._set_hint(None, None)
        problems = list(analysis.problems)
        signature = tuple((p.severity, p.location, p.message, p.fix) for p in problems)
        if signature == self._signature:
            return
        self._signature = signature
        self.problems = problems
        self.tree.clear()
        self._hint_item = None
        self.hint = None
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

    def _update_hint(self) -> None:
        """Search for the smallest input of the graph as it is now (off the per-edit path)."""
        analysis = self.doc.current_analysis()
        if size_problem(analysis) is None:
            self._set_hint(None, None)
            return
        graph = self.doc.graph
        message = minimum_input_message(graph)
        if message is None:
            message = (f"no square input size makes {graph.name} valid; the other errors do "
                       "not depend on the input size")
        inputs = [n.id for n in graph.nodes if n.type == "Input"]
        self._set_hint(f"Hint: {message}", inputs[0] if len(inputs) == 1 else None)

    def _set_hint(self, text: str | None, input_id: str | None) -> None:
        self.hint = text
        if text is None:
            if self._hint_item is not None:
                index = self.tree.indexOfTopLevelItem(self._hint_item)
                if index >= 0:
                    self.tree.takeTopLevelItem(index)
                self._hint_item = None
            return
        if self._hint_item is None:
            self._hint_item = QTreeWidgetItem(["\u2139", "", "", ""])
            self._hint_item.setForeground(0, theme.WARNING_COLOR)
            self.tree.addTopLevelItem(self._hint_item)
        self._hint_item.setText(1, input_id or "")
        self._hint_item.setText(2, text)
        self._hint_item.setToolTip(2, text + " (set it on the Input node, or use Retarget)")
        self._hint_item.setData(0, HINT_ROLE, input_id)

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
            input_id = item.data(0, HINT_ROLE)
            if input_id:
                self.node_requested.emit(input_id)
            return
        node = problem.node or (problem.edge[1] if problem.edge else None)
        if node:
            self.node_requested.emit(node)
