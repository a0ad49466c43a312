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
