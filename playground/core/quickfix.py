"""Quick fixes for the checker's problems: each one a single undoable command.

The checker (``core.shapes``) tags problems it knows a remedy for with ``Problem.fix``; this module
turns a tag into commands against the current graph. Every fix is checked to make sense for the
graph as it is now (shapes, arity), so the editor can offer exactly the fixes that will work.
Codes: ``padding_same``, ``insert_flatten`` (also offers global pooling), ``softmax_head`` (a
classifier head without softmax), ``classifier_head`` (features that end the graph),
``insert_projection``
(also used for element-wise merges whose inputs differ in size by an integer factor, which the
checker reports without a code).
"""

from __future__ import annotations

from playground.blocks import get_spec
from playground.core.commands import (
    AddEdge,
    AddNode,
    Command,
    Compound,
    SetParam,
    fresh_id,
    insert_between,
)
from playground.core.graph import Graph, Node
from playground.core.shapes import Analysis, Problem, analyze


def _declares(type_name: str, fact: str) -> bool:
    """Whether the block type declares ``fact`` on its BlockSpec (unknown types: no)."""
    spec = get_spec(type_name)
    return spec is not None and bool(getattr(spec, fact))


def available_fixes(graph: Graph, problem: Problem, analysis: Analysis | None = None
                    ) -> list[tuple[str, Command]]:
    """(menu label, command) for each fix that applies to ``problem`` in ``graph`` now."""
    node_id = problem.node
    if node_id is None or node_id not in graph:
        return []
    node = graph.node(node_id)
    if problem.fix == "padding_same":
        if _declares(node.type, "padding_fix") and node.params.get("padding") != "same":
            cmd = SetParam(node_id, "padding", "same")
            cmd.text = f"Set padding of {node_id} to \"same\""
            return [("Use padding \"same\"", cmd)]
        return []
    if problem.fix == "insert_flatten":
        return _head_fixes(graph, node_id, analysis)
    if problem.fix == "softmax_head":
        spec = get_spec(node.type)
        if spec is not None and "activation" in spec.param_names \
                and node.params.get("activation") != "softmax":
            cmd = SetParam(node_id, "activation", "softmax")
            cmd.text = f"Set activation of {node_id} to softmax"
            return [("Use activation softmax", cmd)]
        return []
    if problem.fix == "classifier_head":
        return _classifier_head_fix(graph, node_id)
    if problem.fix == "insert_projection" or (problem.fix is None
                                              and _declares(node.type, "elementwise")):
        cmd = _projection_fix(graph, node_id, analysis)
        return [(cmd.text, cmd)] if cmd is not None else []
    return []


def fix_for(graph: Graph, problem: Problem, analysis: Analysis | None = None) -> Command | None:
    """The preferred fix of ``problem`` (the first of ``available_fixes``), or None."""
    fixes = available_fixes(graph, problem, analysis)
    return fixes[0][1] if fixes else None


def _head_fixes(graph: Graph, dense: str, analysis: Analysis | None
                ) -> list[tuple[str, Command]]:
    sources = graph.inputs_of(dense)
    if len(sources) != 1:
        return []
    (src,) = sources
    analysis = analysis or analyze(graph)
    shape = analysis.nodes[src].shape if src in analysis.nodes else None
    if shape is not None and len(shape) < 2:
        return []  # already flat: nothing to insert
    fixes: list[tuple[str, Command]] = []
    for type_name, base in (("Flatten", "flatten"), ("GlobalAveragePooling2D", "gap")):
        if type_name != "Flatten" and shape is not None and len(shape) != 3:
            continue  # global pooling needs H x W x C
        node = Node(fresh_id(graph, base), type_name)
        cmd = insert_between(graph, src, dense, node,
                             text=f"Insert {type_name} before {dense}")
        fixes.append((f"Insert {type_name}", cmd))
    return fixes


def _classifier_head_fix(graph: Graph, features: str) -> list[tuple[str, Command]]:
    """A softmax Dense after a vector of features that ends the graph (its width follows the
    dataset's class count when the run starts, like any head's)."""
    if graph.outputs_of(features):
        return []
    pos = graph.node(features).pos
    node = Node(fresh_id(graph, "predictions"), "Dense",
                {"units": 10, "activation": "softmax"},
                pos=None if pos is None else (pos[0] + 260.0, pos[1]))
    return [("Add a Dense softmax head", Compound(f"Add a classifier head after {features}",
                                                  [AddNode(node), AddEdge(features, node.id)]))]


def _projection_fix(graph: Graph, merge: str, analysis: Analysis | None) -> Compound | None:
    """1x1 projections on the inputs of an element-wise merge so every input has the widest
    channel count and the smallest spatial size (a stride where a size is an integer multiple).
    Vectors (rank 1) get a Dense instead."""
    sources = graph.inputs_of(merge)
    if len(sources) < 2 or len(set(sources)) != len(sources):
        return None
    analysis = analysis or analyze(graph)
    shapes = [analysis.nodes[s].shape if s in analysis.nodes else None for s in sources]
    if any(s is None for s in shapes):
        return None
    rank = len(shapes[0])  # type: ignore[arg-type]
    if any(len(s) != rank for s in shapes) or rank not in (1, 3):  # type: ignore[arg-type]
        return None
    channels = max(s[-1] for s in shapes)  # type: ignore[index]
    strides: list[int | list[int]] = []
    if rank == 3:
        h = min(s[0] for s in shapes)  # type: ignore[index]
        w = min(s[1] for s in shapes)  # type: ignore[index]
        for s in shapes:
            fh, fw = _stride_to(s[0], h), _stride_to(s[1], w)  # type: ignore[index]
            if fh is None or fw is None:
                return None  # not reachable by one strided 1x1 convolution
            strides.append(fh if fh == fw else [fh, fw])
        target = (h, w, channels)
    else:
        strides = [1] * len(shapes)
        target = (channels,)
    steps = []
    taken: set[str] = set()
    for src, shape, stride in zip(sources, shapes, strides, strict=True):
        if shape == target:
            continue
        if rank == 3:
            params: dict = {"filters": channels, "kernel_size": 1}
            if stride != 1:
                params["strides"] = stride
            node = Node(fresh_id(graph, f"{src}_proj", taken), "Conv2D", params)
        else:
            node = Node(fresh_id(graph, f"{src}_proj", taken), "Dense", {"units": channels})
        steps.append(insert_between(graph, src, merge, node))
    if not steps:
        return None
    what = "1x1 Conv2D" if rank == 3 else "Dense"
    text = (f"Insert a {what} projection before {merge}" if len(steps) == 1
            else f"Insert {len(steps)} {what} projections before {merge}")
    return Compound(text, steps)


def _stride_to(size: int, target: int) -> int | None:
    """The smallest stride taking ``size`` to ``target`` with a 1x1 window (ceil(size / s), the
    rule of both paddings for a 1x1 kernel), or None; e.g. 16 -> 8: 2, 7 -> 4: 2, 9 -> 4: None."""
    if target <= 0:
        return None
    base = max(1, size // target)
    for stride in (base - 1, base, base + 1):
        if stride >= 1 and -(-size // stride) == target:
            return stride
    return None
