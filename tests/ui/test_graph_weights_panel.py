"""The editor starts training from the weights an imported graph records, and says so."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

import playground.ui  # noqa: E402,F401  (PySide6/Python 3.11 work-around)


def test_an_opened_graph_offers_its_recorded_weights(window, tmp_path):
    document = {
        "format": "keras-playground-graph", "version": 1, "name": "imported",
        "weights": "imported.weights.h5",
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [8, 8, 1]}},
                  {"id": "f", "type": "Flatten"},
                  {"id": "predictions", "type": "Dense", "params": {"units": 10}}],
        "edges": [{"from": "x", "to": "f"}, {"from": "f", "to": "predictions"}]}
    path = tmp_path / "imported.json"
    path.write_text(json.dumps(document))
    weights = tmp_path / "imported.weights.h5"
    weights.write_bytes(b"placeholder")
    panel = window.training_panel
    assert window.open_file(path, ask=False)
    panel.refresh_graph_options()
    assert panel.initial_weights() == str(weights.resolve())
    assert panel.init_weights.placeholderText() == "the graph's weights: imported.weights.h5"
    panel.init_weights.setText("other.keras")            # what the user types wins
    assert panel.initial_weights() == "other.keras"
    panel.init_weights.setText("")
    weights.unlink()                                     # a missing file is not offered
    panel.refresh_graph_options()
    assert panel.initial_weights() is None


def test_file_export_writes_the_recorded_weights(window, qtbot, tmp_path):
    keras = pytest.importorskip("keras")
    import numpy as np

    from playground.core import fileformat
    from playground.keras_build.compile import build
    from tests.ui.conftest import chain_graph

    graph = chain_graph()
    model = build(graph).model
    rng = np.random.default_rng(4)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(size=tuple(w.shape)).astype("float32")
                               for w in layer.weights])
    model.save_weights(tmp_path / "chain.weights.h5")
    graph.extra["weights"] = "chain.weights.h5"
    path = tmp_path / "chain.json"
    fileformat.save(graph, path)
    assert window.open_file(path, ask=False)
    out = tmp_path / "exported.keras"
    thread = window.export_to("keras", str(out))
    with qtbot.waitSignal(thread.finished, timeout=120_000):
        pass
    assert "recorded in the graph" in window.statusBar().currentMessage()
    exported = keras.saving.load_model(out)
    for layer in model.layers:
        for a, b in zip(layer.get_weights(), exported.get_layer(layer.name).get_weights(),
                        strict=True):
            np.testing.assert_array_equal(a, b)
