"""Small models and run folders for the inspect tests (no training: seeded random weights)."""

from __future__ import annotations

import json
import os

import numpy as np

from playground.core import fileformat
from playground.core.graph import Graph


def small_graph(head: str = "dense") -> Graph:
    """input 12x12x1 -> conv a (4, 3x3, relu) -> pool -> conv b (6, 3x3, relu) -> gap -> head.

    ``head``: "dense" (Dense with softmax) or "activation" (Dense linear + Activation softmax).
    """
    nodes = [
        {"id": "input", "type": "Input", "params": {"shape": [12, 12, 1]}},
        {"id": "a", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 3,
                                                 "activation": "relu"}},
        {"id": "pool", "type": "MaxPooling2D", "params": {"pool_size": 2}},
        {"id": "b", "type": "Conv2D", "params": {"filters": 6, "kernel_size": 3,
                                                 "activation": "relu", "padding": "same"}},
        {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}},
    ]
    edges = [("input", "a"), ("a", "pool"), ("pool", "b"), ("b", "gap")]
    if head == "dense":
        nodes.append({"id": "out", "type": "Dense", "params": {"units": 3,
                                                               "activation": "softmax"}})
        edges.append(("gap", "out"))
    else:
        nodes += [{"id": "logits", "type": "Dense", "params": {"units": 3}},
                  {"id": "out", "type": "Activation", "params": {"activation": "softmax"}}]
        edges += [("gap", "logits"), ("logits", "out")]
    return fileformat.from_document({
        "format": "keras-playground-graph", "version": 1, "name": "small", "nodes": nodes,
        "edges": [{"from": s, "to": d} for s, d in edges]})


def seeded_model(graph: Graph, seed: int = 3, scale: float = 0.5):
    """The graph's Keras model with seeded, non-degenerate weights."""
    from playground.keras_build.compile import build_model

    model = build_model(graph)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, scale, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


def make_run(tmp_path, graph: Graph, classes: list[str], seed: int = 3, *,
             config: dict | None = None,
             dataset: str = "shapes: 30 images 12x12x1, 3 classes",
             scale: float = 0.5) -> tuple[str, object]:
    """A run folder like the runner writes (config.json + last.weights.h5), and its model."""
    from playground.core.fileformat import to_document

    model = seeded_model(graph, seed, scale)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model.save_weights(str(run_dir / "last.weights.h5"))
    (run_dir / "config.json").write_text(json.dumps({
        "config": config or {}, "dataset": dataset, "classes": classes,
        "graph": to_document(graph)}))
    return os.fspath(run_dir), model


def digits_run(tmp_path, graph: Graph, seed: int = 1, scale: float = 0.5
               ) -> tuple[str, object, Graph]:
    """A digits run folder (10 classes named "digit N") for ``graph`` with seeded weights."""
    run, model = make_run(tmp_path, graph, [f"digit {i}" for i in range(10)], seed,
                          config={"dataset": "digits"},
                          dataset="digits: 1797 images 8x8x1, 10 classes", scale=scale)
    return run, model, graph


def write_png(path, pixels: np.ndarray) -> str:
    from PIL import Image

    arr = np.asarray(pixels, np.uint8)
    Image.fromarray(arr[:, :, 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr).save(path)
    return os.fspath(path)


def pattern(h: int = 12, w: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((h, w, 1)) * 255).astype(np.uint8)


def mobilenet_twin(tmp, rows: int = 128):
    """keras.applications.MobileNet at ``rows`` x ``rows`` with seeded weights, saved as Keras'
    own ImageNet file for that size in ``tmp/keras-home/models`` (point ``KERAS_HOME`` there),
    and the MobileNet preset resized to ``rows`` as a graph file: a real twin with a real
    weights file and no download. Returns (the Keras model, the Keras home, the graph file)."""
    import keras

    from playground.core.presets import preset_path
    from tests.keras_build.helpers import randomize, write_legacy_h5

    home = tmp / "keras-home"
    (home / "models").mkdir(parents=True)
    model = keras.applications.MobileNet(weights=None, input_shape=(rows, rows, 3))
    randomize(model, seed=11)
    for layer in model.layers:          # smaller weights: the softmax is not saturated
        if layer.name.startswith("conv_preds"):
            layer.set_weights([w * 0.05 for w in layer.get_weights()])
    layers = [(layer.name, [np.asarray(w) for w in layer.get_weights()])
              for layer in model.layers if layer.weights]
    write_legacy_h5(home / "models" / f"mobilenet_1_0_{rows}_tf.h5", layers)
    doc = json.loads(preset_path("mobilenet").read_text())
    doc["nodes"][0]["params"]["shape"] = [rows, rows, 3]
    graph_file = tmp / f"mobilenet{rows}.json"
    graph_file.write_text(json.dumps(doc))
    return model, home, graph_file
