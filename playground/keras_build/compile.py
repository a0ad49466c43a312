"""Graph -> ``keras.Model`` (functional API).

Layer names are node ids (composites: ``<id>_<part>``), so weights, freezing and summaries map back
to nodes. The graph is checked first with the pure checker, and a model whose weights and
activations would not fit in memory is refused before TensorFlow allocates anything.
"""

from __future__ import annotations

import os
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
    """Physical memory available to this process (Linux /proc, else total RAM)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 1024**3


def memory_estimate(analysis: Analysis, batch_size: int = 1) -> int:
    """Bytes to build and run the model: float32 weights plus one batch's activations."""
    return analysis.total_params * 4 + analysis.memory_bytes * batch_size


def check_fits(analysis: Analysis, batch_size: int = 1, limit: int | None = None) -> None:
    limit = available_memory_bytes() if limit is None else limit
    need = memory_estimate(analysis, batch_size)
    if need > limit:
        raise CompileError(
            f"the model needs about {need / 1024**3:.1f} GiB ({analysis.total_params:,} "
            f"parameters, {analysis.memory_bytes / 1024**2:,.0f} MiB of activations per "
            f"sample x {batch_size}) but only {limit / 1024**3:.1f} GiB is available; "
            "shrink the input, the widths or the batch")


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
