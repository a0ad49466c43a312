"""Imports an outsider tried (wave 5): the plain ``keras.Sequential`` of every first tutorial.

``import --with-weights`` of a saved Sequential model failed with "unexpected AttributeError:
The layer sequential has never been called and thus has no defined input": the prediction check
asked the original (loaded by Keras) for ``model.input``, which a Sequential read from a file
does not have until it is called.
"""

from __future__ import annotations

import json

import pytest

from tests.reliability.helpers import run_cli

keras = pytest.importorskip("keras")


def test_a_saved_sequential_model_imports_with_its_weights(tmp_path, capsys):
    L = keras.layers
    model = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"),
                              L.GlobalAveragePooling2D(),
                              L.Dense(3, activation="softmax", name="probs")])
    model.save(tmp_path / "seq.keras")
    code, out, err = run_cli(capsys, "import", tmp_path / "seq.keras", "--out",
                             tmp_path / "seq.json", "--with-weights")
    assert code == 0, err
    assert "check: the rebuilt model predicts what the original predicts" in out + err
    graph = json.loads((tmp_path / "seq.json").read_text())
    assert graph["weights"] == "seq.weights.h5"
    assert [n["type"] for n in graph["nodes"]] == ["Input", "Conv2D", "GlobalAveragePooling2D",
                                                   "Dense"]
