"""The problems panel suggests the smallest input when the input is too small somewhere."""

from __future__ import annotations

from pathlib import Path

from playground.core import fileformat
from playground.ui import problems as problems_module
from tests.ui.conftest import load_into

ALEXNET = Path(__file__).resolve().parents[2] / "presets" / "alexnet.json"
HINT = "Hint: AlexNet needs at least a 67x67x3 input"


def hint_rows(panel) -> list[str]:
    tree = panel.tree
    return [tree.topLevelItem(i).text(2) for i in range(tree.topLevelItemCount())
            if tree.topLevelItem(i).text(2).startswith("Hint:")]


def test_alexnet_at_32_gets_a_hint_row_that_goes_when_fixed(window, qtbot):
    load_into(window, fileformat.load(ALEXNET))
    panel = window.problems
    assert window.doc.current_analysis().valid and panel.hint is None
    assert window.editor.retarget([32, 32, 3], None)
    window.doc.current_analysis()
    # The search waits for the edits to settle: not there at once, then one row.
    assert panel.hint is None
    qtbot.waitUntil(lambda: panel.hint is not None, timeout=5000)
    assert panel.hint == HINT
    assert hint_rows(panel) == [HINT]
    errors = [p for p in panel.problems if p.severity == "error"]
    assert errors and errors[0].node == "pool2"
    # Clicking the hint selects the Input node, where the size is set.
    item = next(panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())
                if panel.tree.topLevelItem(i).text(2) == HINT)
    panel.tree.itemClicked.emit(item, 2)
    assert window.scene.selected_node_ids() == [item.text(1)]
    assert window.doc.graph.node(item.text(1)).type == "Input"
    # Fixed at the suggested size: the row goes at once.
    assert window.editor.retarget([67, 67, 3], None)
    assert window.doc.current_analysis().valid
    assert panel.hint is None and hint_rows(panel) == []


def test_no_search_while_the_graph_has_no_size_problem(window, qtbot, monkeypatch):
    calls = []
    monkeypatch.setattr(problems_module, "minimum_input_message",
                        lambda graph: calls.append(graph) or "x")
    load_into(window, fileformat.load(ALEXNET))
    window.doc.current_analysis()
    qtbot.wait(problems_module.HINT_DELAY_MS + 200)
    assert calls == [] and window.problems.hint is None
