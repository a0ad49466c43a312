"""The ``ZeroPadChannels`` block: computes what its Keras layer computes, the generated script
defines the layer when the block is used on its own, and a ``.keras`` model holding the layer
imports back to the block (so a model built from a zero_pad ResidualBlock imports too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np

from playground.core import fileformat
from playground.core.graph import Graph, Node
from playground.core.shapes import analyze
from playground.keras_build.codegen import generate
from playground.keras_build.compile import build
from playground.keras_build.importer import import_model
from playground.keras_build.layers import ZeroPadChannels
from tests.keras_build.helpers import copy_by_name, outputs, randomize

L = keras.layers


def pad_graph(pad: int = 5, shape=(6, 5, 3)) -> Graph:
    """input -> conv -> ZeroPadChannels -> gap -> dense: the block alone, no composite."""
    g = Graph("padded")
    g.add_node(Node("input", "Input", {"shape": list(shape)}))
    g.add_node(Node("conv", "Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}))
    g.add_node(Node("widen", "ZeroPadChannels", {"pad": pad}))
    g.add_node(Node("gap", "GlobalAveragePooling2D", {}))
    g.add_node(Node("fc", "Dense", {"units": 2}))
    for a, b in (("input", "conv"), ("conv", "widen"), ("widen", "gap"), ("gap", "fc")):
        g.add_edge(a, b)
    return g


def test_block_appends_zero_channels_after_the_input():
    g = Graph("one")
    g.add_node(Node("input", "Input", {"shape": [3, 2, 4]}))
    g.add_node(Node("widen", "ZeroPadChannels", {"pad": 3}))
    g.add_edge("input", "widen")
    analysis = analyze(g)
    report, source = analysis.nodes["widen"], analysis.nodes["input"]
    assert (report.shape, report.params, report.macs) == ((3, 2, 7), 0, 0)
    assert (report.rf_size, report.rf_jump) == (source.rf_size, source.rf_jump)
    built = build(g)
    assert [type(layer).__name__ for layer in built.layers_by_node["widen"]] == [
        "ZeroPadChannels"]
    x = np.random.default_rng(0).normal(size=(2, 3, 2, 4)).astype("float32")
    y = np.asarray(built.model(x))
    assert y.shape == (2, 3, 2, 7)
    np.testing.assert_array_equal(y[..., :4], x)
    np.testing.assert_array_equal(y[..., 4:], 0.0)


RUNNER = r"""
import json, sys, runpy
import numpy as np
job = json.loads(sys.argv[1])
model = runpy.run_path(job["script"])["build_model"]()
data = np.load(job["weights"])
for layer in model.layers:
    if layer.weights:
        layer.set_weights([data[f"{layer.name}::{i}"] for i in range(len(layer.weights))])
np.save(job["output"], np.asarray(model(np.load(job["input"]), training=False)))
print(json.dumps({"params": model.count_params(),
                  "classes": [type(l).__name__ for l in model.layers]}))
"""


def test_generated_script_defines_the_layer_for_the_block(tmp_path):
    graph = pad_graph()
    built = build(graph)
    randomize(built.model, seed=3)
    source = generate(built, graph, source="padded.json")
    assert "class ZeroPadChannels(keras.layers.Layer):" in source
    assert "from keras import ops" in source
    assert "import playground" not in source and "from playground" not in source
    assert "widen = ZeroPadChannels(pad=5, name='widen')(conv)" in source
    script = tmp_path / "padded.py"
    script.write_text(source, encoding="utf-8")
    np.savez(tmp_path / "w.npz", **{f"{layer.name}::{i}": np.asarray(w)
                                    for layer in built.model.layers
                                    for i, w in enumerate(layer.get_weights())})
    x = np.random.default_rng(4).normal(size=(2, 6, 5, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    job = {"script": str(script), "weights": str(tmp_path / "w.npz"),
           "input": str(tmp_path / "x.npy"), "output": str(tmp_path / "y.npy")}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(job)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["params"] == built.model.count_params()
    assert "ZeroPadChannels" in report["classes"]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), outputs(built.model, x)[0],
                               rtol=1e-5, atol=1e-6)


def test_keras_file_with_the_layer_imports_to_the_block(tmp_path):
    inputs = keras.Input((6, 6, 3), name="image")
    x = L.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = ZeroPadChannels(6, name="widen")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inputs, L.Dense(2, name="fc")(x), name="custom")
    randomize(model, seed=5)
    path = tmp_path / "custom.keras"
    model.save(path)
    imported = import_model(path)
    node = imported.graph.node("widen")
    assert (node.type, node.params) == ("ZeroPadChannels", {"pad": 6})
    assert imported.graph.inputs_of("widen") == ["conv"]
    rebuilt = build(imported.graph).model
    assert rebuilt.count_params() == model.count_params() == imported.model_params
    copy_by_name(model, rebuilt)
    x = np.random.default_rng(6).normal(size=(2, 6, 6, 3)).astype("float32")
    np.testing.assert_allclose(outputs(rebuilt, x)[0], outputs(model, x)[0], rtol=1e-5,
                               atol=1e-6)
    # the file format keeps the block as written
    again = fileformat.loads(fileformat.dumps(imported.graph), "again.json")
    assert again.node("widen").params == {"pad": 6}


def test_model_of_a_zero_pad_residual_block_imports_as_its_layers(tmp_path):
    g = Graph("resnet_a")
    g.add_node(Node("input", "Input", {"shape": [9, 7, 4]}))
    g.add_node(Node("res", "ResidualBlock", {"filters": 8, "strides": 2,
                                             "shortcut": "zero_pad"}))
    g.add_node(Node("gap", "GlobalAveragePooling2D", {}))
    for a, b in (("input", "res"), ("res", "gap")):
        g.add_edge(a, b)
    model = build(g).model
    randomize(model, seed=7)
    path = tmp_path / "resnet_a.keras"
    model.save(path)
    imported = import_model(path).graph
    assert imported.node("res_0_pad").type == "ZeroPadChannels"
    assert imported.node("res_0_pad").params == {"pad": 4}
    assert imported.inputs_of("res_0_pad") == ["res_0_pool"]
    assert analyze(imported).total_params == analyze(g).total_params == model.count_params()
    rebuilt = build(imported).model
    copy_by_name(model, rebuilt)
    x = np.random.default_rng(8).normal(size=(2, 9, 7, 4)).astype("float32")
    np.testing.assert_allclose(outputs(rebuilt, x)[0], outputs(model, x)[0], rtol=1e-5,
                               atol=1e-5)
