"""The Explain tab, the Layers table, diagram export (PNG/SVG) and MACs on nodes, driven through
the real widgets of a real MainWindow."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from playground.core.presets import preset_path
from tests.ui.conftest import chain_graph, load_into

ROOT = Path(__file__).resolve().parents[2]


def select(window, qtbot, node_id: str) -> None:
    """Click the node on the canvas, as a user does."""
    item = window.scene.node_items[node_id]
    window.view.centerOn(item)
    point = window.view.mapFromScene(item.mapToScene(QPointF(60, 50)))
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.scene.selected_node_ids() == [node_id]


def settle(window) -> None:
    window.doc.current_analysis()


def test_explain_tab_shows_the_arithmetic_and_follows_every_edit(window, qtbot):
    load_into(window, chain_graph())
    select(window, qtbot, "conv")
    tabs = window.inspector_tabs
    tabs.show_explain()
    assert tabs.currentWidget() is window.explain_view
    text = window.explain_view.text()
    assert "(16 - 3 + 2*0) / 1 + 1 = 14" in text
    assert "(3*3*3 + 1) * 8 = 224" in text
    assert "14*14*8 * 3*3*3 = 42,336" in text
    assert "1 + (3 - 1)*1 = 3" in text
    # Edit the kernel through the Parameters tab's real spin boxes: the Explain tab follows.
    pair = window.inspector.editors["kernel_size"]
    pair.h.setValue(5)
    pair.w.setValue(5)
    settle(window)
    text = window.explain_view.text()
    assert "(16 - 5 + 2*0) / 1 + 1 = 12" in text and "(5*5*3 + 1) * 8 = 608" in text
    assert window.explain_view.explanation.params.value == window.doc.analysis.nodes[
        "conv"].params == 608
    # Undo: back to the 3x3 numbers; a broken edit says why instead of numbers.
    window.doc.undo_stack.undo()
    window.doc.undo_stack.undo()
    settle(window)
    assert "(3*3*3 + 1) * 8 = 224" in window.explain_view.text()
    window.editor.set_param("conv", "kernel_size", 40)
    settle(window)
    assert window.explain_view.explanation is None
    assert "cannot explain" in window.explain_view.text()


def test_explain_tab_of_a_composite_lists_its_branches(window, qtbot):
    from playground.core import fileformat

    graph = fileformat.load(preset_path("inception_naive_vs_bottleneck"))
    window.doc.set_graph(graph, None)
    window.scene.select_nodes(["bottleneck"])
    e = window.explain_view.explanation
    assert e is not None and e.macs.value == 271_351_808
    text = window.explain_view.text()
    assert "bottleneck_3x3 (Conv2D)" in text and "86,704,128" in text and "28*28*192 * 3*3*64" in text


def test_layer_table_sorts_and_a_click_selects_the_node(window, qtbot):
    load_into(window, chain_graph())
    settle(window)
    table = window.layer_table
    model, view = table.model, table.view
    window.layers_dock.raise_()     # a hidden panel catches up when it is shown
    qtbot.waitUntil(table.isVisible)
    assert model.rowCount() == 4
    assert [model.node_id(r) for r in range(4)] == ["input", "conv", "gap", "dense"]
    # Sort by params, largest first, through the header (the user's click).
    header = view.horizontalHeader()
    x = header.sectionViewportPosition(3) + header.sectionSize(3) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    if table.proxy.sortOrder() == Qt.SortOrder.AscendingOrder:
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    shown = [table.proxy.index(r, 0).data() for r in range(4)]
    assert shown[0] == "conv" and shown[1] == "dense"       # 224 > 36 > 0
    assert table.proxy.index(0, 3).data() == "224"
    tip = table.proxy.index(0, 3).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("(3*3*3 + 1) * 8 = 224")
    assert table.proxy.index(0, 7).data() == "(3*3*3 + 1) * 8"          # Params as
    assert table.proxy.index(0, 8).data() == "14*14*8 * 3*3*3"          # MACs as
    assert table.proxy.index(1, 7).data() == "(8 + 1) * 4"
    # Click the "dense" row: the canvas selects it and the inspector shows it.
    row = table.row_of("dense")
    rect = view.visualRect(table.proxy.index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.scene.selected_node_ids() == ["dense"]
    assert window.inspector.node_id == "dense" and window.explain_view.node_id == "dense"
    # The table follows a canvas selection and every edit.
    window.scene.select_nodes(["conv"])
    selected = view.selectionModel().selectedRows()
    assert [table.proxy.data(i) for i in selected] == ["conv"]
    window.editor.set_param("conv", "filters", 16)
    settle(window)
    conv = next(r for r in model.rows if r.name == "conv")
    assert conv.params == 3 * 3 * 3 * 16 + 16
    selected = view.selectionModel().selectedRows()              # still selected after the edit
    assert [table.proxy.data(i) for i in selected] == ["conv"]


def test_diagram_exports_as_svg_and_png(window, qtbot, tmp_path, monkeypatch):
    load_into(window, chain_graph())
    window.scene.select_nodes(["conv"])
    svg = tmp_path / "chain.svg"
    assert window.export_diagram_to(str(svg))
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for node_id in ("input", "conv", "gap", "dense"):
        assert node_id in texts.split(), node_id
    assert window.scene.selected_node_ids() == ["conv"]        # the selection is restored
    # PNG through the File menu action, the dialog answered with a name without extension.
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "chain"), "PNG image (*.png)"))
    window.act_export_diagram.trigger()
    image = QImage(str(tmp_path / "chain.png"))
    assert not image.isNull()
    bounds = window.scene.itemsBoundingRect()
    assert abs(image.width() - round((bounds.width() + 48) * 2)) <= 2
    assert abs(image.height() - round((bounds.height() + 48) * 2)) <= 2
    corner = image.pixelColor(3, 3)
    assert corner == window.scene.backgroundBrush().color()
    # A name the format cannot come from is refused and says why; nothing is written.
    assert not window.export_diagram_to(str(tmp_path / "chain.gif"))
    assert not (tmp_path / "chain.gif").exists()


def _footer_pixels(window, node_id: str) -> QImage:
    item = window.scene.node_items[node_id]
    window.view.centerOn(item)
    top_left = window.view.mapFromScene(item.mapToScene(QPointF(90, 58)))
    bottom_right = window.view.mapFromScene(item.mapToScene(QPointF(176, 76)))
    return window.view.viewport().grab().toImage().copy(
        top_left.x(), top_left.y(), bottom_right.x() - top_left.x(),
        bottom_right.y() - top_left.y())


def test_macs_on_nodes_toggle(window, qtbot):
    load_into(window, chain_graph())
    settle(window)
    item = window.scene.node_items["conv"]
    assert item.footer_figure() == "224 params"
    before = _footer_pixels(window, "conv")
    window.act_node_macs.trigger()
    assert window.act_node_macs.isChecked() and window.scene.show_node_macs
    assert item.footer_figure() == "42.3k MACs"
    assert window.scene.node_items["gap"].footer_figure() == ""
    after = _footer_pixels(window, "conv")
    assert before != after
    window.act_node_macs.trigger()
    assert item.footer_figure() == "224 params"
    assert _footer_pixels(window, "conv") == before


def test_open_select_tab_and_svg_screenshot_from_the_command_line(tmp_path):
    alexnet = str(preset_path("alexnet"))
    out = tmp_path / "alexnet.svg"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PLAYGROUND_NO_SETTINGS": "1"}
    done = subprocess.run([sys.executable, "main.py", "open", alexnet, "--select", "conv1",
                           "--tab", "explain", "--screenshot", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    texts = [t.strip() for t in ET.parse(out).getroot().itertext()]
    assert "conv1" in texts and "predictions" in texts
    bad = subprocess.run([sys.executable, "main.py", "open", alexnet, "--select", "conv9",
                          "--screenshot", str(tmp_path / "x.png")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "conv9" in bad.stderr
    assert not (tmp_path / "x.png").exists()


def test_select_and_tab_render_the_explain_tab(window, qtbot):
    from playground.ui.app import apply_view

    load_into(window, chain_graph())
    apply_view(window, "conv", "explain")
    assert window.scene.selected_node_ids() == ["conv"]
    assert window.inspector_tabs.currentWidget() is window.explain_view
    assert "(3*3*3 + 1) * 8 = 224" in window.explain_view.text()
