"""Per-node telemetry after each epoch: gradient norm, relative weight change, dead ReLU share.

Keyed by node id so the editor can draw it on the canvas; a composite node aggregates its inner
layers (``Built.layers_by_node``). Computed on a small fixed probe batch, so it costs one extra
forward/backward pass per epoch, not per batch. ``dead_relu`` is NaN for nodes without a ReLU
(not applicable), ``grad_norm``/``weight_change`` are 0.0 for nodes without weights.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _is_relu(layer: Any) -> bool:
    import keras

    name = type(layer).__name__
    if name == "ReLU":
        return True
    act = getattr(layer, "activation", None)
    if act is None:
        return False
    return act is keras.activations.relu or getattr(act, "__name__", "") == "relu"


class Telemetry:
    """One compiled function per run measures everything on the probe batch.

    Previous weights live in TensorFlow variables and the norms are computed in the graph, so an
    epoch's telemetry is one function call returning a few small vectors (about 3 ms for LeNet-5
    on a CPU), not a numpy copy of every weight.
    """

    def __init__(self, built: Any, probe_x: np.ndarray, probe_y: np.ndarray) -> None:
        import keras
        import tensorflow as tf

        self.model = built.model
        self.nodes: dict[str, list[Any]] = {}
        self.relu_layers: dict[str, list[Any]] = {}
        for nid, layers in built.layers_by_node.items():
            variables = []
            for layer in layers:
                variables += list(getattr(layer, "trainable_weights", []) or [])
                variables += [v for v in getattr(layer, "non_trainable_weights", []) or []
                              if "moving" not in v.path]
            self.nodes[nid] = variables
            relus = [layer for layer in layers if _is_relu(layer)]
            if relus:
                self.relu_layers[nid] = relus
        self.flat = [(nid, v) for nid, vs in self.nodes.items() for v in vs]
        owner = {id(v): nid for nid, v in self.flat}
        self.trainable = list(self.model.trainable_variables)
        self.trainable_owner = [owner.get(id(v)) for v in self.trainable]
        self.previous = [tf.Variable(tf.cast(v.value, tf.float32), trainable=False)
                         for _, v in self.flat]
        outputs = [layer.output for relus in self.relu_layers.values() for layer in relus]
        inputs = self.model.inputs
        # The same input structure as the model (a single tensor, not a list of one).
        inputs = inputs[0] if len(inputs) == 1 else inputs
        self.probe_model = keras.Model(inputs, outputs) if outputs else None
        self.probe_x = tf.constant(probe_x)
        self.probe_y = tf.constant(probe_y)
        self._fn = self._make_fn()

    def _make_fn(self):
        import keras
        import tensorflow as tf

        model, probe, flat, previous = self.model, self.probe_model, self.flat, self.previous
        trainable = self.trainable
        loss_fn = keras.losses.SparseCategoricalCrossentropy()

        def stack(values):
            return tf.stack(values) if values else tf.zeros([0], tf.float32)

        @tf.function
        def measure(x, y):
            grads_sq = []
            if trainable:
                with tf.GradientTape() as tape:
                    out = model(x, training=False)
                    outs = out if isinstance(out, (list, tuple)) else [out]
                    loss = tf.add_n([tf.cast(loss_fn(y, o), tf.float32) for o in outs])
                grads = tape.gradient(loss, trainable)
                grads_sq = [tf.reduce_sum(tf.square(tf.cast(g, tf.float32))) if g is not None
                            else tf.constant(0.0) for g in grads]
            current = [tf.cast(v.value, tf.float32) for _, v in flat]
            delta_sq = [tf.reduce_sum(tf.square(c - p)) for c, p in zip(current, previous,
                                                                          strict=True)]
            prev_sq = [tf.reduce_sum(tf.square(p)) for p in previous]
            for c, p in zip(current, previous, strict=True):
                p.assign(c)
            dead, total = [], []
            if probe is not None:
                acts = probe(x, training=False)
                for a in acts if isinstance(acts, (list, tuple)) else [acts]:
                    axes = list(range(len(a.shape) - 1))
                    # A unit (channel) is dead when it is zero for every probe sample and place.
                    alive = tf.reduce_any(a > 0, axis=axes)
                    dead.append(tf.reduce_sum(tf.cast(tf.logical_not(alive), tf.float32)))
                    total.append(tf.cast(tf.size(alive), tf.float32))
            return stack(grads_sq), stack(delta_sq), stack(prev_sq), stack(dead), stack(total)

        return measure

    def compute(self) -> dict[str, dict[str, float]]:
        grads_sq, delta_sq, prev_sq, dead, total = (t.numpy() for t in
                                                    self._fn(self.probe_x, self.probe_y))
        sums: dict[str, list[float]] = {nid: [0.0, 0.0, 0.0] for nid in self.nodes}
        for (nid, _), d, p in zip(self.flat, delta_sq, prev_sq, strict=True):
            sums[nid][0] += float(d)
            sums[nid][1] += float(p)
        for nid, g in zip(self.trainable_owner, grads_sq, strict=True):
            if nid is not None:
                sums[nid][2] += float(g)
        result: dict[str, dict[str, float]] = {}
        for nid, (d, p, g) in sums.items():
            delta = math.sqrt(d)
            result[nid] = {"grad_norm": math.sqrt(g),
                           "weight_change": delta / math.sqrt(p) if p > 0 else delta,
                           "dead_relu": float("nan")}
        i = 0
        for nid, relus in self.relu_layers.items():
            n_dead = float(sum(dead[i:i + len(relus)]))
            n_total = float(sum(total[i:i + len(relus)]))
            i += len(relus)
            result[nid]["dead_relu"] = n_dead / n_total if n_total else float("nan")
        return result
