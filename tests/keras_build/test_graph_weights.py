"""Weights follow the graph; the import check names the first differing layer; legacy .h5."""

from __future__ import annotations

import json
import os
import warnings

import h5py
import keras
import numpy as np
import pytest

from playground import cli
from playground.core import fileformat
from playground.core.graph import Graph, Node
from playground.core.graph_weights import initial_weights, recorded_weights
from playground.keras_build.compile import build
from playground.keras_build.import_check import check_predictions
from playground.keras_build.importer import ModelImportError, import_model
from playground.keras_build.weights import apply_weights
from tests.keras_build.helpers import outputs, randomize

L = keras.layers


def small_model():
    x = keras.Input((8, 8, 3), name="image")
    y = L.Conv2D(4, 3, activation="relu", name="conv")(x)
    y = L.BatchNormalization(name="bn")(y)
    y = L.GlobalAveragePooling2D(name="gap")(y)
    return keras.Model(x, L.Dense(3, activation="softmax", name="probs")(y), name="small")


def _batch(seed=5):
    return np.random.default_rng(seed).uniform(0, 1, (2, 8, 8, 3)).astype("float32")


def test_imported_weights_are_recorded_and_used_by_export(tmp_path, capsys):
    model = small_model()
    randomize(model, seed=7)
    source = tmp_path / "small.keras"
    model.save(source)
    graph_path = tmp_path / "small.json"
    assert cli.main(["import", str(source), "--out", str(graph_path), "--with-weights"]) == 0
    out = capsys.readouterr().out
    assert "check: the rebuilt model predicts what the original predicts" in out
    assert json.loads(graph_path.read_text())["weights"] == "small.weights.h5"
    exported = tmp_path / "again.keras"
    assert cli.main(["export", str(graph_path), "--format", "keras", "--out",
                     str(exported)]) == 0
    assert "weights: starting from small.weights.h5, recorded in the graph" in \
        capsys.readouterr().out
    again = keras.saving.load_model(exported)
    np.testing.assert_allclose(outputs(again, _batch())[0], outputs(model, _batch())[0],
                               atol=1e-5)
    fresh = tmp_path / "fresh.keras"
    assert cli.main(["export", str(graph_path), "--format", "keras", "--out", str(fresh),
                     "--init-weights", "none"]) == 0
    assert "fresh random weights" in capsys.readouterr().out
    other = keras.saving.load_model(fresh)
    assert not np.allclose(outputs(other, _batch())[0], outputs(model, _batch())[0], atol=1e-3)


def test_recorded_weights_stay_inside_the_graph_folder(tmp_path):
    graph = Graph("g")
    graph.add_node(Node("x", "Input", {"shape": [4, 4, 1]}))
    path = tmp_path / "g.json"
    assert recorded_weights(graph, path) == (None, None)
    for bad in ("/etc/passwd", "../outside.weights.h5", "C:\\w.h5", 3, ""):
        graph.extra["weights"] = bad
        found, problem = recorded_weights(graph, path)
        assert found is None and "ignored" in problem
    graph.extra["weights"] = "missing.weights.h5"
    assert "missing" in recorded_weights(graph, path)[1]
    fifo = tmp_path / "pipe.weights.h5"
    os.mkfifo(fifo)
    graph.extra["weights"] = fifo.name
    assert "not a regular file" in recorded_weights(graph, path)[1]
    real = tmp_path / "real.weights.h5"
    real.write_bytes(b"x")
    graph.extra["weights"] = real.name
    start = initial_weights(graph, path, None)
    assert start.spec == str(real.resolve()) and "recorded in the graph" in start.note
    assert initial_weights(graph, path, "other.h5").spec == "other.h5"
    assert initial_weights(graph, path, "none").spec is None


