"""Transfer learning at scale: a frozen, deterministic prefix runs once per image, not per epoch.

The lecture notes' advice for a pretrained network and little data: "save the features to disk
and train a shallow classifier". When every node up to some cut is frozen (or has no weights)
and none of them is random at training time (Dropout, noise, augmentation layers), the cut's
output for an image is the same in every epoch. So :func:`find_cut` picks the deepest such node
through which the whole rest of the graph flows, :func:`compute_features` runs the prefix once
over the training and validation images (in memory within a budget, else in a ``.npy`` file in
the run folder), and :func:`fit_on_features` trains a head model (the rest of the graph, sharing
its layers, hence its weights, with the full model) on the cache, epoch after epoch. The run's
history, callbacks, checkpoints and the exported model stay those of the full model.

Augmentation runs in the input pipeline, before every node, so a run with augmentation never
uses the cache; neither do multi-worker runs. :func:`linear_probe_graph` builds the notes' "linear
classifier on the features of node X" as a graph (X's ancestors frozen, a pooling and a Dense
head), which then trains on the cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.blocks import get_spec
from playground.core.errors import PlaygroundError
from playground.core.graph import Graph, Node

CACHE_FOLDER = "feature_cache"


@dataclass
class Cut:
    node: str              # the node whose output is cached
    prefix: list[str]      # the nodes that run once per image (the node and its ancestors)
    rest: list[str]        # the nodes trained on the cache


def _is_random(node: Node, report: Any) -> bool:
    """The node, or a layer inside the composite, draws anew on every call in training
    (BlockSpec.training_behaviour "random"): its output cannot be computed once per image."""
    inner = [layer.type for layer in getattr(report, "inner", None) or ()]
    for type_name in (node.type, *inner):
        spec = get_spec(type_name)
        if spec is not None and spec.training_behaviour == "random":
            return True
    return False


def _fixed(node: Node, report: Any, layers: list[Any] | None) -> bool:
    """Frozen, or without trainable weights (an activation, a pooling), and not random."""
    if node.type == "Input":
        return True
    if _is_random(node, report):
        return False
    if layers is None:
        return not node.trainable
    return not node.trainable or not any(layer.trainable_weights for layer in layers)


def find_cut(graph: Graph, analysis: Any, layers_by_node: dict[str, list[Any]] | None = None
             ) -> Cut | None:
    """The deepest fixed node that every path to the outputs passes through, or None.

    ``layers_by_node`` (from ``keras_build.compile.build``) lets weightless nodes count as fixed
    and random layers break the prefix; without it only frozen nodes count.
    """
    order = list(analysis.order)
    fixed: dict[str, bool] = {}
    ancestors: dict[str, set[str]] = {}
    for nid in order:
        sources = graph.inputs_of(nid)
        layers = None if layers_by_node is None else layers_by_node.get(nid, [])
        fixed[nid] = (_fixed(graph.node(nid), analysis.nodes.get(nid), layers)
                      and all(fixed[s] for s in sources))
        ancestors[nid] = {nid}.union(*(ancestors[s] for s in sources))
    outputs = set(analysis.outputs)
    best: Cut | None = None
    for nid in order:
        if not fixed[nid] or graph.node(nid).type == "Input" or nid in outputs:
            continue
        before = ancestors[nid]
        rest = [n for n in order if n not in before]
        if not rest or any(s in before and s != nid for r in rest for s in graph.inputs_of(r)):
            continue
        if best is None or len(before) > len(best.prefix):
            best = Cut(nid, [n for n in order if n in before], rest)
    return best


def choose_cut(graph: Graph, analysis: Any, layers_by_node: dict[str, list[Any]], *,
               enabled: bool, random_input: bool, run_dir: str | None, resume: bool,
               log: Callable[[str], None] = lambda text: None) -> Cut | None:
    """The cut a run trains on, consistent with its checkpoint.

    A fresh run uses :func:`find_cut` when ``enabled`` and nothing random runs on the input
    (augmentation), and records the cut in ``feature_cache/cut.json`` of the run folder. A
    resumed run follows its checkpoint (the head's weights, or the full model's): the recorded
    cut, or none; a checkpoint of cached training with settings that no longer allow the cut
    is refused with a message rather than loaded into the wrong model.
    """
    import json
    from pathlib import Path

    cut = find_cut(graph, analysis, layers_by_node) if enabled and not random_input else None
    if cut is None and enabled and random_input:
        could = find_cut(graph, analysis, layers_by_node)
        if could is not None:
            log(f"feature cache: not used; the frozen nodes up to {could.node} could run once "
                "per image, but augmentation changes the images every epoch (--augment none "
                "to train on cached features)")
    if run_dir is None:
        return cut
    marker = Path(run_dir) / CACHE_FOLDER / "cut.json"
    if resume and (Path(run_dir) / "backup").exists():
        try:
            recorded = json.loads(marker.read_text(encoding="utf-8")).get("node")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if recorded is None:
            return None                     # the checkpoint holds the full model's training
        found = find_cut(graph, analysis, layers_by_node)
        if random_input or found is None or found.node != recorded:
            raise PlaygroundError(
                f"{run_dir}: this run's checkpoint was trained on the cached features of node "
                f"{recorded}; resume it with the same frozen nodes and without augmentation")
        return found
    if cut is not None:
        from playground.core.atomic import write_text_atomic

        marker.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(marker, json.dumps({"node": cut.node}))
    elif marker.exists():
        marker.unlink()
    return cut


def cache_budget() -> int:
    """Bytes of features kept in memory: a quarter of the available memory."""
    from playground.keras_build.compile import available_memory_bytes

    return available_memory_bytes() // 4


def compute_features(prefix: Any, x: np.ndarray, batch_size: int, path: str | None = None,
                     budget: int | None = None, chunk: int = 2048) -> np.ndarray:
    """``prefix`` over ``x`` once, in chunks: an in-memory array when it fits ``budget``, else
    a ``.npy`` memory map at ``path`` (when given)."""
    shape = tuple(int(d) for d in prefix.output.shape[1:])
    nbytes = len(x) * int(np.prod(shape)) * 4
    budget = cache_budget() if budget is None else budget
    if path is not None and nbytes > budget:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                        shape=(len(x), *shape))
    else:
        out = np.empty((len(x), *shape), dtype=np.float32)
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk]
        out[start:start + len(part)] = prefix.predict(part, batch_size=batch_size, verbose=0)
    if isinstance(out, np.memmap):
        out.flush()
    return out


def compute_stream_features(prefix: Any, batches: Any, path: str | None = None,
                            budget: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``prefix`` over a streamed, unshuffled, unaugmented ``tf.data`` pipeline of
    ``(images, labels)`` batches, once: (features, labels). Batches are kept in memory until
    they pass ``budget``, then everything goes on to a ``.npy`` file at ``path``, so a folder of
    photos larger than memory is cached on disk."""
    budget = cache_budget() if budget is None else budget
    parts: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    held = 0
    spill = None
    count = 0
    shape: tuple[int, ...] = ()
    try:
        for images, y in batches:
            features = np.asarray(prefix.predict_on_batch(images), np.float32)
            shape = features.shape[1:]
            labels.append(np.asarray(y).astype(np.int64))
            count += len(features)
            if spill is not None:
                spill.write(features.tobytes())
                continue
            parts.append(features)
            held += features.nbytes
            if path is not None and held > budget:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                spill = open(path + ".raw", "wb")  # noqa: SIM115 - closed in finally
                for part in parts:
                    spill.write(part.tobytes())
                parts = []
    finally:
        if spill is not None:
            spill.close()
    y_all = np.concatenate(labels) if labels else np.zeros((0,), np.int64)
    if spill is None:
        feats = np.concatenate(parts) if parts else np.zeros((0, *shape), np.float32)
        return feats, y_all
    raw = np.memmap(path + ".raw", dtype=np.float32, mode="r", shape=(count, *shape))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(count, *shape))
    for start in range(0, count, 4096):
        out[start:start + 4096] = raw[start:start + 4096]
    out.flush()
    del raw
    os.unlink(path + ".raw")
    return out, y_all


