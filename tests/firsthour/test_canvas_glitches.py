"""Canvas glitches from the first-hour report, checked on the geometry of the real scene: the
cramped inception preset, row-to-row edges in a window of another shape, node footers that ran
into each other, and "Expand into layers" piling nodes onto their neighbours."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QRectF  # noqa: E402
from PySide6.QtGui import QFontMetricsF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from playground.core.presets import preset_path  # noqa: E402
from playground.ui import theme  # noqa: E402
from playground.ui.wrap_layout import corridors  # noqa: E402

W, H = theme.NODE_WIDTH, theme.NODE_HEIGHT


def _open(window, name: str) -> None:
    assert window.open_file(preset_path(name), as_copy=True, ask=False)
    for _ in range(3):
        QApplication.processEvents()


def _boxes(window) -> dict[str, QRectF]:
    return {nid: QRectF(n.pos[0], n.pos[1], W, H)
            for nid, n in ((n.id, n) for n in window.doc.graph.nodes)}


def _overlaps(boxes: dict[str, QRectF]) -> list[tuple[str, str]]:
    ids = sorted(boxes)
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]
            if boxes[a].intersects(boxes[b])]


def test_inception_preset_has_room_for_ports_and_labels(window) -> None:
    _open(window, "inception_naive_vs_bottleneck")
    graph, boxes = window.doc.graph, _boxes(window)
    assert _overlaps(boxes) == []
    for edge in graph.edges:
        src, dst = boxes[edge.src], boxes[edge.dst]
        assert dst.left() - src.right() >= 60, (edge.src, edge.dst)   # ports apart
    for key, item in window.scene.edge_items.items():
        label = item.label_rect()
        assert item.label_text.text() == "28\u00d728\u00d7256"
        covered = [nid for nid, box in boxes.items() if box.intersects(label)]
        assert covered == [], (key, covered)                       # the whole label is seen


@pytest.mark.parametrize("name", ["vgg16", "googlenet", "resnet34"])
def test_row_wrap_edges_run_through_corridors_after_reopening_wider(window, name) -> None:
    window.resize(900, 800)
    _open(window, name)
    window.resize(2400, 1000)          # maximized on a wide screen: fewer, longer rows
    QApplication.processEvents()
    _open(window, name)                # same file again: same edit count, a new layout
    graph = window.doc.graph
    fresh = corridors([(n.pos[1], n.pos[1] + H) for n in graph.nodes])
    assert window.scene.corridors() == fresh
    nodes = QRectF()
    for box in _boxes(window).values():
        nodes = nodes.united(box)
    wraps = 0
    for (src, dst), item in window.scene.edge_items.items():
        path = item.path()
        start, end = path.elementAt(0), path.elementAt(path.elementCount() - 1)
        if end.x < start.x - 20:                   # end of a row -> start of the next
            wraps += 1
            ys = {round(path.elementAt(i).y, 3) for i in range(path.elementCount())}
            assert any(round(c, 3) in ys for c in fresh), (src, dst)   # along a corridor
            assert nodes.adjusted(-60, -60, 60, 60).contains(path.boundingRect())
    assert wraps >= 2


def test_node_footers_leave_a_gap_between_shape_and_params(window) -> None:
    from playground.ui.canvas.items import _BODY_FONT, FOOTER_GAP
    from playground.ui.formatting import human_count

    _open(window, "vgg16")
    fm = QFontMetricsF(_BODY_FONT)
    checked = 0
    for nid, item in window.scene.node_items.items():
        report = window.doc.analysis.nodes[nid]
        if report.shape is None or not report.params:
            continue
        left = item.footer_shape(report, fm, W)
        figure = f"{human_count(report.params)} params"
        assert fm.horizontalAdvance(left) + FOOTER_GAP + fm.horizontalAdvance(figure) <= W - 16
        assert left.replace("\u2192 ", "").startswith(str(report.shape[0])), left
        checked += 1
    assert checked >= 16
    block2 = window.scene.node_items["block2_conv1"]   # was "112x112x12873.9k params"
    assert block2.footer_shape(window.doc.analysis.nodes["block2_conv1"], fm, W) \
        == "112\u00d7112\u00d7128"


def test_expand_lays_out_the_region_and_makes_room(window) -> None:
    _open(window, "googlenet")
    graph = window.doc.graph
    before = {n.id: n.pos for n in graph.nodes}
    assert window.editor.expand("inception_3b")
    boxes = _boxes(window)
    assert _overlaps(boxes) == []
    inner = [nid for nid in boxes if nid.startswith("inception_3b_")]
    assert len(inner) >= 8
    for edge in graph.edges:                  # inside the region: ports apart, labels room
        if edge.src in inner and edge.dst in inner:
            a, b = boxes[edge.src], boxes[edge.dst]
            if abs(a.top() - b.top()) < H:
                assert b.left() - a.right() >= 60
    # Everything else kept its order: rows stay rows, left stays left.
    others = [nid for nid in before if nid in boxes and nid != "inception_3b"]
    for a in others:
        for b in others:
            if before[a][1] == before[b][1] and before[a][0] < before[b][0]:
                assert boxes[a].left() < boxes[b].left(), (a, b)
            if before[a][1] < before[b][1]:
                assert boxes[a].top() < boxes[b].top(), (a, b)
    window.doc.undo_stack.undo()
    assert {n.id: n.pos for n in graph.nodes} == before


def test_row_wrap_edges_after_the_start_document_in_a_tall_window(window) -> None:
    """The reported case: the app starts on LeNet-5, the window is maximized on a screen
    where the canvas is taller than wide, then VGG-16, GoogLeNet and ResNet-34 are opened."""
    from playground.ui.app import open_start_document

    window.resize(800, 800)
    QApplication.processEvents()
    window.doc.set_graph(type(window.doc.graph)(), None)
    assert open_start_document(window)
    for name in ("vgg16", "googlenet", "resnet34"):
        _open(window, name)
        diagonal = []
        for key, item in window.scene.edge_items.items():
            path = item.path()
            start, end = path.elementAt(0), path.elementAt(path.elementCount() - 1)
            crosses_rows = end.x < start.x - 20 or abs(end.y - start.y) > 2 * H
            if crosses_rows and path.elementCount() <= 4:   # a bare curve, not a routed path
                diagonal.append(key)
        assert diagonal == [], (name, diagonal)
