"""The canvas view: wheel zoom around the cursor, pan (middle button or space+drag), rubber-band
selection, drag-to-connect from an output port to an input port, and drops from the palette.

Connections are tracked by the view's own state (not by the mouse buttons reported with move
events), so a press on a port followed by a release on another connects even without moves.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsView

from playground.ui import theme
from playground.ui.canvas.items import OVERVIEW_ZOOM, NodeItem, PortItem, curve
from playground.ui.canvas.scene import GraphScene

BLOCK_MIME = "application/x-playground-block"
MIN_ZOOM, MAX_ZOOM = 0.03, 4.0
DETAIL_ZOOM = 0.3   # below this, ports/arrows/edge labels are hidden (see GraphScene.set_detail)


class GraphView(QGraphicsView):
    connect_requested = Signal(str, str)          # src id, dst id
    block_dropped = Signal(str, QPointF)           # block type, scene position
    zoom_changed = Signal(float)

    def __init__(self, scene: GraphScene, parent=None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setAcceptDrops(True)
        # Pan with the middle button or space+drag; scroll bars only take room.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_start: QPoint | None = None
        self._space = False
        self._connect_from: PortItem | None = None
        self._temp_edge: QGraphicsPathItem | None = None
        self.zoom_changed.connect(self._zoomed)

    # -------------------------------------------------------------------- zoom
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, anchor_under_mouse: bool = True) -> None:
        current = self.zoom()
        target = max(MIN_ZOOM, min(MAX_ZOOM, current * factor))
        if abs(target - current) < 1e-9:
            return
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse
                                     if anchor_under_mouse
                                     else QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.scale(target / current, target / current)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.zoom_changed.emit(self.zoom())

    def _zoomed(self, zoom: float) -> None:
        detail = zoom >= DETAIL_ZOOM
        self.scene().set_detail(detail)  # type: ignore[union-attr]
        self.scene().set_overview(zoom < OVERVIEW_ZOOM)  # type: ignore[union-attr]
        # Far out, antialiasing a thousand hairline curves costs more than it shows.
        self.setRenderHint(QPainter.RenderHint.Antialiasing, detail)

    def reset_zoom(self) -> None:
        self.resetTransform()
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(1.0015 ** delta)
        event.accept()

    def fit_all(self) -> None:
        scene: GraphScene = self.scene()  # type: ignore[assignment]
        rect = QRectF()
        for item in scene.node_items.values():
            rect = rect.united(item.sceneBoundingRect())
        if rect.isNull():
            return
        rect = rect.adjusted(-40, -40, 40, 40)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.25:  # a tiny graph should not be blown up
            self.resetTransform()
            self.scale(1.25, 1.25)
            self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom())

    def center_on_node(self, node_id: str) -> None:
        item = self.scene().node_items.get(node_id)  # type: ignore[union-attr]
        if item is not None:
            if self.zoom() < 0.5:
                self.zoom_by(0.8 / self.zoom(), anchor_under_mouse=False)
            self.centerOn(item.sceneBoundingRect().center())

    # ------------------------------------------------------------------ drawing
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        painter.fillRect(rect, theme.CANVAS_BG)
        if self.zoom() < 0.35:
            return
        step = 40.0
        pen = QPen(theme.GRID_COLOR, 1.0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        left = int(rect.left() // step) * step
        top = int(rect.top() // step) * step
        x = left
        lines = []
        from PySide6.QtCore import QLineF

        while x < rect.right():
            lines.append(QLineF(x, rect.top(), x, rect.bottom()))
            x += step
        y = top
        while y < rect.bottom():
            lines.append(QLineF(rect.left(), y, rect.right(), y))
            y += step
        painter.drawLines(lines)

    # -------------------------------------------------------------------- mouse
    def _port_at(self, pos: QPoint) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem) and item.isVisible():
                return item
        return None

    def _node_at(self, pos: QPoint) -> NodeItem | None:
        for item in self.items(pos):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if isinstance(item, NodeItem):
                return item
        return None

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space):
            self._pan_start = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            port = self._port_at(event.position().toPoint())
            if port is not None:
                self._start_connect(port)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pan_start is not None:
            delta = event.position().toPoint() - self._pan_start
            self._pan_start = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        if self._connect_from is not None:
            self._update_temp_edge(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_start is not None:
            self._pan_start = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space
                                      else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        if self._connect_from is not None:
            self._finish_connect(event.position().toPoint())
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _start_connect(self, port: PortItem) -> None:
        self._connect_from = port
        self._temp_edge = QGraphicsPathItem()
        pen = QPen(QColor(theme.SELECT_COLOR), 2.0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._temp_edge.setPen(pen)
        self._temp_edge.setZValue(100)
        self.scene().addItem(self._temp_edge)
        self._update_temp_edge(port.scenePos())

    def _update_temp_edge(self, scene_pos: QPointF) -> None:
        if self._connect_from is None or self._temp_edge is None:
            return
        anchor = self._connect_from.scenePos()
        orientation = self.scene().orientation  # type: ignore[union-attr]
        if self._connect_from.kind == "out":
            self._temp_edge.setPath(curve(anchor, scene_pos, orientation))
        else:
            self._temp_edge.setPath(curve(scene_pos, anchor, orientation))

    def _finish_connect(self, pos: QPoint) -> None:
        start = self._connect_from
        self._connect_from = None
        if self._temp_edge is not None:
            self.scene().removeItem(self._temp_edge)
            self._temp_edge = None
        if start is None:
            return
        target_port = self._port_at(pos)
        target_node = target_port.node_item if target_port else self._node_at(pos)
        if target_node is None or target_node is start.node_item:
            return
        if start.kind == "out":
            self.connect_requested.emit(start.node_id, target_node.node_id)
        else:
            self.connect_requested.emit(target_node.node_id, start.node_id)

    # ------------------------------------------------------------------ keys
    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    # --------------------------------------------------------------- palette drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(BLOCK_MIME):
            block_type = bytes(event.mimeData().data(BLOCK_MIME).data()).decode("utf-8")
            self.block_dropped.emit(block_type, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)
