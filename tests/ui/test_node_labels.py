"""What a node's face says, and that its badge never hides it: a composite names its inner
layers ("7 layers", not a bare "x7" that read as "repeated 7 times"); zoomed out, the badge
(which keeps its screen size) and the label share the node without overlapping."""

from __future__ import annotations

from PySide6.QtCore import QRectF

from playground.ui import theme
from tests.ui.conftest import load_into, make_graph

INCEPTION = {"f1x1": 2, "f3x3_reduce": 2, "f3x3": 2, "f5x5_reduce": 1, "f5x5": 2,
             "pool_proj": 2}


def graph_with_problems():
    """An inception module (a composite) and a long-titled node with a warning."""
    return make_graph([
        {"id": "input", "type": "Input", "params": {"shape": [8, 8, 3]}, "pos": [0, 0]},
        {"id": "inc", "type": "InceptionModule", "params": INCEPTION, "pos": [260, 0]},
        {"id": "drop", "type": "StochasticDepth", "params": {"rate": 0.1}, "pos": [520, 0]},
        {"id": "head", "type": "Dense", "params": {"units": 3}, "pos": [780, 0]},
    ], [("input", "inc"), ("inc", "drop"), ("drop", "head")])


def test_a_composite_says_how_many_layers_it_stands_for(window):
    load_into(window, graph_with_problems())
    analysis = window.doc.current_analysis()
    item = window.scene.node_items["inc"]
    n = len(analysis.nodes["inc"].inner)
    assert n > 1
    assert item.layer_count_text() == f"{n} layers"
    assert f"A composite of {n} layers" in item.toolTip()
    assert window.scene.node_items["drop"].layer_count_text() == ""   # a primitive


def test_the_badge_never_covers_the_label_at_any_zoom(window):
    load_into(window, graph_with_problems())
    window.doc.current_analysis()
    head = window.scene.node_items["head"]      # Dense on a 4-D tensor at the head: warned
    assert head.badge.isVisible()
    for lod in (0.16, 0.25, 0.3, 0.39):         # the overview label (lod < 0.4)
        badge = head.badge_rect(lod)
        label = head.far_label_rect(lod)
        assert not badge.isEmpty() and label.width() >= theme.NODE_WIDTH / 2 - 7
        if badge.left() > theme.NODE_WIDTH / 2 + 3:
            assert label.right() <= badge.left(), (lod, label, badge)
    for lod in (0.4, 0.6, 1.0, 2.0):            # the detailed header
        badge = head.badge_rect(lod)
        title = QRectF(8, 0, theme.NODE_WIDTH - 8 - head.title_right_pad(lod),
                       theme.HEADER_HEIGHT)
        assert title.right() <= badge.left(), (lod, title, badge)
    # Without a badge the label takes the node's whole width.
    inc = window.scene.node_items["inc"]
    assert not inc.badge.isVisible()
    assert inc.far_label_rect(0.3).width() == theme.NODE_WIDTH - 14
