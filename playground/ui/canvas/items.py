"""Graphics items of the canvas. Each holds only a node id (or an edge's two ids) and paints from
the scene's document and analysis: the model is the single source of truth.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QStyle,
    QStyleOptionGraphicsItem,
)

from playground.blocks import get_spec
from playground.blocks.spec import resolve_params
from playground.ui import theme
from playground.ui.formatting import human_count, shape_text

if TYPE_CHECKING:
    from playground.ui.canvas.scene import GraphScene

OVERVIEW_ZOOM = 0.15   # below this a node is one filled rectangle (no text, no telemetry bar)
NODE_Z = 10.0
EDGE_Z = 1.0
BADGE_Z = 20.0

_TITLE_FONT = QFont("DejaVu Sans", 9)
_TITLE_FONT.setBold(True)
_ID_FONT = QFont("DejaVu Sans", 9)
_ID_FONT.setBold(True)
_BODY_FONT = QFont("DejaVu Sans", 8)
FOOTER_GAP = 6.0   # px between a node's output shape and its params/MACs figure
_BADGE_FONT = QFont("DejaVu Sans", 10)
_BADGE_FONT.setBold(True)
_FAR_FONT = QFont("DejaVu Sans", 22)
_FAR_FONT.setBold(True)


def draw_lock(painter: QPainter, rect: QRectF, color: QColor) -> None:
    """A padlock drawn with primitives (no bitmap asset): body plus shackle."""
    painter.save()
    painter.setPen(QPen(color, 1.6))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    w, h = rect.width(), rect.height()
    shackle = QRectF(rect.left() + w * 0.22, rect.top(), w * 0.56, h * 0.7)
    painter.drawArc(shackle, 0, 180 * 16)
    painter.drawLine(QPointF(shackle.left(), shackle.center().y()),
                     QPointF(shackle.left(), rect.top() + h * 0.45))
    painter.drawLine(QPointF(shackle.right(), shackle.center().y()),
                     QPointF(shackle.right(), rect.top() + h * 0.45))
    painter.setBrush(color)
    painter.drawRoundedRect(QRectF(rect.left(), rect.top() + h * 0.45, w, h * 0.55), 1.5, 1.5)
    painter.restore()


class PortItem(QGraphicsItem):
    """An input or output port of a node; the view starts and ends connections on these."""

    def __init__(self, node_item: NodeItem, kind: str) -> None:
        super().__init__(node_item)
        self.node_item = node_item
        self.kind = kind  # "in" or "out"
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self.setToolTip("drag to an input port to connect" if kind == "out"
                        else "drop a connection here")

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def boundingRect(self) -> QRectF:  # noqa: N802
        r = theme.PORT_RADIUS + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        r = theme.PORT_RADIUS + 3  # generous hit area
        path.addEllipse(QPointF(0, 0), r, r)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform()) < 0.3:
            return  # too small to hit or see
        r = theme.PORT_RADIUS * (1.25 if self.hovered else 1.0)
        fill = QColor("#f5f7fa") if self.kind == "out" else QColor("#1d2025")
        painter.setPen(QPen(theme.EDGE_COLOR, 1.6))
        painter.setBrush(fill)
        painter.drawEllipse(QPointF(0, 0), r, r)

    def scene_anchor(self) -> QPointF:
        return self.scenePos()

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self.hovered = False
        self.update()


class ErrorBadge(QGraphicsItem):
    """A red '!' badge that keeps its screen size, so a broken node is visible when zoomed out."""

    SIZE = 22.0

    def __init__(self, node_item: NodeItem) -> None:
        super().__init__(node_item)
        self.count = 0
        self.severity = "error"
        self.setZValue(BADGE_Z)
        self.setVisible(False)

    def show_problems(self, count: int, severity: str) -> None:
        """Show ``count`` problems (hide at 0). The badge ignores the view's transformations
        only while shown: Qt's scene index cannot place such an item in its BSP tree, so every
        hit test (each mouse move, click and tooltip) visits the whole node that holds one.
        A flag on every node's hidden badge made each of those O(nodes): 4 bounding-rect
        calls per node and port per click on DenseNet-121."""
        self.count = count
        self.severity = severity
        shown = count > 0
        flag = QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
        if bool(self.flags() & flag) != shown:
            self.setFlag(flag, shown)
        if self.isVisible() != shown:
            self.setVisible(shown)

    def boundingRect(self) -> QRectF:  # noqa: N802
        s = self.SIZE
        return QRectF(-s / 2 - 1, -s / 2 - 1, s + 2, s + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        s = self.SIZE
        color = theme.ERROR_COLOR if self.severity == "error" else theme.WARNING_COLOR
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor("white"), 2))
        painter.setBrush(color)
        painter.drawEllipse(QRectF(-s / 2, -s / 2, s, s))
        painter.setFont(_BADGE_FONT)
        painter.setPen(QColor("white"))
        text = "!" if self.count <= 1 else str(min(self.count, 9))
        painter.drawText(QRectF(-s / 2, -s / 2, s, s), Qt.AlignmentFlag.AlignCenter, text)


class NodeItem(QGraphicsItem):
    """One node of the graph. Holds only its id; paints from the model and the analysis."""

    def __init__(self, scene: GraphScene, node_id: str) -> None:
        super().__init__()
        self._scene_ref = scene
        self.node_id = node_id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges, True)
        self.setAcceptHoverEvents(True)
        self.setZValue(NODE_Z)
        self.in_port = PortItem(self, "in")
        self.out_port = PortItem(self, "out")
        self.badge = ErrorBadge(self)
        self._signature: tuple | None = None
        self._base_tip = ""   # problems or help; telemetry figures are appended after a run
        self._tip_stale = True
        # Made hidden with the node (like its ports), so neither the first epoch nor leaving
        # the overview creates 429 items at once.
        self.telemetry_bar = TelemetryBar()
        self.telemetry_bar.setParentItem(self)
        self.hovered = False
        self.apply_cache_mode()
        self.place_ports()

    def apply_cache_mode(self) -> None:
        """Close up: a device-resolution cache (crisp text, no repaint while panning). Far out,
        no cache: the node is one filled rectangle, cheaper to paint than to re-cache on every
        zoom step (measured on 1,000 nodes)."""
        if self._scene_ref.detail:
            self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        else:
            self.setCacheMode(QGraphicsItem.CacheMode.NoCache)

    # ---------------------------------------------------------------- geometry
    def place_ports(self) -> None:
        w, h = theme.NODE_WIDTH, theme.NODE_HEIGHT
        if self._scene_ref.orientation == "TB":
            self.in_port.setPos(w / 2, 0)
            self.out_port.setPos(w / 2, h)
        else:
            self.in_port.setPos(0, h / 2)
            self.out_port.setPos(w, h / 2)
        self.badge.setPos(w - 4, 4)
        spec = get_spec(self.node().type) if self.node_id in self._scene_ref.doc.graph else None
        self.in_port_wanted = spec is None or spec.max_inputs != 0
        self.in_port.setVisible(self.in_port_wanted and self._scene_ref.detail)
        self.out_port.setVisible(self._scene_ref.detail)

    def boundingRect(self) -> QRectF:  # noqa: N802
        m = 4.0
        return QRectF(-m, -m, theme.NODE_WIDTH + 2 * m, theme.NODE_HEIGHT + 2 * m + 6)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, theme.NODE_WIDTH, theme.NODE_HEIGHT), 7, 7)
        return path

    def node(self):
        return self._scene_ref.doc.graph.node(self.node_id)

    def report(self):
        return self._scene_ref.doc.analysis.nodes.get(self.node_id)

    # -------------------------------------------------------------------- state
    def refresh(self) -> None:
        """The model or the analysis changed: update tooltip/badge and repaint."""
        report = self.report()
        problems = report.problems if report is not None else []
        node = self.node()
        signature = (node.id, node.type, node.trainable,
                     None if report is None else (report.shape, report.params, report.macs),
                     tuple((p.severity, p.message) for p in problems))
        if signature == self._signature:
            return  # nothing this item shows changed: no repaint (500 nodes in a frame)
        self._signature = signature
        errors = [p for p in problems if p.severity == "error"]
        shown = errors or problems
        self.badge.show_problems(len(shown), "error" if errors else "warning")
        if shown:
            self._base_tip = "\n".join(f"{p.severity}: {p.message}" for p in shown)
        else:
            spec = get_spec(node.type)
            self._base_tip = f"{node.id} ({node.type})" + (f"\n{spec.help}" if spec else "")
            layers = self.layer_count_text()
            if layers:
                self._base_tip += f"\nA composite of {layers} (Keras layers; Expand shows them)"
        self.refresh_tooltip()
        self.update()

    def refresh_tooltip(self) -> None:
        """The tooltip's text is out of date (problems, help or telemetry changed). It is
        composed when asked for (:meth:`toolTip`, or the scene's help event when the mouse
        rests on the node), not here: after each epoch every node's figures change, and
        writing 429 tooltips nobody reads cost more than the rest of the epoch's update."""
        self._tip_stale = True

    def tooltip_text(self) -> str:
        """The node's tooltip: its problems or help, then the last epoch's telemetry if any."""
        text = self._base_tip
        stats = self._scene_ref.telemetry.get(self.node_id)
        if stats:
            text += "\n\n" + telemetry_text(stats)
        return text

    def ensure_tooltip(self) -> None:
        """Bring Qt's stored tooltip up to date (what the view shows on a help event)."""
        if self._tip_stale:
            self._tip_stale = False
            self.setToolTip(self.tooltip_text())

    def toolTip(self) -> str:  # noqa: N802 - Qt's name
        self.ensure_tooltip()
        return super().toolTip()

    def show_telemetry(self, stats: dict[str, float] | None, scale: float) -> None:
        """The telemetry bar under the node: length = gradient norm relative to the largest
        (``scale``), colour = dead ReLU share (:func:`telemetry_colour`). Drawn by a C++ child
        item (:class:`TelemetryBar`), so a new epoch repaints only the bars: the node's own
        cached picture stays valid (no Python paint per node), and a bar whose length and
        colour did not change is not touched at all."""
        bar = self.telemetry_bar
        if not stats:
            if bar.isVisible():
                bar.setVisible(False)
            return
        frac = max(0.0, min(1.0, finite_or(stats.get("grad_norm"), 0.0) / (scale or 1.0)))
        bar.show_value(frac, telemetry_colour(stats))
        shown = not self._scene_ref.overview
        if bar.isVisible() != shown:
            bar.setVisible(shown)

    def has_error(self) -> bool:
        report = self.report()
        return bool(report is not None and report.has_error)

    def itemChange(self, change, value):  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self._scene_ref.node_item_moved(self.node_id)
        return super().itemChange(change, value)

    # -------------------------------------------------------------------- paint
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        node = self.node()
        spec = get_spec(node.type)
        report = self.report()
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        w, h = theme.NODE_WIDTH, theme.NODE_HEIGHT
        rect = QRectF(0, 0, w, h)
        color = theme.category_color(spec.category if spec else None)
        frozen = not node.trainable
        if frozen:
            color = theme.desaturate(color)
        if lod < OVERVIEW_ZOOM:
            # Overview of a big graph: a block of colour (red-framed if broken), nothing else.
            painter.fillRect(rect, color)
            if report is not None and report.has_error:
                pen = QPen(theme.ERROR_COLOR, 3.0)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(rect)
            elif option.state & QStyle.StateFlag.State_Selected:
                pen = QPen(theme.SELECT_COLOR, 2.0)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(rect)
            return
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        error = report is not None and report.has_error
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, lod >= 0.3)

        # Body
        body = theme.NODE_BODY if not frozen else QColor("#2c2e31")
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(body)
        painter.drawRoundedRect(rect, 7, 7)
        if frozen:
            painter.setBrush(QBrush(QColor(255, 255, 255, 18), Qt.BrushStyle.BDiagPattern))
            painter.drawRoundedRect(rect, 7, 7)

        if lod < 0.4:
            # Far away: a solid block of the category colour with the type's initials.
            painter.setBrush(color)
            painter.drawRoundedRect(rect, 7, 7)
            painter.setFont(_FAR_FONT)
            painter.setPen(QColor("white"))
            label = spec.label if spec else node.type
            # Shrink long labels to fit the box (left of the badge) rather than clipping them.
            box = self.far_label_rect(lod)
            fit = min(1.0, box.width() / max(QFontMetricsF(_FAR_FONT).horizontalAdvance(label),
                                             1))
            painter.save()
            painter.translate(box.center())
            painter.scale(fit, fit)
            painter.drawText(QRectF(-box.width() / (2 * fit), -h / 2, box.width() / fit, h),
                             Qt.AlignmentFlag.AlignCenter, label)
            painter.restore()
        else:
            self._paint_detail(painter, node, spec, report, color, frozen, rect, lod)

        # Outline: error beats selection beats plain (cosmetic pens keep their screen width).
        if error:
            pen = QPen(theme.ERROR_COLOR, 3.5)
        elif selected:
            pen = QPen(theme.SELECT_COLOR, 2.5)
        else:
            pen = QPen(color.darker(130), 1.2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, 7, 7)
        if error and selected:
            pen = QPen(theme.SELECT_COLOR, 1.5, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRoundedRect(rect.adjusted(-4, -4, 4, 4), 9, 9)

    def badge_rect(self, lod: float) -> QRectF:
        """Where the badge covers the node, in item coordinates, at zoom ``lod``: it keeps its
        screen size, so zoomed out it spans a growing part of the node."""
        if not self.badge.isVisible() or lod <= 0:
            return QRectF()
        r = self.badge.boundingRect()
        pos = self.badge.pos()
        return QRectF(pos.x() + r.left() / lod, pos.y() + r.top() / lod,
                      r.width() / lod, r.height() / lod)

    def far_label_rect(self, lod: float) -> QRectF:
        """The overview label's box: the node less a margin, ending left of the badge (the
        label shrinks to fit rather than hide under it), never narrower than half the node."""
        w, h = theme.NODE_WIDTH, theme.NODE_HEIGHT
        right = w - 7
        badge = self.badge_rect(lod)
        if not badge.isEmpty():
            right = max(min(right, badge.left() - 3), w / 2)
        return QRectF(7, 0, right - 7, h)

    def title_right_pad(self, lod: float) -> float:
        """Room kept at the header's right for the lock and, zoomed out, the badge."""
        badge = self.badge_rect(lod)
        pad = 30.0
        if not badge.isEmpty():
            pad = max(pad, theme.NODE_WIDTH - badge.left() + 3)
        return pad

    def _paint_detail(self, painter, node, spec, report, color, frozen, rect,
                      lod: float = 1.0) -> None:
        w = rect.width()
        header = QRectF(0, 0, w, theme.HEADER_HEIGHT)
        outline = QPainterPath()
        outline.addRoundedRect(rect, 7, 7)
        painter.save()
        painter.setClipPath(outline)
        painter.fillRect(header, color)
        painter.restore()

        painter.setFont(_TITLE_FONT)
        painter.setPen(QColor("white"))
        title = spec.label if spec else f"{node.type} (unknown)"
        right_pad = self.title_right_pad(lod)
        painter.setFont(_TITLE_FONT)
        painter.setPen(QColor("white"))
        fm = QFontMetricsF(_TITLE_FONT)
        title = fm.elidedText(title, Qt.TextElideMode.ElideRight, w - 10 - right_pad)
        painter.drawText(QRectF(8, 0, w - 8 - right_pad, theme.HEADER_HEIGHT),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)
        if frozen:
            draw_lock(painter, self.lock_rect(), QColor("white"))
        elif self.hovered:  # the lock is also the freeze toggle: hint at it on hover
            draw_lock(painter, self.lock_rect(), QColor(255, 255, 255, 90))

        text_color = theme.NODE_TEXT if not frozen else QColor("#b9bec5")
        sub_color = theme.NODE_SUBTEXT if not frozen else QColor("#9aa0a8")
        y = theme.HEADER_HEIGHT + 3
        line_h = 17.0
        id_room = w - 16
        layers = self.layer_count_text()
        if layers:
            # A composite: how many Keras layers it stands for, at the id line's right.
            painter.setFont(_BODY_FONT)
            painter.setPen(sub_color)
            painter.drawText(QRectF(8, y, w - 16, line_h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, layers)
            id_room -= QFontMetricsF(_BODY_FONT).horizontalAdvance(layers) + FOOTER_GAP
        painter.setFont(_ID_FONT)
        painter.setPen(text_color)
        fm_id = QFontMetricsF(_ID_FONT)
        painter.drawText(QRectF(8, y, w - 16, line_h),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         fm_id.elidedText(node.id, Qt.TextElideMode.ElideMiddle,
                                          max(id_room, 0.0)))
        y += line_h
        painter.setFont(_BODY_FONT)
        fm_body = QFontMetricsF(_BODY_FONT)
        face = self.face_text()
        if face:
            painter.setPen(text_color)
            painter.drawText(QRectF(8, y, w - 16, line_h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             fm_body.elidedText(face, Qt.TextElideMode.ElideRight, w - 16))
        y += line_h
        painter.setPen(sub_color)
        if report is not None and report.shape is not None:
            left = self.footer_shape(report, fm_body, w)
        elif report is not None and report.has_error:
            painter.setPen(theme.ERROR_COLOR.lighter(130))
            left = "error"
        else:
            left = "\u2192 ?"
        painter.drawText(QRectF(8, y, w - 16, line_h),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, left)
        figure = self.footer_figure()
        if figure:
            painter.setPen(sub_color)
            painter.drawText(QRectF(8, y, w - 16, line_h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             figure)

    def footer_figure(self) -> str:
        """The footer's figure: "1.2G MACs" with View > MACs on nodes (the inception lesson
        compares MACs), else "73.9k params" with View > Parameter counts; "" for none."""
        report = self.report()
        if report is None or report.shape is None:
            return ""
        if getattr(self._scene_ref, "show_node_macs", False):
            return f"{human_count(report.macs)} MACs" if report.macs else ""
        if self._scene_ref.show_node_params and report.params:
            return f"{human_count(report.params)} params"
        return ""

    def layer_count_text(self) -> str:
        """A composite's inner Keras layers, said as such ("7 layers"; a bare "x7" read as
        "repeated 7 times"); "" for a primitive."""
        node = self.node()
        spec = get_spec(node.type)
        report = self.report()
        if spec is None or not spec.composite or report is None or not report.inner:
            return ""
        n = len(report.inner)
        return f"{n} layer" + ("" if n == 1 else "s")

    def face_text(self) -> str:
        """Key params (``64 @ 3x3 /2 same``; an inception module's branch widths)."""
        node = self.node()
        spec = get_spec(node.type)
        if spec is None:
            return ""
        values, _problems = resolve_params(spec, node.params)
        return spec.describe(values)

    def footer_shape(self, report, fm: QFontMetricsF, width: float) -> str:
        """The output shape for the footer's left, short enough to leave the figure at its
        right (params, or MACs) a gap: "→ 112×112×128" drops its arrow, then elides, rather
        than run into "73.9k params"."""
        figure_of = getattr(self, "footer_figure", None)
        if callable(figure_of):
            figure = figure_of()
        elif self._scene_ref.show_node_params and report.params:
            figure = f"{human_count(report.params)} params"
        else:
            figure = ""
        room = width - 16 - (fm.horizontalAdvance(figure) + FOOTER_GAP if figure else 0)
        shape = shape_text(report.shape)
        for text in ("\u2192 " + shape, shape):
            if fm.horizontalAdvance(text) <= room:
                return text
        return fm.elidedText(shape, Qt.TextElideMode.ElideMiddle, max(room, 0.0))

    def lock_rect(self) -> QRectF:
        return QRectF(theme.NODE_WIDTH - 22, 4, 12, 14)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if (event.button() == Qt.MouseButton.LeftButton
                and self.lock_rect().adjusted(-4, -3, 4, 3).contains(event.pos())):
            self._scene_ref.freeze_toggle_requested.emit(self.node_id)
            event.accept()
            return
        super().mousePressEvent(event)

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        self.hovered = True
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self.hovered = False
        self.update()
        super().hoverLeaveEvent(event)


class TelemetryBar(QGraphicsRectItem):
    """A node's telemetry bar: a faint full-width track under the node, filled from the left
    to ``frac`` of its width. One C++ rect item whose brush is a hard-stop gradient (bar colour
    up to ``frac``, the track's after it), so Qt paints it without a Python call and a new
    epoch costs one ``setBrush`` per node whose bar changed."""

    TRACK = QRectF(6, theme.NODE_HEIGHT + 2, theme.NODE_WIDTH - 12, 4)
    TRACK_COLOUR = QColor(255, 255, 255, 40)

    def __init__(self) -> None:
        super().__init__(self.TRACK)
        self.setVisible(False)   # shown by the node once placed: no repaint of a hidden bar
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.shown: tuple[float, int] | None = None

    def show_value(self, frac: float, colour: QColor) -> None:
        """Fill ``frac`` of the track in ``colour``; unchanged values cost nothing (the length
        is compared at a hundredth of a pixel)."""
        key = (round(frac * self.TRACK.width(), 2), colour.rgba())
        if key == self.shown:
            return
        self.shown = key
        track = self.TRACK
        gradient = QLinearGradient(track.left(), 0.0, track.right(), 0.0)
        if frac > 0:
            gradient.setColorAt(0.0, colour)
            gradient.setColorAt(frac, colour)
        if frac < 1:
            gradient.setColorAt(min(1.0, frac + 1e-6) if frac > 0 else 0.0, self.TRACK_COLOUR)
            gradient.setColorAt(1.0, self.TRACK_COLOUR)
        self.setBrush(QBrush(gradient))

    def fill_fraction(self) -> float:
        """The filled share of the track, as drawn (for tests and the bench)."""
        return 0.0 if self.shown is None else self.shown[0] / self.TRACK.width()


class EdgeItem(QGraphicsPathItem):
    """A curved connection; its label shows the tensor shape it carries (toggle in View).

    Painted by Qt's own C++ path item (no Python ``paint``): with a thousand edges on screen the
    per-item Python call is what makes a frame slow. The arrow head and the label are C++ child
    items too, hidden when zoomed far out (``set_detail``).
    """

    def __init__(self, scene: GraphScene, src: str, dst: str) -> None:
        super().__init__()
        self._scene_ref = scene
        self.src = src
        self.dst = dst
        self.setZValue(EDGE_Z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.label = ""
        self.arrow = QGraphicsPolygonItem(QPolygonF([QPointF(0, 0), QPointF(-9, -4.5),
                                                     QPointF(-9, 4.5)]), self)
        self.arrow.setPen(QPen(Qt.PenStyle.NoPen))
        self.label_box = QGraphicsRectItem(self)
        self.label_box.setPen(QPen(Qt.PenStyle.NoPen))
        self.label_box.setBrush(QColor(29, 32, 37, 225))
        self.label_text = QGraphicsSimpleTextItem(self.label_box)
        self.label_text.setFont(_BODY_FONT)
        self.label_text.setBrush(theme.EDGE_LABEL_COLOR)
        self.label_box.setZValue(1)
        self._apply_pen(False)
        self.set_detail(scene.detail)
        self.adjust()

    def _apply_pen(self, selected: bool) -> None:
        pen = QPen(theme.SELECT_COLOR if selected else theme.EDGE_COLOR, 2.6 if selected else 1.8)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.arrow.setBrush(pen.color())

    def itemChange(self, change, value):  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._apply_pen(bool(value))
        return super().itemChange(change, value)

    def set_detail(self, detail: bool) -> None:
        self.arrow.setVisible(detail)
        self.label_box.setVisible(detail and bool(self.label)
                                  and self._scene_ref.show_edge_shapes)

    def adjust(self) -> None:
        items = self._scene_ref.node_items
        a, b = items.get(self.src), items.get(self.dst)
        if a is None or b is None:
            return
        start, end = a.out_port.scenePos(), b.in_port.scenePos()
        orientation = self._scene_ref.orientation
        path = None
        # Backward edges (end of a row -> start of the next) and edges that cross rows run
        # through the free corridors between rows instead of cutting through nodes.
        if orientation == "LR" and (end.x() < start.x() - 20
                                    or abs(end.y() - start.y()) > 2 * theme.NODE_HEIGHT):
            path = routed(start, end, self._scene_ref.corridors())
        self.setPath(path if path is not None else curve(start, end, orientation))
        self._place_decorations()

    def _place_decorations(self) -> None:
        path = self.path()
        n = path.elementCount()
        if n >= 2:
            # The end tangent: from the last control point (or line start) to the tip.
            last, prev = path.elementAt(n - 1), path.elementAt(n - 2)
            angle = math.degrees(math.atan2(last.y - prev.y, last.x - prev.x))
            tip = QPointF(last.x, last.y)
            self.arrow.setRotation(angle)
            rad = math.radians(angle)
            self.arrow.setPos(tip - QPointF(math.cos(rad), math.sin(rad)) * theme.PORT_RADIUS)
        rect = self.label_rect()
        self.label_box.setRect(QRectF(0, 0, rect.width(), rect.height()))
        self.label_box.setPos(rect.topLeft())
        text_rect = self.label_text.boundingRect()
        self.label_text.setPos((rect.width() - text_rect.width()) / 2,
                               (rect.height() - text_rect.height()) / 2)

    def refresh(self) -> None:
        report = self._scene_ref.doc.analysis.nodes.get(self.src)
        label = shape_text(report.shape) if report is not None and report.shape else ""
        if label != self.label:
            self.label = label
            self.label_text.setText(label)
            self._place_decorations()
            self.set_detail(self._scene_ref.detail)

    def label_rect(self) -> QRectF:
        mid = self.path().pointAtPercent(0.5)
        fm = QFontMetricsF(_BODY_FONT)
        width = fm.horizontalAdvance(self.label) + 10
        return QRectF(mid.x() - width / 2, mid.y() - 9, width, 18)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())


def curve(start: QPointF, end: QPointF, orientation: str = "LR") -> QPainterPath:
    """A cubic Bezier leaving the output port along the flow and entering the input the same way."""
    path = QPainterPath(start)
    if orientation == "TB":
        dy = max(abs(end.y() - start.y()) * 0.5, 40.0)
        path.cubicTo(QPointF(start.x(), start.y() + dy), QPointF(end.x(), end.y() - dy), end)
    else:
        dx = max(abs(end.x() - start.x()) * 0.5, 40.0)
        path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
    return path


def routed(start: QPointF, end: QPointF, corridors: list[float], out: float = 26.0,
           radius: float = 14.0) -> QPainterPath | None:
    """A backward edge (target left of the source, e.g. from the end of one row to the start of
    the next) as a rounded orthogonal path through the free corridor nearest the target, so it
    never cuts through nodes. None when no corridor lies between the two ends."""
    lo, hi = sorted((start.y(), end.y()))
    between = [c for c in corridors if lo < c < hi]
    if not between:
        return None
    cy = min(between, key=lambda c: abs(c - end.y()))
    x1, x2 = start.x() + out, end.x() - out
    s1 = 1.0 if cy > start.y() else -1.0
    s2 = 1.0 if end.y() > cy else -1.0
    r1 = min(radius, abs(cy - start.y()) / 2)
    r2 = min(radius, abs(end.y() - cy) / 2)
    path = QPainterPath(start)
    path.lineTo(x1 - r1, start.y())
    path.quadTo(QPointF(x1, start.y()), QPointF(x1, start.y() + s1 * r1))
    path.lineTo(x1, cy - s1 * r1)
    path.quadTo(QPointF(x1, cy), QPointF(x1 - r1, cy))
    path.lineTo(x2 + r2, cy)
    path.quadTo(QPointF(x2, cy), QPointF(x2, cy + s2 * r2))
    path.lineTo(x2, end.y() - s2 * r2)
    path.quadTo(QPointF(x2, end.y()), QPointF(x2 + r2, end.y()))
    path.lineTo(end)
    return path


def finite_or(value, default: float) -> float:
    """``value`` as a finite float, else ``default`` (telemetry figures may be NaN or missing)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def telemetry_colour(stats: dict[str, float]) -> QColor:
    """Green (no dead ReLU channels) to red (all dead); blue for a node without ReLUs (tanh,
    softmax, pooling), whose dead share is NaN: "no ReLU" must not read as "all dead"."""
    dead = finite_or(stats.get("dead_relu"), math.nan)
    if math.isnan(dead):
        return QColor(theme.TELEMETRY_NO_RELU)
    return QColor.fromHsvF(0.33 * (1.0 - max(0.0, min(1.0, dead))), 0.8, 0.9)


def telemetry_text(stats: dict[str, float]) -> str:
    """The last epoch's figures for a node, as its tooltip shows them."""
    lines = ["last epoch:"]
    grad = finite_or(stats.get("grad_norm"), math.nan)
    if not math.isnan(grad):
        lines.append(f"  gradient norm {grad:.3g} (bar length, relative to the largest)")
    change = finite_or(stats.get("weight_change"), math.nan)
    if not math.isnan(change):
        lines.append(f"  weights moved {100 * change:.2f} %")
    dead = finite_or(stats.get("dead_relu"), math.nan)
    lines.append("  no ReLU (bar blue)" if math.isnan(dead)
                 else f"  dead ReLU channels {100 * dead:.0f} % (green 0 % .. red 100 %)")
    return "\n".join(lines)
