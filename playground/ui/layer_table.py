"""The Layers panel: a Keras-summary-like table of every node with the explain columns (output,
params, MACs, memory, receptive field, and the arithmetic of the params and MACs), sortable by
any column; a cell's tooltip gives its arithmetic; clicking a row selects that node on the
canvas.

A view of the document's analysis (``core.summary_table.rows``, the ``summary`` CLI's rows) and
of ``core.explain`` for the tooltips, rebuilt after each analysis.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout, QWidget

from playground.core.explain import ExplainError, NodeExplanation, explain_node
from playground.core.summary_table import Row, human_bytes, rf_text, rows
from playground.ui.document import Document
from playground.ui.formatting import shape_text

COLUMNS = ("Layer", "Type", "Output", "Params", "MACs", "Memory", "RF", "Params as", "MACs as",
           "Connected to")
PARAMS_AS, MACS_AS = 7, 8
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


class LayerTableModel(QAbstractTableModel):
    """One row per node in the order the model runs them; numbers sort as numbers."""

    def __init__(self, doc: Document, parent: Any = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.rows: list[Row] = []
        self._explained: dict[str, NodeExplanation | None] = {}
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        self.rows = rows(self.doc.graph, self.doc.analysis)
        self._explained = {}
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def node_id(self, row: int) -> str:
        return self.rows[row].name

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col in (PARAMS_AS, MACS_AS):
                return self._arithmetic(row, col)
            return self._text(row, col)
        if role == SORT_ROLE:
            return self._sort_key(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (3, 4, 5, 6):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        return None

    @staticmethod
    def _text(row: Row, col: int) -> str:
        known = row.shape is not None
        return (row.name, row.type, shape_text(row.shape), f"{row.params:,}",
                f"{row.macs:,}", human_bytes(row.memory_bytes) if known else "?",
                rf_text(row.receptive_field), "", "", ", ".join(row.inputs))[col]

    def _arithmetic(self, row: Row, col: int) -> str:
        """The explain rule's formula for the params or MACs (computed for the rows shown)."""
        e = self.explanation(row.name)
        if e is None:
            return ""
        term = (e.params if col == PARAMS_AS else e.macs).terms[0]
        return term.formula

    @staticmethod
    def _sort_key(row: Row, col: int) -> Any:
        if col == 2:
            return -1 if row.shape is None else _prod(row.shape)
        if col == 6:
            return -1.0 if row.receptive_field is None else float(max(row.receptive_field))
        return (row.name.lower(), row.type.lower(), None, row.params, row.macs,
                row.memory_bytes, None, row.params, row.macs, ", ".join(row.inputs))[col]

    def explanation(self, node_id: str) -> NodeExplanation | None:
        if node_id not in self._explained:
            try:
                self._explained[node_id] = explain_node(self.doc.graph, node_id,
                                                        self.doc.analysis)
            except ExplainError:
                self._explained[node_id] = None
        return self._explained[node_id]

    def _tooltip(self, row: Row, col: int) -> str | None:
        e = self.explanation(row.name)
        if e is None:
            return None
        return {2: e.output.formula.replace("; ", "\n"), 3: e.params.formula,
                4: e.macs.formula, 5: e.memory.formula,
                6: e.receptive_field.formula.replace("; ", "\n"), PARAMS_AS: e.params.formula,
                MACS_AS: e.macs.formula}.get(col)


def _prod(shape: tuple[int, ...]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


class LayerTable(QWidget):
    """The panel: the sortable table; ``node_requested(id)`` when a row is clicked."""

    node_requested = Signal(str)

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LayerTableModel(doc, self)
        self._stale = False
        self._selected: str | None = None
        doc.analyzed.connect(self._on_analyzed)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView(self)
        self.view.setObjectName("layerTable")
        # The app's style sheet styles lists and trees; the table matches them.
        self.view.setStyleSheet(
            "QTableView { background: #24282d; alternate-background-color: #272b31; "
            "color: #dfe5ec; gridline-color: #30353c; border: none; "
            "selection-background-color: #3d5a80; selection-color: #ffffff; }")
        self.view.setAlternatingRowColors(True)
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)   # model order until clicked
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(20)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((150, 130, 100, 90, 110, 80, 50, 170, 190)):
            self.view.setColumnWidth(col, width)
        self.view.clicked.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def _on_analyzed(self, _analysis: Any) -> None:
        """Rebuild now if shown; a hidden panel (a tab behind Problems) catches up when shown,
        so a big graph's edits do not pay for a table nobody looks at."""
        if self.isVisible():
            self._reload()
        else:
            self._stale = True

    def _reload(self) -> None:
        self.model.reload()
        self.select_node(self._selected)   # a reset model forgets its selection

    def showEvent(self, event: Any) -> None:  # noqa: N802
        if self._stale:
            self._stale = False
            self._reload()
        super().showEvent(event)

    def _clicked(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        if source.isValid():
            self.node_requested.emit(self.model.node_id(source.row()))

    def row_of(self, node_id: str) -> int | None:
        """The row (in the table as sorted now) that shows ``node_id``."""
        for row in range(self.proxy.rowCount()):
            source = self.proxy.mapToSource(self.proxy.index(row, 0))
            if self.model.node_id(source.row()) == node_id:
                return row
        return None

    def select_node(self, node_id: str | None) -> None:
        """Follow the canvas: highlight the node's row (without emitting ``node_requested``)."""
        self._selected = node_id
        selection = self.view.selectionModel()
        row = self.row_of(node_id) if node_id is not None else None
        if row is None:
            selection.clearSelection()
            return
        index = self.proxy.index(row, 0)
        selection.select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                         | QItemSelectionModel.SelectionFlag.Rows)
        self.view.scrollTo(index)
