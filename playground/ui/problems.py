"""The problems list: every error and warning of the latest analysis. Clicking one selects and
centres its node; a problem with a quick fix gets a "Fix" button whose menu lists the fixes from
``core.quickfix`` (each applied as one undo step).

When the input is too small somewhere (AlexNet at 32x32), a last row suggests the smallest input
that works. Finding it re-runs the checker a few dozen times (up to ~100 ms for DenseNet), so it is
computed on a single-shot timer after the edits settle, and only while such a problem exists.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QTabBar,
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
        # With nothing to list, one line instead of an empty table (the dock then collapses
        # to it: see EmptyCollapse).
        self.empty_label = QLabel("\u2714 No errors or warnings.", self)
        self.empty_label.setObjectName("problemsEmpty")
        self.empty_label.setContentsMargins(8, 2, 8, 2)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.empty_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addWidget(self.empty_label)
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
        self._show_empty_state()   # refresh returns early when the first analysis lists nothing

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
        self._show_empty_state()

    @property
    def is_empty(self) -> bool:
        """Nothing listed: no problem and no size hint."""
        return not self.problems and self.hint is None

    def _show_empty_state(self) -> None:
        empty = self.is_empty
        self.tree.setVisible(not empty)
        self.empty_label.setVisible(empty)

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
            self._show_empty_state()
            return
        if self._hint_item is None:
            self._hint_item = QTreeWidgetItem(["\u2139", "", "", ""])
            self._hint_item.setForeground(0, theme.WARNING_COLOR)
            self.tree.addTopLevelItem(self._hint_item)
        self._hint_item.setText(1, input_id or "")
        self._hint_item.setText(2, text)
        self._hint_item.setToolTip(2, text + " (set it on the Input node, or use Retarget)")
        self._hint_item.setData(0, HINT_ROLE, input_id)
        self._show_empty_state()

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


class EmptyCollapse(QObject):
    """Keeps the bottom dock area short while the Problems tab lists nothing (an empty table
    took ~150 px of a 768-px window), and gives the height back when problems appear or another
    bottom tab (Layers, Training) is shown.

    It acts on changes only (the list empties, the Problems tab is shown again), never on every
    edit, so a height the user drags to stays until the next change and is the one restored.
    """

    EXPANDED = 144   # the list's height before any user choice (MainWindow's 170 less the tabs)
    OTHERS_MINIMUM = 24

    def __init__(self, window: QMainWindow, dock: QDockWidget, panel: ProblemsPanel,
                 others: list[QDockWidget]) -> None:
        super().__init__(window)
        self.window = window
        self.dock = dock
        self.panel = panel
        self.others = others
        self.expanded = self.EXPANDED
        # Tabbed docks share one height, so a tab whose content asks for more (a table's 68 px
        # minimum) would keep the area from collapsing; their content scrolls, so it may be as
        # short as the Problems line while collapsed.
        for other in others:
            content = other.widget()
            if content is not None:
                content.setMinimumHeight(self.OTHERS_MINIMUM)
        self.collapsed = False
        self._seen: tuple[bool, bool] | None = None   # (showing, empty) at the last update
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)   # after Qt has settled which tab is shown
        self._timer.timeout.connect(self.update)
        panel.doc.analyzed.connect(self.schedule)
        for d in (dock, *others):
            d.visibilityChanged.connect(self.schedule)
        # The size hint is found after its timer; the panel is not empty meanwhile.
        panel._hint_timer.timeout.connect(self.schedule)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.window and event.type() == QEvent.Type.Show:
            self.schedule()
        return False

    def schedule(self, *_args: object) -> None:
        self._timer.start()

    def compact_height(self) -> int:
        return max(self.dock.minimumSizeHint().height(), 1)

    def update(self) -> None:
        if self.dock.isFloating() or not self.window.isVisible():
            return
        showing = _on_screen(self.dock)
        empty = self.panel.is_empty
        state = (showing, empty)
        changed = state != self._seen
        self._seen = state
        if showing and empty:
            if changed and not self.collapsed:
                height = self.dock.height()
                if height > self.compact_height() + 20:
                    self.expanded = height
                self.window.resizeDocks([self.dock], [self.compact_height()],
                                        Qt.Orientation.Vertical)
                self.collapsed = True
            return
        if not self.collapsed:
            return
        self.collapsed = False
        shown = self.dock if showing else next((d for d in self.others if _on_screen(d)), None)
        if shown is not None and shown.height() < self.expanded - 10:
            self.window.resizeDocks([shown], [self.expanded + self._tab_bar_height()],
                                    Qt.Orientation.Vertical)

    def _tab_bar_height(self) -> int:
        """resizeDocks sizes a tabbed group with its tab bar; ``height()`` is the content's."""
        title = self.dock.windowTitle()
        for bar in self.window.findChildren(QTabBar):
            if bar.isVisible() and any(bar.tabText(i) == title for i in range(bar.count())):
                return bar.height()
        return 0


def _on_screen(dock: QDockWidget) -> bool:
    """The dock is the tab being shown (a tabbed dock behind another stays ``isVisible()``)."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()
