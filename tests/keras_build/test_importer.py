"""``import``: Keras models -> graph files; counts and outputs match; refusals name culprits."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from playground import cli
from playground.core import fileformat
from playground.core.shapes import analyze
from playground.keras_build.compile import build
from playground.keras_build.importer import ModelImportError, import_config, import_model
from tests.keras_build.helpers import copy_by_name, outputs, randomize

L = keras.layers


def config_of(model) -> dict:
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model)))


def round_trip(model, x=None, check_outputs=True):
    """Import the model's config, recompile, copy weights by name, compare counts and outputs."""
    graph = import_config(config_of(model), f"{model.name}.keras")
    analysis = analyze(graph)
    assert analysis.valid, [str(p) for p in analysis.errors]
    assert analysis.total_params == model.count_params()
    rebuilt = build(graph).model
    assert rebuilt.count_params() == model.count_params()
    if check_outputs:
        randomize(model, seed=2)
        copy_by_name(model, rebuilt)
        if x is None:
            x = np.random.default_rng(1).normal(size=(2, *model.inputs[0].shape[1:]))
        for a, b in zip(outputs(model, x.astype("float32")),
                        outputs(rebuilt, x.astype("float32")), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    return graph


def mixed_model():
    inputs = keras.Input((18, 18, 3), name="image")
    x = L.ZeroPadding2D(((1, 0), (0, 1)), name="pad")(inputs)
    x = L.Conv2D(8, (3, 5), strides=2, padding="same", activation="relu", name="c1")(x)
    a = L.Conv2D(6, 3, dilation_rate=2, padding="same", use_bias=False, name="dil")(x)
    a = L.BatchNormalization(epsilon=1e-5, momentum=0.9, name="bn", trainable=False)(a)
    a = L.ReLU(max_value=6.0, name="relu6")(a)
    b = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="dw")(x)
    b = L.SeparableConv2D(6, 3, padding="same", name="sep")(b)
    m = L.Concatenate(name="cat")([a, b])
    m = L.MaxPooling2D(3, strides=1, padding="same", name="pool")(m)
    m = L.AveragePooling2D(2, name="avg")(m)
    f = L.Flatten(name="flat")(m)
    f = L.Dropout(0.25, name="drop")(f)
    f = L.Dense(10, name="logits")(f)
    out = L.Softmax(name="probs")(f)
    aux = L.GlobalAveragePooling2D(name="gap")(m)
    aux = L.Dense(3, activation="sigmoid", name="aux")(aux)
    return keras.Model(inputs, [out, aux], name="mixed")


def test_mixed_model_round_trip_and_clean_params():
    model = mixed_model()
    graph = round_trip(model)
    nodes = {n.id: n for n in graph.nodes}
    assert nodes["image"].type == "Input" and nodes["image"].params == {"shape": [18, 18, 3]}
    assert nodes["c1"].params == {"filters": 8, "kernel_size": [3, 5], "strides": 2,
                                  "padding": "same", "activation": "relu"}
    assert nodes["pad"].params == {"padding": [[1, 0], [0, 1]]}
    assert nodes["bn"].params == {"momentum": 0.9, "epsilon": 1e-5}
    assert nodes["bn"].trainable is False
    assert nodes["relu6"].params == {"max_value": 6.0}
    assert nodes["pool"].params == {"pool_size": 3, "strides": 1, "padding": "same"}
    assert nodes["avg"].params == {"pool_size": 2}     # Keras requires it: always written
    assert nodes["flat"].params == {} and nodes["logits"].params == {"units": 10}
    assert graph.inputs_of("cat") == ["relu6", "sep"]
    assert set(graph.sinks()) == {"probs", "aux"}
    assert all(n.pos is not None for n in graph.nodes)
    text = fileformat.dumps(graph)
    assert "initializer" not in text and "dtype" not in text


def test_sequential_model():
    model = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(4, 3, name="c"),
                              L.Flatten(name="f"), L.Dense(2, name="d")], name="seq")
    graph = round_trip(model)
    assert [n.type for n in graph.nodes] == ["Input", "Conv2D", "Flatten", "Dense"]


def test_refusal_names_every_culprit():
    inputs = keras.Input((8, 8, 3), name="x")
    a = L.Lambda(lambda t: t + 1, name="plus_one")(inputs)
    b = L.Conv2D(4, 3, kernel_regularizer="l2", name="reg")(a)
    c = L.Conv2D(4, 3, data_format="channels_first", name="cf")(b)
    d = L.Reshape((-1, 4), name="r")(c)
    e = L.Conv1D(2, 1, name="conv1d")(d)
    with pytest.raises(ModelImportError) as info:
        import_config(config_of(keras.Model(inputs, e)), "bad.keras")
    message = str(info.value)
    assert "layer 'plus_one' is a Lambda layer" in message
    assert "layer 'conv1d' (Conv1D) is not in the catalogue" in message
    assert "layer 'reg' (Conv2D): kernel_regularizer=" in message
    assert "layer 'cf' (Conv2D): data_format='channels_first'" in message
    assert len(info.value.problems) == 4