def test_check_names_the_first_layer_whose_output_differs(tmp_path):
    model = small_model()
    randomize(model, seed=3)
    source = tmp_path / "small.keras"
    model.save(source)
    imported = import_model(source)
    built = build(imported.graph)
    apply_weights(built.model, imported.weights, str(source))
    assert check_predictions(str(source), built.model, built.analysis.order).ok
    bn = built.model.get_layer("bn")
    bn.set_weights([w * 1.5 + 0.1 for w in bn.get_weights()])
    result = check_predictions(str(source), built.model, built.analysis.order)
    assert not result.ok
    assert result.first_layer == "bn"
    assert "the first layer whose output differs is 'bn'" in result.line()


# ------------------------------------------------------------------ legacy .h5
def test_keras_saved_h5_full_model_imports_with_weights(tmp_path, capsys):
    model = small_model()
    randomize(model, seed=11)
    source = tmp_path / "small.h5"
    with warnings.catch_warnings():     # Keras warns that .h5 is legacy: that is the point
        warnings.simplefilter("ignore")
        model.save(source)
    graph_path = tmp_path / "small.json"
    assert cli.main(["import", str(source), "--out", str(graph_path), "--with-weights"]) == 0
    assert "check: the rebuilt model predicts" in capsys.readouterr().out
    graph = fileformat.load(graph_path)
    rebuilt = build(graph).model
    rebuilt.load_weights(tmp_path / "small.weights.h5")
    np.testing.assert_allclose(outputs(rebuilt, _batch())[0], outputs(model, _batch())[0],
                               atol=1e-5)


def _keras2_layer(cls, name, config, inbound):
    return {"class_name": cls, "name": name, "config": {"name": name, "trainable": True,
                                                        "dtype": "float32", **config},
            "inbound_nodes": [[[src, 0, 0, {}] for src in inbound]] if inbound else []}


def write_keras2_h5(path, layers, weights, class_name="Functional"):
    """A tf.keras 2.x ``model.save('m.h5')`` file: ``model_config`` JSON on the root and the
    weights under ``model_weights`` (``layer_names`` and per-layer ``weight_names``)."""
    names = [layer["name"] for layer in layers]
    config = {"class_name": class_name, "config": {
        "name": "legacy", "layers": layers,
        "input_layers": [[names[0], 0, 0]], "output_layers": [[names[-1], 0, 0]]}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["backend"] = b"tensorflow"
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [n.encode() for n in names]
        for name in names:
            layer_group = group.create_group(name)
            arrays = weights.get(name, [])
            wnames = [f"{name}/{w}:0" for w in ("kernel", "bias")[:len(arrays)]]
            layer_group.attrs["weight_names"] = [w.encode() for w in wnames]
            for w, a in zip(wnames, arrays, strict=True):
                layer_group.create_dataset(w, data=a)
    return path


def test_tf_keras_2_h5_imports_and_its_weights_load(tmp_path):
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(3, 3, 1, 2)).astype("float32"), np.ones(2, "float32")
    dense = [rng.normal(size=(18, 4)).astype("float32"), np.zeros(4, "float32")]
    layers = [
        _keras2_layer("InputLayer", "input_1", {"batch_input_shape": [None, 5, 5, 1],
                                                "sparse": False, "ragged": False}, []),
        _keras2_layer("Conv2D", "conv2d", {"filters": 2, "kernel_size": [3, 3],
                                           "strides": [1, 1], "padding": "valid",
                                           "activation": "relu", "use_bias": True}, ["input_1"]),
        _keras2_layer("Flatten", "flatten", {}, ["conv2d"]),
        _keras2_layer("Dense", "dense", {"units": 4, "activation": "linear"}, ["flatten"]),
    ]
    path = write_keras2_h5(tmp_path / "tutorial.h5", layers,
                           {"conv2d": [kernel, bias], "dense": dense})
    imported = import_model(path)
    assert [n.type for n in imported.graph.nodes] == ["Input", "Conv2D", "Flatten", "Dense"]
    assert imported.model_params == 18 + 2 + 18 * 4 + 4
    model = build(imported.graph).model
    report = apply_weights(model, imported.weights, str(path))
    assert report.matched == ["conv2d", "dense"] and not report.skipped
    np.testing.assert_array_equal(model.get_layer("conv2d").get_weights()[0], kernel)


