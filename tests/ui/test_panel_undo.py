"""Panel actions that edit the graph go through the editor's undo stack, in the real window.

The panel sits inside a dock (and a scroll area), so it must not find the editor through
``parent()``: a freeze that bypassed the stack left nothing to undo and the document unmodified.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from playground.core import fileformat
from tests.ui.conftest import chain_graph, load_into


def test_freeze_button_in_the_main_window_is_one_undo_step(window, qtbot):
    load_into(window, chain_graph())
    panel = window.training_panel
    assert panel is not None
    before = fileformat.dumps(window.doc.graph)
    steps = window.doc.undo_stack.count()
    window.doc.undo_stack.setClean()

    qtbot.mouseClick(panel.freeze_button, Qt.MouseButton.LeftButton)

    frozen = [n.id for n in window.doc.graph.nodes if not n.trainable]
    assert frozen == ["conv", "gap"]
    assert window.doc.undo_stack.count() == steps + 1
    assert not window.doc.undo_stack.isClean()   # the document is marked modified
    window.doc.undo_stack.undo()
    assert fileformat.dumps(window.doc.graph) == before
    assert all(n.trainable for n in window.doc.graph.nodes)
    window.doc.undo_stack.redo()
    assert [n.id for n in window.doc.graph.nodes if not n.trainable] == ["conv", "gap"]
