"""The scene mirrors the document: one ``NodeItem`` per node, one ``EdgeItem`` per edge.

It reacts to the graph's change events (structure, positions) and to each new analysis (faces,
shapes, error state). A node drag moves items only; on release the scene pushes ONE ``MoveNodes``
command with the old and new positions, which is what writes them into the model.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView

from playground.ui import theme
from playground.ui.canvas.items import EdgeItem, NodeItem, finite_or
from playground.ui.document import Document


class GraphScene(QGraphicsScene):
    message = Signal(str)            # refusals and hints for the status bar
    context_menu_requested = Signal(str, object)   # node id (or ""), global QPoint
    freeze_toggle_requested = Signal(str)          # the lock on a node's header was clicked

    def __init__(self, doc: Document, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.orientation = "LR"
        self.show_edge_shapes = True
        self.show_node_params = True
        self.show_node_macs = False   # View > MACs on nodes: the footer shows MACs, not params
        self.detail = True   # ports, arrows and edge labels shown (off when zoomed far out)
        self.overview = False   # zoomed out below OVERVIEW_ZOOM: nodes are plain blocks
        self.telemetry: dict[str, dict[str, float]] = {}
        self.telemetry_scale = 1.0
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[tuple[str, str], EdgeItem] = {}
        self._corridors: tuple[int, list[float]] = (-1, [])
        # Nodes whose item moved since the last mouse release: only they can have been dragged.
        self._moved: set[str] = set()
        self._reroute_pending = False
        self.setBackgroundBrush(theme.CANVAS_BG)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        doc.reset.connect(self.rebuild)
        doc.graph_changed.connect(self._on_graph_changed)
        doc.analyzed.connect(self._on_analyzed)
        self.rebuild()

    # ------------------------------------------------------------------ syncing
    def rebuild(self) -> None:
        self.clear()
        self.node_items.clear()
        self.edge_items.clear()
        self.telemetry.clear()
        self.orientation = guess_orientation(self.doc.graph)
        for node in self.doc.graph.nodes:
            self._add_node_item(node.id)
        for edge in self.doc.graph.edges:
            self._add_edge_item(edge.src, edge.dst)
        self._on_analyzed(self.doc.analysis)
        self.update_scene_rect()
        self._moved.clear()

    def set_orientation(self, orientation: str) -> None:
        if orientation == self.orientation:
            return
        self.orientation = orientation
        for item in self.node_items.values():
            item.place_ports()
        for edge in self.edge_items.values():
            edge.adjust()

    def _add_node_item(self, node_id: str) -> NodeItem:
        item = NodeItem(self, node_id)
        pos = self.doc.graph.node(node_id).pos
        item.setPos(QPointF(*pos) if pos else QPointF(0, 0))
        self.addItem(item)
        self.node_items[node_id] = item
        item.refresh()
        return item

    def _add_edge_item(self, src: str, dst: str) -> None:
        if (src, dst) in self.edge_items or src not in self.node_items or dst not in self.node_items:
            return
        edge = EdgeItem(self, src, dst)
        self.addItem(edge)
        self.edge_items[(src, dst)] = edge
        edge.refresh()

    def _remove_edge_item(self, key: tuple[str, str]) -> None:
        edge = self.edge_items.pop(key, None)
        if edge is not None:
            self.removeItem(edge)

    def _on_graph_changed(self, kind: str, details: dict[str, Any]) -> None:
        graph = self.doc.graph
        if kind == "node_added":
            self._add_node_item(details["node_id"])
        elif kind == "node_removed":
            nid = details["node_id"]
            for key in [k for k in self.edge_items if nid in k]:
                self._remove_edge_item(key)
            item = self.node_items.pop(nid, None)
            if item is not None:
                self.removeItem(item)
            self.telemetry.pop(nid, None)
        elif kind == "edge_added":
            self._add_edge_item(details["src"], details["dst"])
        elif kind == "edge_removed":
            self._remove_edge_item((details["src"], details["dst"]))
        elif kind == "moved":
            nid = details["node_id"]
            item = self.node_items.get(nid)
            if item is not None and nid in graph:
                pos = graph.node(nid).pos
                item.setPos(QPointF(*pos) if pos else QPointF(0, 0))
                self._adjust_edges_of(nid)
                if not self._reroute_pending:
                    self._reroute_pending = True
                    QTimer.singleShot(0, self._reroute)
        elif kind == "renamed":
            old, new = details["old"], details["new"]
            item = self.node_items.pop(old, None)
            if item is not None:
                item.node_id = new
                self.node_items[new] = item
            for key in [k for k in self.edge_items if old in k]:
                edge = self.edge_items.pop(key)
                edge.src = new if edge.src == old else edge.src
                edge.dst = new if edge.dst == old else edge.dst
                self.edge_items[(edge.src, edge.dst)] = edge
            if old in self.telemetry:
                self.telemetry[new] = self.telemetry.pop(old)
        elif kind in ("params_changed", "trainable_changed"):
            item = self.node_items.get(details.get("node_id", ""))
            if item is not None:
                item.place_ports()
                item.update()

    def set_detail(self, detail: bool) -> None:
        """Zoomed far out, ports, arrows and labels are specks: hiding them saves thousands of
        item paints per frame. Called only when the zoom crosses the threshold."""
        if detail == self.detail:
            return
        self.detail = detail
        for item in self.node_items.values():
            item.in_port.setVisible(detail and item.in_port_wanted)
            item.out_port.setVisible(detail)
            item.apply_cache_mode()
        for edge in self.edge_items.values():
            edge.set_detail(detail)

    def set_overview(self, overview: bool) -> None:
        """Below ``OVERVIEW_ZOOM`` a node is one block of colour: its telemetry bar (under a
        pixel high there) is hidden with the rest, and epochs arriving meanwhile do not touch
        the bars (the overview of a big graph is the usual view during a run); leaving the
        overview brings every bar up to date. Called only when the zoom crosses it."""
        if overview == self.overview:
            return
        self.overview = overview
        if overview:
            for item in self.node_items.values():
                if item.telemetry_bar.isVisible():
                    item.telemetry_bar.setVisible(False)
        else:
            self._show_bars(self.telemetry)

    def _show_bars(self, ids) -> None:
        for nid in ids:
            item = self.node_items.get(nid)
            if item is not None:
                item.show_telemetry(self.telemetry.get(nid), self.telemetry_scale)

    def _on_analyzed(self, analysis) -> None:
        # After a graph swap (open, new, recovery) the analysis of the new graph arrives before
        # the reset that rebuilds the items: skip items whose node is gone, the reset redraws.
        graph = self.doc.graph
        for nid, item in self.node_items.items():
            if nid in graph:
                item.refresh()
        for (src, dst), edge in self.edge_items.items():
            if src in graph and dst in graph:
                edge.refresh()

    def _adjust_edges_of(self, node_id: str) -> None:
        """Re-route the edges at one node (looked up through the graph's adjacency, so dragging
        many nodes of a big graph stays linear in the edges touched)."""
        graph = self.doc.graph
        if node_id not in graph:
            return
        for src in graph.inputs_of(node_id):
            edge = self.edge_items.get((src, node_id))
            if edge is not None:
                edge.adjust()
        for dst in graph.outputs_of(node_id):
            edge = self.edge_items.get((node_id, dst))
            if edge is not None:
                edge.adjust()

    def node_item_moved(self, node_id: str) -> None:
        if node_id in self.node_items:
            self._moved.add(node_id)
            self._adjust_edges_of(node_id)

    def corridors(self) -> list[float]:
        """Free horizontal corridors between rows of nodes (cached per graph and revision: a
        newly opened graph with as many edits behind it as the last one must not inherit its
        corridors, or the row-to-row edges lose their corridor and cut diagonally across)."""
        from playground.ui.wrap_layout import corridors

        graph = self.doc.graph
        if self._corridors[0] != graph.revision or getattr(self, "_corridors_of", None) \
                is not graph:
            boxes = [(n.pos[1], n.pos[1] + theme.NODE_HEIGHT) for n in graph.nodes
                     if n.pos is not None]
            self._corridors = (graph.revision, corridors(boxes))
            self._corridors_of = graph
        return self._corridors[1]

    def _reroute(self) -> None:
        self._reroute_pending = False
        self.readjust_edges()
        self.update_scene_rect()

    def readjust_edges(self) -> None:
        for edge in self.edge_items.values():
            edge.adjust()

    def update_scene_rect(self) -> None:
        rect = self.itemsBoundingRect()
        if rect.isNull():
            rect = QRectF(-400, -300, 800, 600)
        self.setSceneRect(rect.adjusted(-2000, -2000, 2000, 2000))

    # --------------------------------------------------------------- selection
    def selected_node_ids(self) -> list[str]:
        order = {nid: i for i, nid in enumerate(self.doc.graph.node_ids)}
        ids = [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]
        return sorted(ids, key=lambda n: order.get(n, 0))

    def selected_edges(self) -> list[tuple[str, str]]:
        return [(i.src, i.dst) for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, ids: list[str]) -> None:
        """Select exactly these nodes, with ONE ``selectionChanged`` (none if nothing changed):
        Qt emits it per item, and every view following the selection (inspector, explain,
        layer table, predict) rebuilt itself 429 times for Select All on DenseNet-121."""
        before = set(self.selectedItems())
        self.blockSignals(True)
        try:
            self.clearSelection()
            for nid in ids:
                item = self.node_items.get(nid)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.blockSignals(False)
        if set(self.selectedItems()) != before:
            self.selectionChanged.emit()

    # -------------------------------------------------------------------- moves
    def pending_moves(self, ids=None) -> dict[str, tuple[tuple[float, float] | None,
                                                       tuple[float, float]]]:
        """Items dragged away from their model position: {id: (old, new)}; among ``ids``
        (default: every node)."""
        moves = {}
        graph = self.doc.graph
        for nid in self.node_items if ids is None else ids:
            item = self.node_items.get(nid)
            if item is None or nid not in graph:
                continue
            old = graph.node(nid).pos
            new = (round(item.pos().x(), 1), round(item.pos().y(), 1))
            old_cmp = old if old is not None else (0.0, 0.0)
            if abs(old_cmp[0] - new[0]) > 0.05 or abs(old_cmp[1] - new[1]) > 0.05:
                moves[nid] = (old, new)
        return moves

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        # Only items that moved since the last release can have been dragged: a click on a
        # 429-node graph no longer compares every node's position with the model.
        moved, self._moved = self._moved, set()
        moves = self.pending_moves(moved)
        if moves:
            from playground.core.commands import MoveNodes

            error = self.doc.push(MoveNodes(moves))
            if error:
                self.message.emit(error)
            self.update_scene_rect()

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        view = self.views()[0] if self.views() else None
        item = self.itemAt(event.scenePos(), view.transform() if view else QTransform())
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        node_id = item.node_id if isinstance(item, NodeItem) else ""
        if node_id and not item.isSelected():
            self.select_nodes([node_id])
        self.context_menu_requested.emit(node_id, event.screenPos())
        event.accept()

    def helpEvent(self, event) -> None:  # noqa: N802 - Qt override
        """A tooltip is about to show: compose the text of the nodes under the mouse now
        (tooltips are written lazily, see ``NodeItem.refresh_tooltip``)."""
        view = event.widget().parentWidget() if event.widget() is not None else None
        transform = view.transform() if isinstance(view, QGraphicsView) else QTransform()
        for item in self.items(event.scenePos(), Qt.ItemSelectionMode.IntersectsItemShape,
                               Qt.SortOrder.DescendingOrder, transform):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if item is not None:
                item.ensure_tooltip()
        super().helpEvent(event)

    # ---------------------------------------------------------------- telemetry
    def set_telemetry(self, stats: dict[str, dict[str, float]]) -> None:
        """The last epoch's per-node figures (node id -> grad_norm, weight_change, dead_relu):
        each node's bar is set (one C++ item, untouched where nothing visible changed; in the
        overview not at all until it ends) and its tooltip marked for re-composition on hover.
        No node is repainted: on DenseNet-121 (429 nodes) an epoch's update went from ~24 ms to
        a few (bench/bench_gui_stall.py)."""
        before = self.telemetry
        self.telemetry = {k: dict(v) for k, v in stats.items() if k in self.node_items}
        norms = [n for n in (finite_or(v.get("grad_norm"), math.nan)
                             for v in self.telemetry.values()) if not math.isnan(n)]
        self.telemetry_scale = max(norms) if norms and max(norms) > 0 else 1.0
        changed = before.keys() | self.telemetry.keys()
        for nid in changed:
            item = self.node_items.get(nid)
            if item is not None:
                item.refresh_tooltip()
        if not self.overview:        # in the overview the bars are hidden: set when it ends
            self._show_bars(changed)


def guess_orientation(graph) -> str:
    """Presets laid out top-down get ports on top/bottom; everything else flows left to right."""
    order = graph.topological_order() or graph.node_ids
    placed = [graph.node(n).pos for n in order if graph.node(n).pos is not None]
    if len(placed) < 2:
        return "LR"
    dx = sum(abs(b[0] - a[0]) for a, b in zip(placed, placed[1:], strict=False))
    dy = sum(abs(b[1] - a[1]) for a, b in zip(placed, placed[1:], strict=False))
    return "TB" if dy > dx else "LR"
