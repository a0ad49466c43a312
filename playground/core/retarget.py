"""Retargeting a graph: a new input shape and a new class count for its classifier head(s).

Shared by the CLI's ``--input-shape``/``--classes``, the editor's dialog and the training bench
(whose dataset decides the class count).
"""

from __future__ import annotations

from playground.blocks import get_spec
from playground.core.errors import PlaygroundError
from playground.core.graph import Graph


def _head_width_param(type_name: str) -> str | None:
    """The param holding a head's width (BlockSpec.head_width_param), None if not a head type."""
    spec = get_spec(type_name)
    return spec.head_width_param if spec is not None else None


def _pass_through(type_name: str) -> bool:
    """Whether a head's width passes this type unchanged (BlockSpec.pass_through)."""
    spec = get_spec(type_name)
    return spec is not None and spec.pass_through


class RetargetError(PlaygroundError):
    pass


def parse_shape(text: str) -> list[int]:
    """``"32,32,3"`` (or ``32x32x3``) -> [32, 32, 3]; a clear error otherwise."""
    parts = text.replace("x", ",").replace(" ", "").split(",")
    try:
        shape = [int(p) for p in parts if p != ""]
    except ValueError:
        raise RetargetError(f"--input-shape {text!r}: expected H,W,C with whole numbers, "
                            "e.g. 32,32,3") from None
    if not shape or any(d <= 0 for d in shape):
        raise RetargetError(f"--input-shape {text!r}: sizes must be positive, e.g. 32,32,3")
    return shape


def set_input_shape(graph: Graph, shape: list[int]) -> str:
    inputs = [n for n in graph.nodes if n.type == "Input"]
    if len(inputs) != 1:
        raise RetargetError(f"cannot set the input shape: the graph has {len(inputs)} Input "
                            "nodes (expected exactly one)")
    graph.set_param(inputs[0].id, "shape", list(shape))
    return inputs[0].id


def find_heads(graph: Graph) -> list[str]:
    """Ids of the Dense/Conv2D nodes whose width is the class count of each model output.

    In a classifier (some output is a vector), an output that is not a vector is not a head: a
    conv left dangling must never be "retargeted" to the class count. A graph whose only
    outputs are images (U-Net) keeps its per-pixel heads.
    """
    from playground.core.loss_outputs import non_vector_outputs
    from playground.core.shapes import analyze

    sinks = graph.sinks()
    analysis = analyze(graph)
    shapes = {s: analysis.nodes[s].shape if s in analysis.nodes else None for s in sinks}
    not_heads = set(non_vector_outputs(shapes))
    heads: list[str] = []
    for sink in sinks:
        if sink in not_heads:
            continue
        current = sink
        while True:
            node = graph.node(current)
            if _head_width_param(node.type) is not None:
                heads.append(current)
                break
            sources = graph.inputs_of(current)
            if not _pass_through(node.type) or len(sources) != 1:
                break
            current = sources[0]
    return list(dict.fromkeys(heads))


def set_classes(graph: Graph, classes: int) -> list[str]:
    """Set the width of every classifier head to ``classes``; returns the heads changed."""
    if classes < 1:
        raise RetargetError(f"--classes must be at least 1, not {classes}")
    heads = find_heads(graph)
    if not heads:
        raise RetargetError("cannot find a classifier head: no model output ends in a Dense "
                            "(or a 1x1 Conv2D) layer")
    for head in heads:
        node = graph.node(head)
        key = _head_width_param(node.type)
        assert key is not None  # find_heads returns head types only
        old = node.params.get(key)
        graph.set_param(head, key, classes)
        # A Reshape after a conv head (MobileNet's conv_preds) carries the count too.
        for succ in _downstream_chain(graph, head):
            target = graph.node(succ).params.get("target_shape")
            if graph.node(succ).type == "Reshape" and isinstance(target, list) and old in target:
                graph.set_param(succ, "target_shape", [classes if d == old else d
                                                       for d in target])
    return heads


def _downstream_chain(graph: Graph, start: str) -> list[str]:
    chain, current = [], start
    while True:
        outs = graph.outputs_of(current)
        if len(outs) != 1 or not _pass_through(graph.node(outs[0]).type):
            return chain
        current = outs[0]
        chain.append(current)
