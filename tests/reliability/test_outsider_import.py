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


def _tutorial_model(L, augmentation):
    """The TensorFlow image classification tutorial's model, small: augmentation first, then
    Rescaling, convolutions and a logits head (it trains with from_logits=True)."""
    inputs = keras.Input((16, 16, 3))
    x = augmentation(inputs)
    x = L.Rescaling(1.0 / 255)(x)
    x = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D()(x)
    x = L.Flatten()(x)
    return keras.Model(inputs, L.Dense(5, name="outputs")(x))


@pytest.mark.parametrize("nested", [True, False], ids=["sequential-block", "functional"])
def test_augmentation_layers_become_the_graphs_training_augmentation(tmp_path, capsys, nested):
    """The tutorial's first model was refused ('RandomFlip is not in the catalogue'). Random
    augmentation layers are the identity when predicting: they are left out, said so, and
    recorded as the graph's training augmentation, which `train` and the panel apply."""
    from playground.core import fileformat
    from playground.training.config import from_preset

    L = keras.layers
    layers = [L.RandomFlip("horizontal"), L.RandomRotation(0.1), L.RandomZoom(0.1)]
    if nested:
        augmentation = keras.Sequential(layers, name="data_augmentation")
    else:
        def augmentation(x):
            for layer in layers:
                x = layer(x)
            return x
    _tutorial_model(L, augmentation).save(tmp_path / "tutorial.keras")
    code, out, err = run_cli(capsys, "import", tmp_path / "tutorial.keras", "--out",
                             tmp_path / "tutorial.json", "--with-weights")
    assert code == 0, err
    text = out + err
    assert "3 data augmentation layer(s) left out" in text
    assert "check: the rebuilt model predicts what the original predicts" in text
    graph = fileformat.load(tmp_path / "tutorial.json")
    assert [n.type for n in graph.nodes][:3] == ["Input", "Rescaling", "Conv2D"]
    assert not any(n.type.startswith("Random") for n in graph.nodes)
    assert graph.extra["training"] == {"augmentation": ["flip", "rotate", "zoom"]}
    config, _notes = from_preset(graph.extra["training"])
    assert config.augment == ["flip", "rotate", "zoom"]
    code, out, _ = run_cli(capsys, "check", tmp_path / "tutorial.json")
    assert code == 0 and "node outputs: this model output gets no softmax" in out


def test_a_random_crop_is_still_refused(tmp_path, capsys):
    """RandomCrop centre-crops when predicting (not the identity): refused by name."""
    L = keras.layers
    inputs = keras.Input((16, 16, 3))
    x = L.RandomCrop(12, 12, name="crop")(inputs)
    model = keras.Model(inputs, L.Dense(2, activation="softmax")(L.Flatten()(x)))
    model.save(tmp_path / "crop.keras")
    code, _out, err = run_cli(capsys, "import", tmp_path / "crop.keras", "--out",
                              tmp_path / "crop.json")
    assert code == 1
    assert "layer 'crop' (RandomCrop) is not in the catalogue" in err
