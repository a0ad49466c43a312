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
