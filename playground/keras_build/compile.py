"""Graph -> ``keras.Model`` (functional API).

Layer names are node ids (composites: ``<id>_<part>``), so weights, freezing and summaries map back
to nodes. The graph is checked first with the pure checker, and a model whose weights and
activations would not fit in memory is refused before TensorFlow allocates anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import keras

from playground.blocks import get_spec
from playground.core.errors import PlaygroundError
from playground.core.graph import Graph
from playground.core.shapes import Analysis, analyze
from playground.keras_build import layers as custom_layers

CUSTOM = SimpleNamespace(
    LocalResponseNormalization=custom_layers.LocalResponseNormalization,
    ZeroPadChannels=custom_layers.ZeroPadChannels,
    LayerScale=custom_layers.LayerScale,
    ScaledAdd=custom_layers.ScaledAdd,
    ChannelShuffle=custom_layers.ChannelShuffle,
)


class CompileError(PlaygroundError):
    """The graph cannot become a Keras model; ``problems`` are the checker's errors."""

    def __init__(self, message: str, problems: list[Any] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


class _Context:
    """Handed to each block's builder: creates names, records the layers it makes."""

    def __init__(self, node_id: str) -> None:
        self.L = keras.layers
        self.custom = CUSTOM
        self.node_id = node_id
        self.created: list[Any] = []

    def name(self, part: str | None = None) -> str:
        return self.node_id if part is None else f"{self.node_id}_{part}"

    def add(self, layer: Any) -> Any:
        self.created.append(layer)
        return layer

    def input(self, shape: list[int]) -> Any:
        tensor = keras.Input(shape=tuple(shape), name=self.node_id)
        self.created.append(tensor._keras_history.operation)
        return tensor


@dataclass
class Built:
    model: Any
    analysis: Analysis
    layers_by_node: dict[str, list[Any]] = field(default_factory=dict)
    tensors: dict[str, Any] = field(default_factory=dict)   # node id -> its output tensor


def available_memory_bytes() -> int:
    """Physical memory available to this process: the least of the system's available memory
    (Linux /proc) and what its cgroup limit still allows (containers, systemd slices, CI)."""
    return memory_limit()[0]


def memory_limit() -> tuple[int, str]:
    """(bytes available, where that figure comes from) for :func:`check_fits`'s message."""
    from playground.keras_build.memlimit import cgroup_available, system_available

    best = system_available()
    group = cgroup_available()
    if group is not None and group[0] < best[0]:
        return group
    return best


# Optimizer state per trainable weight (Keras 3): Adam/AdamW keep two moments, SGD with
# momentum one velocity, RMSprop one average (two with momentum).
def optimizer_slots(optimizer: str | None, momentum: float = 0.0) -> int:
    if optimizer in ("adam", "adamw"):
        return 2
    if optimizer == "rmsprop":
        return 2 if 0 < momentum < 1 else 1
    if optimizer == "sgd":
        return 1 if momentum else 0
    return 0


@dataclass
class MemoryEstimate:
    """Bytes, by what holds them. Training adds gradients (one float per trainable weight),
    the optimizer's slots, and the gradients of the activations during the backward pass (the
    forward activations are all kept for it: ``activations``)."""

    weights: int
    activations: int
    gradients: int = 0
    optimizer: int = 0
    backward: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.activations + self.gradients + self.optimizer + self.backward


def estimate_parts(analysis: Analysis, batch_size: int = 1, *, training: bool = False,
                   optimizer: str | None = None, momentum: float = 0.0) -> MemoryEstimate:
    est = MemoryEstimate(weights=analysis.total_params * 4,
                         activations=analysis.memory_bytes * batch_size)
    if training:
        trainable = analysis.trainable_params * 4
        est.gradients = trainable
        est.optimizer = trainable * optimizer_slots(optimizer, momentum)
        # The backward pass holds the gradient of a layer's output and of its input at once.
        largest = max((r.memory_bytes for r in analysis.nodes.values()), default=0)
        est.backward = 2 * largest * batch_size
    return est


def memory_estimate(analysis: Analysis, batch_size: int = 1, *, training: bool = False,
                    optimizer: str | None = None, momentum: float = 0.0) -> int:
    """Bytes to build and run the model: float32 weights plus one batch's activations; with
    ``training``, also gradients, optimizer slots and the backward pass's buffers."""
    return estimate_parts(analysis, batch_size, training=training, optimizer=optimizer,
                          momentum=momentum).total


def check_fits(analysis: Analysis, batch_size: int = 1, limit: int | None = None, *,
               training: bool = False, optimizer: str | None = None,
               momentum: float = 0.0) -> None:
    """Refuse, with the estimate and the limit, a model that would not fit in memory (before
    TensorFlow allocates anything: past the limit the kernel kills the process silently)."""
    source = ""
    if limit is None:
        limit, source = memory_limit()
    parts = estimate_parts(analysis, batch_size, training=training, optimizer=optimizer,
                           momentum=momentum)
    need = parts.total
    if need > limit:
        detail = (f"{analysis.total_params:,} parameters, "
                  f"{analysis.memory_bytes / 1024**2:,.0f} MiB of activations per sample x "
                  f"{batch_size})")
        if training:
            detail = (f"{detail[:-1]}; to train: weights {_size(parts.weights)}, gradients "
                      f"{_size(parts.gradients)}, optimizer state {_size(parts.optimizer)}, "
                      f"activations kept for backprop {_size(parts.activations)}, backward "
                      f"pass {_size(parts.backward)})")
        where = f" (the limit: {source})" if source.startswith("cgroup") else ""
        raise CompileError(
            f"the model needs about {need / 1024**3:.1f} GiB"
            f"{' to train' if training else ''} ({detail} but only "
            f"{limit / 1024**3:.1f} GiB is available; shrink the input, the widths or the "
            f"batch{where}")


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def model_name(graph: Graph) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", graph.name).strip("_")
    return name or "model"


def build(graph: Graph, analysis: Analysis | None = None, memory_limit: int | None = None
          ) -> Built:
    analysis = analysis or analyze(graph)
    if not analysis.valid:
        lines = "\n".join(str(p) for p in analysis.errors[:10])
        raise CompileError(f"the graph has {len(analysis.errors)} error(s):\n{lines}",
                           analysis.errors)
    check_fits(analysis, limit=memory_limit)
    tensors: dict[str, Any] = {}
    layers_by_node: dict[str, list[Any]] = {}
    for nid in analysis.order:
        node = graph.node(nid)
        spec = get_spec(node.type)
        assert spec is not None
        ctx = _Context(nid)
        values = analysis.nodes[nid].values
        tensors[nid] = spec.build(ctx, values, [tensors[s] for s in graph.inputs_of(nid)])
        if not node.trainable:  # layers start trainable; the setter walks the layer, skip it
            for layer in ctx.created:
                layer.trainable = False
        layers_by_node[nid] = ctx.created
    ins = [tensors[i] for i in analysis.inputs]
    outs = [tensors[o] for o in analysis.outputs]
    model = keras.Model(inputs=ins[0] if len(ins) == 1 else ins,
                        outputs=outs[0] if len(outs) == 1 else outs, name=model_name(graph))
    return Built(model, analysis, layers_by_node, tensors)


def build_model(graph: Graph, memory_limit: int | None = None) -> Any:
    """The Keras model of a graph; raises ``CompileError`` naming the problems."""
    return build(graph, memory_limit=memory_limit).model