def _feature_dataset(features: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool,
                     seed: int):
    """The same order as the image pipeline (``adapt.make_dataset``) for in-memory features; a
    memory map is read batch by batch instead of being copied into a tensor."""
    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()
    if not isinstance(features, np.memmap):
        from playground.data.adapt import make_dataset

        return make_dataset(features, y, batch_size, shuffle=shuffle, seed=seed)
    shape = features.shape[1:]

    def gather(rows):
        rows = np.sort(rows)
        return np.asarray(features[rows], np.float32), y[rows]

    ds = tf.data.Dataset.range(len(features))
    if shuffle:
        ds = ds.shuffle(min(len(features), 100_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(
        lambda rows: tf.numpy_function(gather, [rows], (tf.float32, tf.int64)))
    ds = ds.map(lambda a, b: (tf.ensure_shape(a, (None, *shape)), tf.ensure_shape(b, (None,))))
    return ds.prefetch(tf.data.AUTOTUNE)


def split_model(built: Any, cut: Cut) -> tuple[Any, Any]:
    """(prefix, head): the model up to the cut's output, and from there to the outputs. The head
    calls the full model's own layers, so training it trains the full model."""
    import keras

    model = built.model
    tensor = built.tensors[cut.node]
    prefix = keras.Model(model.inputs[0] if len(model.inputs) == 1 else model.inputs, tensor,
                         name=f"{model.name}_prefix")
    outputs = model.outputs[0] if len(model.outputs) == 1 else model.outputs
    head = keras.Model(tensor, outputs, name=f"{model.name}_head")
    return prefix, head


@dataclass
class CachedFit:
    head: Any
    cut: Cut
    seconds_features: float
    on_disk: bool


def _features(prefix: Any, x: Any, y: Any, batch_size: int, path: str | None
              ) -> tuple[np.ndarray | None, Any]:
    """Arrays (``x`` images, ``y`` labels) or a ``tf.data`` pipeline of (images, labels)."""
    if x is None:
        return None, y
    if hasattr(x, "element_spec"):
        return compute_stream_features(prefix, x, path)
    if not len(x):
        return None, y
    return compute_features(prefix, x, batch_size, path), y


def fit_on_features(built: Any, cut: Cut, *, x_train: Any, y_train: Any,
                    x_val: Any, y_val: Any, batch_size: int, seed: int,
                    epochs: int, callbacks: list[Any], compile_head: Callable[[Any], None],
                    targets: Callable[[Any], Any] | None = None, run_dir: str | None = None,
                    log: Callable[[str], None] = lambda text: None,
                    model_scope: Callable[[], Any] | None = None) -> CachedFit:
    """Compute the cut's features once, then ``fit`` the head on them for ``epochs``.

    ``x_train``/``x_val``: adapted image arrays with their labels ``y_*``, or streamed
    ``tf.data`` pipelines of (images, labels) batches in a fixed order without augmentation
    (``y_*`` then None); ``x_val`` may be None or empty. ``model_scope``: a context (the
    run's precision policy) in which the head model is made and compiled."""
    import contextlib
    import time

    # The head is a new Model: made under the run's dtype policy (mixed precision), so that
    # compile wraps its optimizer in a loss scaler as it did the full model's.
    with (model_scope or contextlib.nullcontext)():
        prefix, head = split_model(built, cut)
        compile_head(head)
    t0 = time.perf_counter()
    folder = os.path.join(run_dir, CACHE_FOLDER) if run_dir is not None else None
    f_train, y_train = _features(prefix, x_train, y_train, batch_size,
                                 os.path.join(folder, "train.npy") if folder else None)
    f_val, y_val = _features(prefix, x_val, y_val, batch_size,
                             os.path.join(folder, "val.npy") if folder else None)
    if f_val is not None and not len(f_val):
        f_val = None
    seconds = time.perf_counter() - t0
    on_disk = isinstance(f_train, np.memmap)
    size = f_train.nbytes + (f_val.nbytes if f_val is not None else 0)
    log(f"feature cache: the frozen nodes up to {cut.node} ({len(cut.prefix) - 1} node(s)) ran "
        f"once per image in {seconds:.1f} s; {size / 2**20:.1f} MiB of features "
        f"{'on disk in ' + str(folder) if on_disk else 'in memory'}; the epochs train "
        f"{', '.join(cut.rest[:6])}{' ...' if len(cut.rest) > 6 else ''}")
    train_ds = _feature_dataset(f_train, y_train, batch_size, shuffle=True, seed=seed)
    val_ds = None
    if f_val is not None:
        val_ds = _feature_dataset(f_val, y_val, batch_size, shuffle=False, seed=seed)
    if targets is not None:
        train_ds = train_ds.map(lambda a, b: (a, targets(b)))
        if val_ds is not None:
            val_ds = val_ds.map(lambda a, b: (a, targets(b)))
    head.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks, verbose=0,
             shuffle=False)
    return CachedFit(head, cut, seconds, on_disk)


def save_best_of_full_model(progress: Any, head: Any, model: Any, run_dir: str | None) -> None:
    """The progress callback saved the head's best weights; a run folder keeps the full
    model's (the head's layers are the full model's, so set, save, restore)."""
    if run_dir is None or getattr(progress, "best_weights", None) is None:
        return
    from playground.training.callbacks import _save_weights_atomic

    current = head.get_weights()
    head.set_weights(progress.best_weights)
    try:
        _save_weights_atomic(model, os.path.join(run_dir, "best.weights.h5"))
    finally:
        head.set_weights(current)


def linear_probe_graph(graph: Graph, node_id: str, pool: str = "avg") -> Graph:
    """The notes' "linear classifier on the features of node X": X and its ancestors, frozen,
    then (for a spatial output) global average pooling or a flatten, then one softmax Dense
    layer ``probe`` (its width is set to the dataset's classes by the run)."""
    if node_id not in graph.node_ids:
        raise PlaygroundError(f"--linear-probe: no node {node_id!r} in the graph")
    if graph.node(node_id).type == "Input":
        raise PlaygroundError(f"--linear-probe: {node_id} is the Input; pick a node with "
                              "features (a convolution, a block, a pooling)")
    if pool not in ("avg", "flatten"):
        raise PlaygroundError(f"--probe-pool: {pool!r} is not avg or flatten")
    from playground.core.shapes import analyze

    analysis = analyze(graph)
    if not analysis.valid:
        lines = "; ".join(str(p) for p in analysis.errors[:3])
        raise PlaygroundError(f"the graph has errors: {lines}")
    keep: set[str] = set()
    stack = [node_id]
    while stack:
        nid = stack.pop()
        if nid not in keep:
            keep.add(nid)
            stack.extend(graph.inputs_of(nid))
    probe = graph.copy()
    for nid in [n.id for n in graph.nodes if n.id not in keep]:
        probe.remove_node(nid)
    for nid in keep:
        if probe.node(nid).type != "Input":
            probe.set_trainable(nid, False)
    shape = analysis.nodes[node_id].shape
    last = node_id
    heads = [graph.node(h) for h in _heads(graph)]
    units = int(heads[0].params.get("units", heads[0].params.get("filters", 10))) if heads \
        else 10
    taken = set(probe.node_ids)

    def fresh(name: str) -> str:
        candidate, i = name, 1
        while candidate in taken:
            i += 1
            candidate = f"{name}{i}"
        taken.add(candidate)
        return candidate

    if isinstance(shape, (list, tuple)) and len(shape) > 1:
        pooling = fresh(f"{node_id}_probe_pool")
        probe.add_node(Node(pooling, "GlobalAveragePooling2D" if pool == "avg" and len(shape) == 3
                            else "Flatten", {}))
        probe.add_edge(last, pooling)
        last = pooling
    head = fresh("probe")
    probe.add_node(Node(head, "Dense", {"units": units, "activation": "softmax"}))
    probe.add_edge(last, head)
    probe.set_meta(name=f"{graph.name} linear probe on {node_id}")
    return probe


def _heads(graph: Graph) -> list[str]:
    from playground.core.retarget import find_heads

    return find_heads(graph)

