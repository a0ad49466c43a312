"""The current weights of a run, a ``.keras`` file or an untrained graph, ready to predict.

Nothing a user hands in is ever deserialized: a run folder's model is rebuilt from the graph
document in its ``config.json`` and its weights are read as arrays (``keras_build.weights``);
a ``.keras`` file goes through the importer (plain-JSON inspection that refuses code) and the
same weights reader. ``keras.saving.load_model`` is never called on a user's file.

``check_model_path`` needs no TensorFlow, so the CLI can refuse a wrong path before paying for
it; ``load_model_source`` imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground.core.errors import PlaygroundError
from playground.core.graph import Graph

# A run's weights, newest state first: the end of training, the best epoch, the last backup.
RUN_WEIGHTS = ("last.weights.h5", "best.weights.h5", os.path.join("backup", "latest.weights.h5"))
RANDOM_NOTE = "the weights are random (untrained graph): the prediction means nothing yet"


class ModelPathError(PlaygroundError):
    """The path is not a run folder, a .keras file or a graph (a wrong argument: exit 2)."""


class ModelLoadError(PlaygroundError):
    """The run or model exists but cannot be turned into a working model (exit 1)."""


@dataclass
class LoadedModel:
    """A Keras model with the facts needed to read its answers."""

    model: Any
    graph: Graph
    class_names: list[str]
    source: str
    weights: str | None = None              # the weights file used; None = random weights
    notes: list[str] = field(default_factory=list)
    node_tensors: dict[str, Any] = field(default_factory=dict)
    layers_by_node: dict[str, list[Any]] = field(default_factory=dict)
    dataset: str = ""                       # the run's dataset description, when known
    predict_fn: Any = field(default=None, repr=False)   # the compiled forward pass (lazy)
    pipeline: str = "arrays"                # how the training images were adapted (images.adapt)

    @property
    def raw_size(self) -> tuple[int, int] | None:
        """The dataset's own image size (H, W) when the run says it ("... 8x8x1 ...")."""
        import re

        match = re.search(r"\b(\d+)x(\d+)x(\d+)\b", self.dataset)
        return (int(match.group(1)), int(match.group(2))) if match else None

    @property
    def random(self) -> bool:
        return self.weights is None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        shape = self.model.inputs[0].shape[1:]
        return tuple(int(d) for d in shape)  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return int(self.model.outputs[0].shape[-1])

    def class_name(self, index: int) -> str:
        if 0 <= index < len(self.class_names):
            return str(self.class_names[index])
        return str(index)


def check_model_path(path: str | os.PathLike[str]) -> str:
    """``"run"``, ``"keras"`` or ``"graph"`` for a usable path; ``ModelPathError`` otherwise."""
    source = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ModelPathError(f"{source}: no such file or folder") from None
    except OSError as exc:
        raise ModelPathError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        config = os.path.join(source, "config.json")
        if not os.path.isfile(config):
            raise ModelPathError(f"{source}: not a run folder (no config.json); give a run "
                                 "folder the app made or a .keras model")
        return "run"
    if not stat.S_ISREG(st.st_mode):
        raise ModelPathError(f"{source}: not a regular file (a device, FIFO or socket); refused")
    if source.endswith(".keras"):
        if not zipfile.is_zipfile(source):
            raise ModelPathError(f"{source}: not a .keras model (not a zip archive)")
        return "keras"
    if source.endswith(".json"):
        return "graph"
    raise ModelPathError(f"{source}: expected a run folder, a .keras model or a graph .json")


def _read_run_config(run_dir: str) -> dict[str, Any]:
    path = os.path.join(run_dir, "config.json")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: not a readable run configuration ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("graph"), dict):
        raise ModelLoadError(f"{path}: the run configuration holds no graph document")
    return data


def pipeline_of(spec: Any) -> str:
    """``"files"`` for a dataset of image files (a folder or a CSV index: decoded by the file
    pipeline), ``"arrays"`` for the built-in sets and .npz arrays (``images.adapt``)."""
    from playground.data.sources import find_source

    if not isinstance(spec, str) or not spec:
        return "arrays"
    source = find_source(spec)  # a path that is not there yet: its files, as before
    return "arrays" if source is not None and not source.streamed else "files"


