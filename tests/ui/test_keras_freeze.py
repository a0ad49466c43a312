"""Freeze toggles made in the editor reach the compiled Keras model (the one UI test that imports
TensorFlow)."""

from __future__ import annotations

import pytest

from tests.ui.conftest import chain_graph, load_into


def test_freeze_toggles_reach_the_keras_model(window):
    pytest.importorskip("keras")
    load_into(window, chain_graph())
    window.scene.select_nodes(["conv"])
    window.inspector.frozen_box.setChecked(True)          # the inspector's toggle
    analysis = window.doc.current_analysis()

    from playground.keras_build.compile import build

    built = build(window.doc.graph.copy())
    model = built.model
    assert model.get_layer("conv").trainable is False
    assert model.get_layer("dense").trainable is True
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert trainable == analysis.trainable_params == 8 * 4 + 4   # only the Dense head
    assert model.count_params() == analysis.total_params

    # "Unfreeze all" from the context menu, then "freeze everything up to here" on gap.
    window.editor.unfreeze_all()
    window.editor.freeze_up_to("gap")
    model = build(window.doc.graph.copy()).model
    assert [layer.name for layer in model.layers if not layer.trainable] == ["input", "conv",
                                                                             "gap"]
    window.doc.undo_stack.undo()
    window.doc.undo_stack.undo()
    assert build(window.doc.graph.copy()).model.get_layer("conv").trainable is False


def test_export_in_a_worker_and_import_back(window, qtbot, tmp_path):
    """Export runs in a QThread (the UI stays responsive); the .keras file imports back."""
    pytest.importorskip("keras")
    from playground.core import fileformat

    load_into(window, chain_graph())
    out = tmp_path / "model.keras"
    thread = window.export_to("keras", str(out))
    # The call returned while the export still runs in its thread (building and writing a
    # model takes far longer than starting a thread); the file appears only when it is done.
    assert thread.isRunning()
    with qtbot.waitSignal(thread.finished, timeout=120_000):
        pass
    assert out.is_file() and "exported" in window.statusBar().currentMessage()
    script = tmp_path / "model.py"
    thread = window.export_to("python", str(script))
    with qtbot.waitSignal(thread.finished, timeout=120_000):
        pass
    assert "def build_model" in script.read_text(encoding="utf-8")

    window.doc.undo_stack.setClean()
    thread = window.import_from(str(out))
    with qtbot.waitSignal(thread.finished, timeout=120_000):
        pass
    qtbot.waitUntil(lambda: "imported" in window.statusBar().currentMessage(), timeout=5000)
    graph = window.doc.graph
    assert sorted(n.type for n in graph.nodes) == sorted(
        n.type for n in chain_graph().nodes)
    assert window.doc.current_analysis().total_params == 8 * 27 + 8 + 8 * 4 + 4
    assert window.isWindowModified()   # an import is unsaved work
    assert fileformat.dumps(graph)


def test_export_failure_is_reported(window, qtbot, tmp_path, answers):
    load_into(window, chain_graph())
    window.export_to("keras", str(tmp_path / "no-such-dir" / "m.keras"))
    # Wait on the outcome, not on the thread's signal: a quick thread can finish before a
    # waitSignal placed after export_to starts listening.
    qtbot.waitUntil(lambda: any(k == "warning" for k, _ in answers.shown), timeout=120_000)
    assert "no-such-dir" in answers.shown[-1][1]
