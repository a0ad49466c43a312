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
    def __init__(self, built: Any, probe_x: np.ndarray, probe_y: np.ndarray) -> None:
        import keras

        self.model = built.model
        self.probe_x = probe_x
        self.probe_y = probe_y
        self.nodes: dict[str, list[Any]] = {}
        self.relu_layers: dict[str, list[Any]] = {}
        var_owner: dict[int, str] = {}
        for nid, layers in built.layers_by_node.items():
            variables = []
            for layer in layers:
                for v in getattr(layer, "trainable_weights", []) or []:
                    variables.append(v)
                    var_owner[id(v)] = nid
                for v in getattr(layer, "non_trainable_weights", []) or []:
                    if "moving" not in v.path:
                        variables.append(v)
                        var_owner[id(v)] = nid
            self.nodes[nid] = variables
            relus = [layer for layer in layers if _is_relu(layer)]
            if relus:
                self.relu_layers[nid] = relus
        self.var_owner = var_owner
        self.previous = self._snapshot()
        outputs = [layer.output for relus in self.relu_layers.values() for layer in relus]
        inputs = self.model.inputs
        # The same input structure as the model (a single tensor, not a list of one).
        inputs = inputs[0] if len(inputs) == 1 else inputs
        self.probe_model = keras.Model(inputs, outputs) if outputs else None
        # Compiled once (the first epoch pays the tracing); eager calls cost more than an
        # epoch of a small model.
        self._grad_fn = None
        self._probe_fn = None
        import tensorflow as tf

        self.probe_x = tf.constant(probe_x)
        self.probe_y = tf.constant(probe_y)

    def _make_grad_fn(self, trainable: list[Any]):
        import keras
        import tensorflow as tf

        model = self.model
        loss_fn = keras.losses.SparseCategoricalCrossentropy()

        @tf.function
        def squared_grad_norms(x, y):
            with tf.GradientTape() as tape:
                out = model(x, training=False)
                outs = out if isinstance(out, (list, tuple)) else [out]
                loss = tf.add_n([tf.cast(loss_fn(y, o), tf.float32) for o in outs])
            grads = tape.gradient(loss, trainable)
            return tf.stack([tf.reduce_sum(tf.square(tf.cast(g, tf.float32)))
                             if g is not None else tf.constant(0.0) for g in grads])

        return squared_grad_norms

    def _snapshot(self) -> dict[str, list[np.ndarray]]:
        return {nid: [np.array(v.numpy(), dtype=np.float32) for v in vs]
                for nid, vs in self.nodes.items()}

    def compute(self) -> dict[str, dict[str, float]]:
        import tensorflow as tf

        current = self._snapshot()
        result: dict[str, dict[str, float]] = {}
        for nid, arrays in current.items():
            before = self.previous.get(nid, [])
            delta = math.sqrt(sum(float(np.sum((a - b) ** 2))
                                  for a, b in zip(arrays, before, strict=False)))
            norm = math.sqrt(sum(float(np.sum(b ** 2)) for b in before))
            result[nid] = {"grad_norm": 0.0,
                           "weight_change": delta / norm if norm > 0 else delta,
                           "dead_relu": float("nan")}
        self.previous = current
        trainable = self.model.trainable_variables
        if trainable:
            if self._grad_fn is None:
                self._grad_fn = self._make_grad_fn(trainable)
            squares = self._grad_fn(self.probe_x, self.probe_y).numpy()
            sums: dict[str, float] = {}
            for v, sq in zip(trainable, squares, strict=True):
                nid = self.var_owner.get(id(v))
                if nid is not None:
                    sums[nid] = sums.get(nid, 0.0) + float(sq)
            for nid, total in sums.items():
                result[nid]["grad_norm"] = math.sqrt(total)
        if self.probe_model is not None:
            if self._probe_fn is None:
                self._probe_fn = tf.function(lambda x: self.probe_model(x, training=False))
            acts = self._probe_fn(self.probe_x)
            acts = acts if isinstance(acts, (list, tuple)) else [acts]
            i = 0
            for nid, relus in self.relu_layers.items():
                dead = total = 0
                for _ in relus:
                    a = np.asarray(acts[i], dtype=np.float32)
                    i += 1
                    units = a.reshape(a.shape[0], -1, a.shape[-1]) if a.ndim > 2 else a[:, None, :]
                    # A unit (channel) is dead when it is zero for every probe sample and place.
                    alive = (units > 0).any(axis=(0, 1))
                    dead += int((~alive).sum())
                    total += alive.size
                result[nid]["dead_relu"] = dead / total if total else float("nan")
        return result