def test_shared_layers_are_refused_and_nested_models_inlined():
    inputs = keras.Input((4,), name="x")
    shared = L.Dense(4, name="shared")
    y = L.Add(name="add")([shared(inputs), shared(inputs)])
    with pytest.raises(ModelImportError, match=r"layer 'shared' \(Dense\) is shared"):
        import_config(config_of(keras.Model(inputs, y)), "shared.keras")
    inner = keras.Sequential([keras.Input((4,)), L.Dense(2, name="d")], name="inner")
    outer = keras.Model(inputs, inner(inputs))
    graph = round_trip(outer)
    assert [n.id for n in graph.nodes] == ["x", "d"]


def test_cli_import_with_weights(tmp_path, capsys):
    model = mixed_model()
    randomize(model, seed=4)
    source = tmp_path / "mixed.keras"
    model.save(source)
    out = tmp_path / "mixed.json"
    assert cli.main(["import", str(source), "--out", str(out), "--with-weights"]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}: 17 nodes, {model.count_params():,} params" in text
    weights = tmp_path / "mixed.weights.h5"
    assert weights.is_file()
    # The graph checks, and export with those weights reproduces the model's outputs.
    assert cli.main(["check", str(out)]) == 0
    exported = tmp_path / "again.keras"
    assert cli.main(["export", str(out), "--format", "keras", "--out", str(exported),
                     "--init-weights", str(weights)]) == 0
    again = keras.saving.load_model(exported)
    x = np.random.default_rng(3).normal(size=(2, 18, 18, 3)).astype("float32")
    for a, b in zip(outputs(model, x), outputs(again, x), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # Existing outputs need --force.
    assert cli.main(["import", str(source), "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_cli_import_errors(tmp_path, capsys):
    assert cli.main(["import", str(tmp_path / "m.keras"), "--out", str(tmp_path / "g.txt")]) == 2
    assert "must end in .json" in capsys.readouterr().err
    assert cli.main(["import", str(tmp_path / "m.txt"), "--out", str(tmp_path / "g.json")]) == 1
    assert "expected a .keras model file" in capsys.readouterr().err
    assert cli.main(["import", str(tmp_path / "m.h5"), "--out", str(tmp_path / "g.json")]) == 1
    assert "m.h5: no such file" in capsys.readouterr().err
    inputs = keras.Input((4,), name="x")
    lam = tmp_path / "lam.keras"
    keras.Model(inputs, L.Lambda(lambda t: t * 3, name="triple")(inputs)).save(lam)
    assert cli.main(["import", str(lam), "--out", str(tmp_path / "g.json")]) == 1
    err = capsys.readouterr().err
    assert "layer 'triple' is a Lambda layer" in err and "Traceback" not in err
    assert not (tmp_path / "g.json").exists()


def test_import_model_counts_stored_weights(tmp_path):
    model = mixed_model()
    path = tmp_path / "m.keras"
    model.save(path)
    imported = import_model(path)
    assert imported.model_params == model.count_params()
    assert imported.notes == []


def test_mobilenet_application():
    model = keras.applications.MobileNet(weights=None, input_shape=(128, 128, 3))
    graph = round_trip(model, check_outputs=True)
    assert graph.node("conv_dw_1_relu").params == {"max_value": 6.0}


@pytest.mark.slow
@pytest.mark.parametrize("factory", ["VGG16", "ResNet50", "DenseNet121"])
def test_big_applications(factory):
    model = getattr(keras.applications, factory)(weights=None)
    x = np.random.default_rng(0).uniform(0, 1, (1, 224, 224, 3))
    round_trip(model, x=x, check_outputs=True)


def test_layers_renamed_to_valid_ids_are_named_in_the_notes():
    """A Keras name that is not a valid node id is renamed, and the import says so (the note
    was computed and then dropped)."""
    inputs = keras.Input((8, 8, 1), name="image")
    x = L.Conv2D(4, 3, name="conv 1")(inputs)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inputs, L.Dense(2, name="head")(x), name="spaced")
    notes: list[str] = []
    graph = import_config(config_of(model), "spaced.keras", notes)
    assert "conv_1" in graph and "conv 1" not in graph.node_ids
    assert notes == ["layer 'conv 1' became node 'conv_1' (ids allow letters, digits, '_', "
                     "'.', '-')"]