def test_h5_with_a_lambda_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w')"
    layers = [
        _keras2_layer("InputLayer", "input_1", {"batch_input_shape": [None, 4]}, []),
        _keras2_layer("Lambda", "evil", {"function": [code, None, None],
                                         "function_type": "lambda"}, ["input_1"]),
        _keras2_layer("Dense", "dense", {"units": 2}, ["evil"]),
    ]
    path = write_keras2_h5(tmp_path / "evil.h5", layers, {})
    with pytest.raises(ModelImportError, match="layer 'evil' is a Lambda layer"):
        import_model(path)
    assert not marker.exists()


def test_weights_only_h5_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = []
    with pytest.raises(ModelImportError, match="weights-only .h5 file"):
        import_model(path)


def test_train_starts_from_the_recorded_weights(tmp_path, capsys):
    from tests.training.helpers import tiny

    graph = tiny()
    model = build(graph).model
    randomize(model, seed=9)
    model.save_weights(tmp_path / "tiny.weights.h5")
    graph.extra["weights"] = "tiny.weights.h5"
    path = tmp_path / "tiny.json"
    fileformat.save(graph, path)
    saved = tmp_path / "trained.keras"
    # SGD at the smallest rate: the trained weights stay the loaded ones.
    assert cli.main(["train", str(path), "--dataset", "digits", "--epochs", "1", "--optimizer",
                     "sgd", "--lr", "1e-9", "--no-run", "--save", str(saved)]) == 0
    err = capsys.readouterr().err
    assert "weights: starting from tiny.weights.h5, recorded in the graph" in err
    trained = keras.saving.load_model(saved)
    np.testing.assert_allclose(trained.get_layer("conv").get_weights()[0],
                               model.get_layer("conv").get_weights()[0], atol=1e-5)


def test_tf_keras_2_arithmetic_imports_as_rescaling_and_add(tmp_path):
    """tf.keras 2 records ``x / 255.0`` and ``a + b`` as TFOpLambda layers naming a TF function;
    they import like keras.ops calls, without running anything."""
    layers = [
        _keras2_layer("InputLayer", "input_1", {"batch_input_shape": [None, 4]}, []),
        _keras2_layer("TFOpLambda", "tf.math.truediv", {"function": "math.truediv"}, []),
        _keras2_layer("Dense", "dense", {"units": 4}, ["tf.math.truediv"]),
        _keras2_layer("TFOpLambda", "tf.__operators__.add",
                      {"function": "__operators__.add"}, []),
    ]
    layers[1]["inbound_nodes"] = [[["input_1", 0, 0, {"y": 255.0, "name": None}]]]
    layers[3]["inbound_nodes"] = [[["dense", 0, 0, {"y": ["tf.math.truediv", 0, 0],
                                                     "name": None}]]]
    path = write_keras2_h5(tmp_path / "scaled.h5", layers,
                           {"dense": [np.eye(4, dtype="float32"), np.zeros(4, "float32")]})
    imported = import_model(path)
    graph = imported.graph
    assert graph.node("tf.math.truediv").type == "Rescaling"
    assert graph.node("tf.math.truediv").params == {"scale": 1 / 255}
    assert graph.node("tf.__operators__.add").type == "Add"
    assert graph.inputs_of("tf.__operators__.add") == ["dense", "tf.math.truediv"]
    assert any("became Rescaling" in n for n in imported.notes)


def test_other_tf_ops_in_h5_are_refused_by_name(tmp_path):
    layers = [
        _keras2_layer("InputLayer", "input_1", {"batch_input_shape": [None, 4]}, []),
        _keras2_layer("TFOpLambda", "tf.math.sqrt", {"function": "math.sqrt"}, ["input_1"]),
    ]
    path = write_keras2_h5(tmp_path / "sqrt.h5", layers, {})
    with pytest.raises(ModelImportError, match="layer 'tf.math.sqrt' is a TFOpLambda layer"):
        import_model(path)
