"""Every kind of edit through the editor: the model changes, the scene follows, undo restores the
exact document and redo repeats it."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from playground.core import fileformat
from playground.ui.canvas.items import NodeItem
from tests.ui.conftest import chain_graph, load_into, make_graph


def dump(win) -> str:
    return fileformat.dumps(win.doc.graph)


def scene_ids(win) -> set[str]:
    return {i.node_id for i in win.scene.items() if isinstance(i, NodeItem)}


def assert_undo_redo(win, before: str) -> None:
    """One undo step brings back ``before`` (model and scene); redo brings back the edit."""
    after = dump(win)
    assert after != before
    win.doc.undo_stack.undo()
    assert dump(win) == before
    assert scene_ids(win) == set(win.doc.graph.node_ids)
    assert set(win.scene.edge_items) == {(e.src, e.dst) for e in win.doc.graph.edges}
    win.doc.undo_stack.redo()
    assert dump(win) == after
    assert scene_ids(win) == set(win.doc.graph.node_ids)


EDITS = {
    "add": lambda w: w.editor.add_block("Dropout", (100, 300)),
    "connect": lambda w: (w.editor.add_block("Flatten", (100, 300)),
                          w.editor.connect("conv", "flatten")),
    "delete": lambda w: (w.scene.select_nodes(["conv"]), w.editor.delete_selection()),
    "set_param": lambda w: w.editor.set_param("conv", "filters", 16),
    "freeze": lambda w: w.editor.set_trainable(["conv"], False),
    "freeze_up_to": lambda w: w.editor.freeze_up_to("gap"),
    "rename": lambda w: w.editor.rename("conv", "features"),
    "auto_layout": lambda w: w.editor.auto_layout("TB"),
    "duplicate": lambda w: (w.scene.select_nodes(["conv", "gap"]), w.editor.duplicate()),
    "retarget": lambda w: w.editor.retarget([32, 32, 1], 7),
}


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_undo_redo_of_every_edit(window, kind):
    load_into(window, chain_graph())
    before = dump(window)
    depth = window.doc.undo_stack.count()
    EDITS[kind](window)
    assert window.doc.undo_stack.count() == depth + (2 if kind == "connect" else 1)
    if kind == "connect":
        window.doc.undo_stack.undo()  # the connection; the add below is another step
        assert window.doc.graph.inputs_of("flatten") == []
        window.doc.undo_stack.redo()
        assert window.doc.graph.inputs_of("flatten") == ["conv"]
        return
    assert_undo_redo(window, before)
    assert window.isWindowModified()


def test_delete_removes_edges_and_undo_restores_input_order(window):
    graph = make_graph([
        {"id": "input", "type": "Input", "params": {"shape": [8, 8, 2]}, "pos": [0, 0]},
        {"id": "a", "type": "Conv2D", "params": {"filters": 2, "kernel_size": 1},
         "pos": [250, -100]},
        {"id": "b", "type": "Conv2D", "params": {"filters": 3, "kernel_size": 1},
         "pos": [250, 100]},
        {"id": "cat", "type": "Concatenate", "params": {}, "pos": [500, 0]},
    ], [("input", "a"), ("input", "b"), ("a", "cat"), ("b", "cat")])
    load_into(window, graph)
    before = dump(window)
    window.scene.select_nodes(["a"])
    window.editor.delete_selection()
    assert "a" not in window.doc.graph and ("a", "cat") not in window.scene.edge_items
    window.doc.undo_stack.undo()
    assert dump(window) == before
    assert window.doc.graph.inputs_of("cat") == ["a", "b"]


def test_copy_paste_keeps_inner_edges(window):
    load_into(window, chain_graph())
    window.scene.select_nodes(["conv", "gap"])
    assert window.editor.copy()
    text = QApplication.clipboard().text()
    assert "keras-playground-fragment" in text
    assert window.editor.paste()
    graph = window.doc.graph
    assert len(graph) == 6
    new = window.scene.selected_node_ids()
    assert len(new) == 2 and not {"conv", "gap"} & set(new)
    assert graph.inputs_of(new[1]) == [new[0]]    # the copied edge came along
    assert graph.inputs_of(new[0]) == []          # edges to outside nodes did not
    # Positions are offset, so the copy is not hidden under the original.
    assert graph.node(new[0]).pos != graph.node("conv").pos
    window.doc.undo_stack.undo()
    assert len(graph) == 4 and len(window.scene.node_items) == 4


def test_paste_of_foreign_text_is_refused(window):
    QApplication.clipboard().setText("not a fragment")
    assert not window.editor.paste()
    assert "clipboard" in window.statusBar().currentMessage()


def test_cut_then_paste(window):
    load_into(window, chain_graph())
    window.scene.select_nodes(["dense"])
    assert window.editor.cut()
    assert "dense" not in window.doc.graph
    assert window.editor.paste()
    assert [n.type for n in window.doc.graph.nodes].count("Dense") == 1


def test_expand_composite_from_context_menu(window):
    graph = make_graph([
        {"id": "input", "type": "Input", "params": {"shape": [16, 16, 8]}, "pos": [0, 0]},
        {"id": "inc", "type": "InceptionModule",
         "params": {"f1x1": 4, "f3x3_reduce": 2, "f3x3": 4, "f5x5_reduce": 2, "f5x5": 4,
                    "pool_proj": 4}, "pos": [260, 0]},
        {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}, "pos": [520, 0]},
    ], [("input", "inc"), ("inc", "gap")])
    load_into(window, graph)
    shape_before = window.doc.current_analysis().nodes["gap"].shape
    params_before = window.doc.analysis.total_params
    menu = window.build_context_menu("inc")
    expand = [a for a in menu.actions() if a.objectName() == "expand"]
    assert expand, [a.text() for a in menu.actions()]
    before = dump(window)
    expand[0].trigger()
    graph = window.doc.graph
    assert "inc" not in graph and len(graph) > 8
    assert {n.type for n in graph.nodes} >= {"Conv2D", "MaxPooling2D", "Concatenate"}
    analysis = window.doc.current_analysis()
    assert analysis.valid
    assert analysis.nodes["gap"].shape == shape_before
    assert analysis.total_params == params_before
    assert len(window.scene.node_items) == len(graph)
    assert_undo_redo(window, before)


def test_quick_fix_inserts_flatten_in_one_step(window, qtbot):
    graph = make_graph([
        {"id": "input", "type": "Input", "params": {"shape": [8, 8, 3]}, "pos": [0, 0]},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 3},
         "pos": [260, 0]},
        {"id": "dense", "type": "Dense", "params": {"units": 10, "activation": "softmax"},
         "pos": [520, 0]},
    ], [("input", "conv"), ("conv", "dense")])
    load_into(window, graph)
    analysis = window.doc.current_analysis()
    # Keras applies Dense to the last axis of a 4-D tensor: legal, but almost never meant.
    assert analysis.nodes["dense"].shape == (6, 6, 10)
    assert any(p.fix == "insert_flatten" for p in analysis.problems)
    buttons = window.problems.fix_buttons()
    assert buttons, [p.message for p in analysis.problems]
    before = dump(window)
    button = buttons[0]
    if button.menu() is not None:
        button.menu().actions()[0].trigger()
    else:
        button.click()
    analysis = window.doc.current_analysis()
    assert analysis.valid, [str(p) for p in analysis.problems]
    assert analysis.nodes["dense"].shape == (10,)
    assert not window.problems.fix_buttons()
    new_types = {n.type for n in window.doc.graph.nodes} - {"Input", "Conv2D", "Dense"}
    assert new_types & {"Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D"}
    assert_undo_redo(window, before)


def test_quick_fix_padding_same(window):
    graph = make_graph([
        {"id": "input", "type": "Input", "params": {"shape": [4, 4, 3]}, "pos": [0, 0]},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 5},
         "pos": [260, 0]},
    ], [("input", "conv")])
    load_into(window, graph)
    window.doc.current_analysis()
    problem = next(p for p in window.problems.problems if p.fix == "padding_same")
    fixes = window.editor.fixes_for(problem)
    assert fixes
    window.editor.apply_fix(*fixes[0])
    assert window.doc.graph.node("conv").params["padding"] == "same"
    assert window.doc.current_analysis().nodes["conv"].shape == (4, 4, 4)


def test_problem_click_selects_and_centres_node(window):
    graph = chain_graph()
    graph.node("dense").pos = (3000.0, 2000.0)
    graph.node("dense").params["units"] = 0  # invalid
    load_into(window, graph)
    window.doc.current_analysis()
    item = window.problems.tree.topLevelItem(0)
    window.problems.tree.itemClicked.emit(item, 1)
    assert window.scene.selected_node_ids() == ["dense"]
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.node_items["dense"].sceneBoundingRect().center())


def test_inspector_edits_reach_the_model_and_merge(window):
    load_into(window, chain_graph())
    window.scene.select_nodes(["conv"])
    inspector = window.inspector
    assert inspector.node_id == "conv"
    depth = window.doc.undo_stack.count()
    inspector.editors["filters"].spin.setValue(12)
    inspector.editors["filters"].spin.setValue(24)
    assert window.doc.graph.node("conv").params["filters"] == 24
    assert window.doc.undo_stack.count() == depth + 1       # merged into one step
    inspector.editors["padding"].combo.activated.emit(
        inspector.editors["padding"].combo.findData("same"))
    assert window.doc.graph.node("conv").params["padding"] == "same"
    pair = inspector.editors["kernel_size"]
    pair.h.setValue(5)
    assert window.doc.graph.node("conv").params["kernel_size"] == [5, 3]
    pair.w.setValue(5)
    assert window.doc.graph.node("conv").params["kernel_size"] == 5
    analysis = window.doc.current_analysis()
    assert analysis.nodes["conv"].shape == (16, 16, 24)
    assert "16\u00d716\u00d724" in inspector.info.text()
    # Undo mirrors back into the form.
    while window.doc.undo_stack.index() > depth:
        window.doc.undo_stack.undo()
    assert inspector.editors["filters"].spin.value() == 8
    assert window.doc.graph.node("conv").params == {"filters": 8, "kernel_size": 3}


def test_inspector_rename_and_freeze(window):
    load_into(window, chain_graph())
    window.scene.select_nodes(["conv"])
    inspector = window.inspector
    inspector.id_edit.setText("features")
    inspector.id_edit.editingFinished.emit()
    assert "features" in window.doc.graph and "features" in window.scene.node_items
    assert window.doc.graph.inputs_of("gap") == ["features"]
    inspector.id_edit.setText("bad id!")
    inspector.id_edit.editingFinished.emit()
    assert "features" in window.doc.graph
    assert "invalid" in window.statusBar().currentMessage()
    inspector.frozen_box.setChecked(True)
    assert window.doc.graph.node("features").trainable is False
    window.doc.undo_stack.undo()
    assert window.doc.graph.node("features").trainable is True
    assert inspector.frozen_box.isChecked() is False


def test_inspector_has_a_widget_for_every_param_of_every_block(window):
    from playground.blocks import CATALOGUE

    for block_type in CATALOGUE:
        window.doc.set_graph(make_graph([{"id": "n", "type": block_type, "params": {},
                                          "pos": [0, 0]}], []), None)
        window.scene.select_nodes(["n"])
        spec = CATALOGUE[block_type]
        assert set(window.inspector.editors) == set(spec.param_names), block_type


def test_status_bar_totals(window):
    load_into(window, chain_graph())
    analysis = window.doc.current_analysis()
    labels = window.status_labels
    assert f"{analysis.total_params:,}" in labels["params"].text()
    window.editor.set_trainable(["conv"], False)
    analysis = window.doc.current_analysis()
    assert f"{analysis.trainable_params:,}" in labels["trainable"].text()
    assert labels["device"].text()
