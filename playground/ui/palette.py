"""The block palette: the catalogue grouped by category, searchable, draggable onto the canvas.

Dragging a block starts a real ``QDrag`` whose mime data (``BLOCK_MIME``) carries the block type;
the canvas view accepts it. Double-click (or Enter) adds the block at the centre of the view.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playground.blocks import by_category
from playground.ui import theme
from playground.ui.canvas.view import BLOCK_MIME

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1


def swatch(color: QColor, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(color)
    p.setPen(color.darker(140))
    p.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    p.end()
    return QIcon(pix)


def block_mime(block_type: str) -> QMimeData:
    """The drag payload for a block (also used by tests to simulate a drop)."""
    mime = QMimeData()
    mime.setData(BLOCK_MIME, block_type.encode("utf-8"))
    mime.setText(block_type)
    return mime


class _Tree(QTreeWidget):
    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [BLOCK_MIME]

    def mimeData(self, items) -> QMimeData:  # noqa: N802
        types = [i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)]
        return block_mime(types[0]) if types else QMimeData()


class Palette(QWidget):
    block_activated = Signal(str)   # double-click / Enter: add at the view centre

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search blocks (e.g. conv, pool, add)")
        self.search.setClearButtonEnabled(True)
        self.tree = _Tree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setIndentation(12)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        self.groups: dict[str, QTreeWidgetItem] = {}
        for category, specs in by_category().items():
            group = QTreeWidgetItem(self.tree, [category.capitalize()])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            group.setIcon(0, swatch(theme.category_color(category)))
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.groups[category] = group
            for spec in specs:
                item = QTreeWidgetItem(group, [spec.label])
                item.setData(0, TYPE_ROLE, spec.type)
                item.setToolTip(0, f"{spec.type}: {spec.help}\n(drag onto the canvas or "
                                "double-click)")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                self.items[spec.type] = item
        self.tree.expandAll()
        self.search.textChanged.connect(self.filter)
        self.tree.itemDoubleClicked.connect(self._activated)
        self.tree.itemActivated.connect(self._activated)

    def filter(self, text: str) -> None:
        needle = text.strip().lower()
        for category, group in self.groups.items():
            visible = 0
            for i in range(group.childCount()):
                item = group.child(i)
                hay = f"{item.text(0)} {item.data(0, TYPE_ROLE)} {category} {item.toolTip(0)}"
                show = not needle or needle in hay.lower()
                item.setHidden(not show)
                visible += show
            group.setHidden(visible == 0)
            group.setExpanded(True)

    def visible_types(self) -> list[str]:
        return [t for t, item in self.items.items()
                if not item.isHidden() and not item.parent().isHidden()]

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        block_type = item.data(0, TYPE_ROLE)
        if block_type:
            self.block_activated.emit(block_type)
