"""Canvas interactions driven like a user: palette drops, port drags, node drags, zoom; checked on
the model and on what is drawn."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QPainterPathStroker,
)
from PySide6.QtWidgets import QApplication

from playground.core import fileformat
from playground.ui import theme
from playground.ui.canvas.items import EdgeItem, NodeItem
from tests.ui.conftest import chain_graph, load_into, make_graph


def view_point(win, scene_point: QPointF) -> QPoint:
    return win.view.mapFromScene(scene_point)


def drop(win, mime: QMimeData, pos: QPoint) -> QDropEvent:
    viewport = win.view.viewport()
    actions = Qt.DropAction.CopyAction
    # Qt declares the drag enter/move events with a QPoint and the drop event with a QPointF.
    enter = QDragEnterEvent(pos, actions, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    move = QDragMoveEvent(pos, actions, mime, Qt.MouseButton.LeftButton,
                          Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, move)
    event = QDropEvent(QPointF(pos), actions, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)
    return event


def drag_ports(qtbot, win, src: str, dst: str) -> None:
    """Press on src's output port, move, release on dst's input port (viewport coordinates)."""
    items = win.scene.node_items
    start = view_point(win, items[src].out_port.scenePos())
    end = view_point(win, items[dst].in_port.scenePos())
    viewport = win.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, (start + end) / 2)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


def test_palette_drag_and_drop_creates_node(window):
    palette = window.palette
    item = palette.items["Conv2D"]
    mime = palette.tree.mimeData([item])  # the payload the palette's QDrag carries
    assert mime.hasFormat("application/x-playground-block")
    pos = QPoint(300, 200)
    event = drop(window, mime, pos)
    assert event.isAccepted()
    graph = window.doc.graph
    assert [n.type for n in graph.nodes] == ["Conv2D"]
    node = graph.nodes[0]
    # The node box is centred where it was dropped.
    centre = window.scene.node_items[node.id].sceneBoundingRect().center()
    dropped_at = window.view.mapToScene(pos)
    assert abs(centre.x() - dropped_at.x()) < 8 and abs(centre.y() - dropped_at.y()) < 8
    item = window.scene.node_items[node.id]
    assert isinstance(item, NodeItem) and item.isSelected()
    assert item.face_text().startswith("32 @ 3x3")
    # Undo removes it from the model and the scene.
    window.doc.undo_stack.undo()
    assert len(graph) == 0 and not window.scene.node_items


def test_drop_of_foreign_data_is_ignored(window):
    mime = QMimeData()
    mime.setText("hello")
    drop(window, mime, QPoint(100, 100))
    assert len(window.doc.graph) == 0


def test_palette_search_and_double_click(window, qtbot):
    window.palette.search.setText("pool")
    visible = window.palette.visible_types()
    assert "MaxPooling2D" in visible and "Conv2D" not in visible
    window.palette.block_activated.emit("MaxPooling2D")
    assert [n.type for n in window.doc.graph.nodes] == ["MaxPooling2D"]


def test_connect_by_dragging_between_ports(window, qtbot):
    graph = make_graph([
        {"id": "input", "type": "Input", "params": {"shape": [8, 8, 1]}, "pos": [0, 0]},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 3},
         "pos": [300, 60]},
    ], [])
    load_into(window, graph)
    drag_ports(qtbot, window, "input", "conv")
    assert window.doc.graph.inputs_of("conv") == ["input"]
    edge = window.scene.edge_items[("input", "conv")]
    assert isinstance(edge, EdgeItem)
    window.doc.current_analysis()
    assert edge.label == "8\u00d78\u00d71"   # the tensor shape the edge carries
    assert window.doc.analysis.nodes["conv"].shape == (6, 6, 4)
    window.doc.undo_stack.undo()
    assert not window.doc.graph.edges and not window.scene.edge_items
    window.doc.undo_stack.redo()
    assert ("input", "conv") in window.scene.edge_items


def test_cycle_is_refused_with_a_message(window, qtbot):
    load_into(window, chain_graph())
    before = fileformat.dumps(window.doc.graph)
    depth = window.doc.undo_stack.count()
    drag_ports(qtbot, window, "gap", "conv")
    assert fileformat.dumps(window.doc.graph) == before
    assert window.doc.undo_stack.count() == depth
    assert "cycle" in window.statusBar().currentMessage()


def test_full_input_port_is_refused(window, qtbot):
    graph = chain_graph()
    graph.add_node(type(graph.nodes[0])("other", "Input", {"shape": [16, 16, 3]}, True,
                                        (0, 200)))
    load_into(window, graph)
    drag_ports(qtbot, window, "other", "conv")
    assert window.doc.graph.inputs_of("conv") == ["input"]
    assert "already has 1" in window.statusBar().currentMessage()


def test_node_drag_is_one_undo_step(window, qtbot):
    load_into(window, chain_graph())
    item = window.scene.node_items["gap"]
    start = view_point(window, item.sceneBoundingRect().center() + QPointF(0, 10))
    viewport = window.view.viewport()
    depth = window.doc.undo_stack.count()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 6):
        qtbot.mouseMove(viewport, start + QPoint(12 * step, 9 * step),
                        )
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(60, 45))
    pos = window.doc.graph.node("gap").pos
    assert pos != (520.0, 0.0)
    assert window.doc.undo_stack.count() == depth + 1
    window.doc.undo_stack.undo()
    assert window.doc.graph.node("gap").pos == (520.0, 0.0)
    assert item.pos() == QPointF(520, 0)


def test_rubber_band_selects_nodes(window, qtbot):
    load_into(window, chain_graph())
    viewport = window.view.viewport()
    a = view_point(window, QPointF(-30, -40))
    b = view_point(window, QPointF(480, 120))
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(viewport, (a + b) / 2)
    qtbot.mouseMove(viewport, b)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=b)
    assert window.scene.selected_node_ids() == ["input", "conv"]


def test_wheel_zoom_and_fit(window, qtbot):
    load_into(window, chain_graph())
    before = window.view.zoom()
    window.view.zoom_by(1.5)
    assert abs(window.view.zoom() - before * 1.5) < 1e-6
    window.view.fit_all()
    rect = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    for item in window.scene.node_items.values():
        assert rect.contains(item.sceneBoundingRect())


def _grab_colors(win, node_id):
    win.doc.current_analysis()
    item = win.scene.node_items[node_id]
    win.view.centerOn(item)
    QApplication.processEvents()
    image = win.view.viewport().grab().toImage()
    rect = win.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    colors = set()
    for x in range(max(rect.left(), 0), min(rect.right(), image.width()), 2):
        for y in range(max(rect.top(), 0), min(rect.bottom(), image.height()), 2):
            colors.add(image.pixelColor(x, y).name())
    return colors


def _near(colors, target: QColor, tol: int = 30) -> bool:
    for name in colors:
        c = QColor(name)
        if (abs(c.red() - target.red()) + abs(c.green() - target.green())
                + abs(c.blue() - target.blue())) <= tol:
            return True
    return False


def test_error_state_is_drawn_red_and_listed(window, qtbot):
    graph = chain_graph()
    graph.node("input").params["shape"] = [2, 2, 3]   # 3x3 valid conv does not fit: error
    load_into(window, graph)
    analysis = window.doc.current_analysis()
    assert analysis.nodes["conv"].has_error
    item = window.scene.node_items["conv"]
    assert item.badge.isVisible()
    assert "error" in item.toolTip()
    assert _near(_grab_colors(window, "conv"), theme.ERROR_COLOR)
    assert window.problems.tree.topLevelItemCount() >= 1
    assert "error" in window.status_labels["validity"].text()
    # Fixing it removes the outline and the badge.
    window.editor.set_param("input", "shape", [16, 16, 3])
    window.doc.current_analysis()
    assert not item.badge.isVisible()
    assert not _near(_grab_colors(window, "conv"), theme.ERROR_COLOR, tol=20)
    assert "valid" in window.status_labels["validity"].text()


def test_node_face_shows_type_id_params_shape_and_colour(window):
    load_into(window, chain_graph())
    window.doc.current_analysis()
    item = window.scene.node_items["conv"]
    assert item.face_text() == "8 @ 3x3 valid"
    colors = _grab_colors(window, "conv")
    assert _near(colors, theme.category_color("convolution"), tol=12)


def test_frozen_node_looks_frozen(window):
    load_into(window, chain_graph())
    before = _grab_colors(window, "conv")
    window.editor.set_trainable(["conv"], False)
    after = _grab_colors(window, "conv")
    blue = theme.category_color("convolution")
    assert _near(before, blue, tol=12) and not _near(after, blue, tol=12)
    assert window.doc.current_analysis().trainable_params < window.doc.analysis.total_params


def test_wrapped_layout_folds_a_long_chain_into_readable_rows(window):
    nodes = [{"id": "input", "type": "Input", "params": {"shape": [32, 32, 3]}}]
    nodes += [{"id": f"c{i}", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 1,
                                                            "padding": "same"}}
              for i in range(29)]
    ids = [n["id"] for n in nodes]
    graph = make_graph(nodes, list(zip(ids, ids[1:], strict=False)))
    load_into(window, graph)
    assert window.editor.auto_layout("wrap", aspect=1.5)
    rects = {nid: item.sceneBoundingRect() for nid, item in window.scene.node_items.items()}
    values = list(rects.values())
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            assert not a.intersects(b)
    box = values[0]
    for r in values[1:]:
        box = box.united(r)
    assert 0.75 < box.width() / box.height() < 3.0          # not one long strip
    rows = {round(r.top()) for r in values}
    assert len(rows) >= 3
    # The edge from the end of a row to the start of the next avoids every node.
    wraps = [(s, d) for s, d in window.scene.edge_items if rects[d].left() < rects[s].left()]
    assert wraps
    for s, d in wraps:
        stroker = QPainterPathStroker()
        stroker.setWidth(2)
        path = stroker.createStroke(window.scene.edge_items[(s, d)].path())
        for nid, rect in rects.items():
            if nid not in (s, d):
                assert not path.intersects(rect.adjusted(4, 4, -4, -4)), (s, d, nid)
    window.doc.undo_stack.undo()
    assert window.doc.graph.node("c5").pos is None


def telemetry_bar_pixels(window, item) -> list:
    """The colours along the telemetry bar drawn under a node, as the viewport shows them."""
    window.view.centerOn(item)
    QApplication.processEvents()
    image = window.view.viewport().grab().toImage()
    rect = window.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    y = window.view.mapFromScene(QPointF(0, item.scenePos().y() + theme.NODE_HEIGHT + 4)).y()
    return [image.pixelColor(x, y) for x in range(rect.left() + 10, rect.right() - 10)]


def test_training_telemetry_is_drawn_on_nodes(window):
    load_into(window, chain_graph())
    item = window.scene.node_items["conv"]
    window.scene.set_telemetry({"conv": {"grad_norm": 2.0, "weight_change": 0.1,
                                         "dead_relu": 0.0},
                                "dense": {"grad_norm": 1.0, "weight_change": 0.1,
                                          "dead_relu": 1.0},
                                "gone": {"grad_norm": 5.0}})
    assert set(window.scene.telemetry) == {"conv", "dense"}   # unknown ids are ignored
    greens = telemetry_bar_pixels(window, item)
    # A full-length bar (largest gradient norm) in green (no dead ReLUs).
    assert sum(c.green() > 150 and c.red() < 120 for c in greens) > len(greens) * 0.8
    assert "dead ReLU channels 0 %" in item.toolTip()
    assert "gradient norm 2" in item.toolTip() and "weights moved 10.00 %" in item.toolTip()


def test_telemetry_of_a_node_without_relus_is_not_drawn_as_dead(window):
    """tanh/softmax nodes have no ReLU: their dead share is NaN, drawn blue, never red."""
    load_into(window, chain_graph())
    item = window.scene.node_items["conv"]
    window.scene.set_telemetry({"conv": {"grad_norm": 1.0, "weight_change": 0.02,
                                         "dead_relu": float("nan")},
                                "dense": {"grad_norm": float("nan"), "weight_change": 0.0,
                                          "dead_relu": float("nan")}})
    assert window.scene.telemetry_scale == 1.0     # a NaN norm does not poison the scale
    bar = telemetry_bar_pixels(window, item)
    assert sum(c.blue() > 180 and c.red() < 120 for c in bar) > len(bar) * 0.8
    assert not any(c.red() > 180 and c.green() < 120 for c in bar)
    assert "no ReLU" in item.toolTip()
    window.scene.set_telemetry({})                   # a new run: the old figures go
    assert "last epoch" not in item.toolTip()


def test_clicking_the_lock_toggles_freeze(window, qtbot):
    load_into(window, chain_graph())
    item = window.scene.node_items["conv"]
    at = view_point(window, item.mapToScene(item.lock_rect().center()))
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert window.doc.graph.node("conv").trainable is False
    assert window.doc.graph.node("conv").pos == (260.0, 0.0)   # a click, not a move
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert window.doc.graph.node("conv").trainable is True


def test_middle_button_and_space_drag_pan_without_editing(window, qtbot):
    load_into(window, chain_graph())
    before = fileformat.dumps(window.doc.graph)
    viewport = window.view.viewport()
    centre = window.view.mapToScene(viewport.rect().center())
    start = view_point(window, window.scene.node_items["conv"].sceneBoundingRect().center())
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(-120, -60))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=start + QPoint(-120, -60))
    moved = window.view.mapToScene(viewport.rect().center())
    assert abs((moved - centre).x() - 120) < 2 and abs((moved - centre).y() - 60) < 2
    # Space + left drag pans too (and does not move the node under the cursor).
    window.view.setFocus()
    qtbot.keyPress(window.view, Qt.Key.Key_Space)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(50, 0))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(50, 0))
    qtbot.keyRelease(window.view, Qt.Key.Key_Space)
    assert fileformat.dumps(window.doc.graph) == before


def test_keyboard_shortcuts_delete_and_undo(window, qtbot):
    load_into(window, chain_graph())
    window.scene.select_nodes(["gap"])
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert "gap" not in window.doc.graph
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "gap" in window.doc.graph and window.doc.graph.inputs_of("dense") == ["gap"]


def test_preset_dialog_lists_bundled_presets(window):
    from playground.core.presets import list_presets
    from playground.ui.dialogs import PresetDialog

    presets = list_presets()
    dialog = PresetDialog(presets, window)
    assert dialog.list.count() == len(presets)
    if presets:
        assert dialog.selected_path() == str(presets[0].path)