def run_weights_file(run_dir: str) -> str | None:
    """The run's current weights file (see ``RUN_WEIGHTS``), or None when it saved none yet."""
    for name in RUN_WEIGHTS:
        candidate = os.path.join(run_dir, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def from_graph(graph: Graph, class_names: list[str] | None = None, source: str = "",
               weights: str | None = None, notes: list[str] | None = None, *,
               masks: bool = False) -> LoadedModel:
    """Build the graph's model; load ``weights`` (a .weights.h5 or .keras) when given.
    ``masks``: a segmenter's H x W x K output is accepted too (the Predict dock draws it)."""
    from playground.keras_build.compile import build

    built = build(graph)
    model = built.model
    where = source or graph.name
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        shapes = ", ".join("x".join(str(d) for d in t.shape[1:]) for t in model.inputs)
        raise ModelLoadError(f"{where}: predicting needs one image input (H x W x C); this "
                             f"model takes {shapes}")
    if len(model.outputs[0].shape) != 2 and not (masks and len(model.outputs[0].shape) == 4):
        shape = "x".join(str(d) for d in model.outputs[0].shape[1:])
        raise ModelLoadError(f"{where}: its output is {shape}, not one vector of class "
                             "probabilities (a segmentation or feature model)")
    notes = list(notes or [])
    if weights is not None:
        from playground.keras_build.weights import load_weights

        report = load_weights(model, weights)
        if not report.matched:
            raise ModelLoadError(f"{weights}: no layer of the model found its weights "
                                 "(the file belongs to another graph)")
        if report.skipped:
            notes.append(f"{weights}: {len(report.skipped)} layer(s) kept random weights: "
                         + "; ".join(str(s) for s in report.skipped[:5]))
    else:
        notes.append(RANDOM_NOTE)
    n_out = int(model.outputs[0].shape[-1])
    names = [str(c) for c in class_names] if class_names else []
    if names and len(names) != n_out and not (masks and n_out == 1 and len(names) == 2):
        notes.append(f"the class names ({len(names)}) do not match the model's {n_out} "
                     "outputs; indices are shown")
        names = []
    return LoadedModel(model, graph, names or [str(i) for i in range(n_out)],
                       source or graph.name, weights, notes, dict(built.tensors),
                       dict(built.layers_by_node))


def load_model_source(path: str | os.PathLike[str], *, masks: bool = False) -> LoadedModel:
    """The current weights at ``path``: a run folder, a ``.keras`` model or a graph file
    (``masks``: as in :func:`from_graph`)."""
    from playground.core import fileformat
    from playground.core.errors import GraphFileError

    source = str(path)
    kind = check_model_path(source)
    if kind == "run":
        config = _read_run_config(source)
        try:
            graph = fileformat.from_document(config["graph"], source=source)
        except GraphFileError as exc:
            raise ModelLoadError(f"{source}: the run's graph cannot be read ({exc})") from None
        weights = run_weights_file(source)
        notes = []
        if weights is None:
            notes.append(f"{source}: the run saved no weights yet")
        classes = config.get("classes") if isinstance(config.get("classes"), list) else None
        loaded = from_graph(graph, classes, source, weights, notes, masks=masks)
        settings = config.get("config") if isinstance(config.get("config"), dict) else {}
        loaded.pipeline = pipeline_of(settings.get("dataset"))
        dataset = config.get("dataset")
        if isinstance(dataset, str):
            loaded.dataset = dataset
            loaded.notes.insert(0, f"trained on {dataset}")
        return loaded
    if kind == "keras":
        from playground.keras_build.importer import ModelImportError, import_model

        try:
            imported = import_model(source)
        except ModelImportError as exc:
            raise ModelLoadError(str(exc)) from None
        return from_graph(imported.graph, None, source, source, list(imported.notes),
                          masks=masks)
    try:
        graph = fileformat.load(source)
    except GraphFileError as exc:
        if exc.unreadable:
            raise ModelPathError(str(exc)) from None
        raise ModelLoadError(str(exc)) from None
    return from_graph(graph, None, source, None, masks=masks)


def logits_and_probabilities(loaded: LoadedModel, x: np.ndarray) -> np.ndarray:
    """Class probabilities (N x classes) of the first output for adapted images ``x``.

    The forward pass is one ``tf.function`` with a fixed signature, traced once per model: an
    eager call of LeNet-5 costs ~40 ms, the compiled one ~5 ms (live drawing needs < 100 ms)."""
    if loaded.predict_fn is None:
        from playground.tfimport import import_tensorflow

        tf = import_tensorflow()
        model = loaded.model

        def forward(a):
            out = model(a, training=False)
            return out[0] if isinstance(out, (list, tuple)) else out

        spec = tf.TensorSpec([None, *loaded.input_shape], tf.float32)
        loaded.predict_fn = tf.function(forward, input_signature=[spec])
    out = loaded.predict_fn(np.asarray(x, np.float32))
    return np.asarray(out, dtype=np.float64)


def warm_up(loaded: LoadedModel) -> None:
    """Trace the forward pass and the image adaptation once, so the first live update is fast."""
    from playground.inspect.images import adapt

    h, w, c = loaded.input_shape
    for size in ((h, w), (max(1, h // 2), max(1, w // 2))):
        x = adapt(np.zeros((*size, 1 if c == 1 else 3), np.uint8), loaded.input_shape,
                  loaded.pipeline)
    logits_and_probabilities(loaded, x)


def mask_shares(probs: np.ndarray, class_names: list[str]) -> list[dict[str, Any]]:
    """A segmenter's prediction for one image (H x W x K probabilities; K = 1: a sigmoid mask
    of the second class) as ``top_k``'s rows: the share of pixels predicted as each class,
    largest first."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape[-1] == 1:
        pred = (probs[..., 0] >= 0.5).astype(np.int64)
        k = max(2, len(class_names))
    else:
        pred, k = probs.argmax(-1), probs.shape[-1]
    shares = np.bincount(pred.ravel(), minlength=k) / max(1, pred.size)
    order = np.argsort(-shares, kind="stable")
    return [{"class": class_names[i] if i < len(class_names) else str(int(i)),
             "index": int(i), "p": float(shares[i])} for i in order]


def top_k(probs: np.ndarray, k: int, class_names: list[str]) -> list[dict[str, Any]]:
    """``[{"class", "index", "p"}]`` for the ``k`` most probable classes, best first."""
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    k = max(1, min(int(k), probs.size))
    order = np.argsort(-probs, kind="stable")[:k]
    return [{"class": class_names[i] if i < len(class_names) else str(int(i)),
             "index": int(i), "p": float(probs[i])} for i in order]
