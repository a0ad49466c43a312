"""Expand a composite block (InceptionModule, ResidualBlock) into its primitive layers.

Why: a learner sees what a module is made of and can then edit one branch. The expanded nodes get
exactly the ids of the composite's Keras inner layers (``<id>_<part>``), so a model trained before
the expansion loads its weights by name into the expanded one, and parameter counts, MACs and
output shapes stay the same (the tests check both against the checker and against Keras).

A ResidualBlock's "zero_pad" shortcut (option A) becomes the same two layers the composite builds:
``<id>_0_pool`` (a 1x1 ``MaxPooling2D`` of the block's stride, "same" padding; only when the stride
is above 1) and ``<id>_0_pad`` (the catalogue's ``ZeroPadChannels``, which appends zero channels),
neither with weights.
"""

from __future__ import annotations

from playground.blocks import get_spec
from playground.blocks.composite import INPUT, Plan
from playground.core.commands import (
    AddEdge,
    AddNode,
    Command,
    Compound,
    MoveNodes,
    RemoveEdge,
    RemoveNodes,
    _AddEdgeWhere,
)
from playground.core.errors import GraphEditError
from playground.core.graph import Graph, Node
from playground.core.shapes import Analysis, analyze


def _plan(graph: Graph, node_id: str, analysis: Analysis | None) -> tuple[Plan, str]:
    """The expansion plan and the composite's input id, or ``GraphEditError`` saying why not."""
    node = graph.node(node_id)
    spec = get_spec(node.type)
    if spec is None or spec.plan is None:
        raise GraphEditError(f"node {node_id}: a {node.type} is not a composite block")
    sources = graph.inputs_of(node_id)
    if len(sources) != 1:
        raise GraphEditError(f"node {node_id}: connect exactly one input before expanding it "
                             f"({len(sources)} connected)")
    analysis = analysis or analyze(graph)
    report = analysis.nodes.get(node_id)
    in_report = analysis.nodes.get(sources[0])
    if report is None or in_report is None or report.has_error or report.shape is None \
            or in_report.shape is None:
        raise GraphEditError(f"node {node_id}: fix its errors (or the ones upstream) before "
                             "expanding it")
    plan = spec.plan(report.values, in_report.shape)
    taken = [f"{node_id}_{n.part}" for n in plan.nodes if f"{node_id}_{n.part}" in graph]
    if taken:
        raise GraphEditError(f"node {node_id}: cannot expand, the id '{taken[0]}' of an inner "
                             "layer is already used by another node; rename that node")
    for n in plan.nodes:
        if len(f"{node_id}_{n.part}") > 255:
            raise GraphEditError(f"node {node_id}: the id is too long to name inner layers")
    return plan, sources[0]


def expand_blocker(graph: Graph, node_id: str, analysis: Analysis | None = None) -> str | None:
    """Why ``node_id`` cannot be expanded (a message for the user), or None if it can."""
    try:
        _plan(graph, node_id, analysis)
    except GraphEditError as exc:
        return str(exc)
    return None


def can_expand(graph: Graph, node_id: str, analysis: Analysis | None = None) -> bool:
    """True for a composite node that can be replaced by primitive layers right now."""
    return node_id in graph and expand_blocker(graph, node_id, analysis) is None


def _inner_positions(plan: Plan, center: tuple[float, float]) -> dict[str, tuple[float, float]]:
    """Columns by depth from the input, rows by branch, centred on the old node's place."""
    from playground.core.layout import NODE_SIZE, auto_layout

    sub = Graph()
    sub.add_node(Node(INPUT.strip("<>"), "Input"))
    for n in plan.nodes:
        sub.add_node(Node(n.part, n.type))
    for src, dst in plan.edges:
        sub.add_edge(src if src != INPUT else INPUT.strip("<>"), dst, check_cycle=False)
    # The editor's left-to-right spacing: room for the ports and each edge's shape label.
    pos = auto_layout(sub, "LR", (NODE_SIZE[0] + 110.0, NODE_SIZE[1] + 36.0))
    del pos[INPUT.strip("<>")]
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    # Starts where the composite started (its row's left part stays put) and is centred on
    # its row; _make_room moves the neighbours out of the way.
    left, cy = min(xs), (min(ys) + max(ys)) / 2.0
    return {part: (x - left + center[0], y - cy + center[1]) for part, (x, y) in pos.items()}


def _make_room(graph: Graph, node_id: str, places: dict[str, tuple[float, float]]
               ) -> dict[str, tuple[tuple[float, float] | None, tuple[float, float] | None]]:
    """Moves that clear the expanded region: it is larger than the composite's box, so the
    nodes beside it in its row step aside left/right, and the rows above/below step up/down by
    as much as the region grew that way. Relative places are kept (rows stay rows)."""
    from playground.core.layout import NODE_SIZE

    node = graph.node(node_id)
    if node.pos is None or not places:
        return {}
    w, h = NODE_SIZE
    ox, oy = node.pos
    xs = [p[0] for p in places.values()]
    ys = [p[1] for p in places.values()]
    grow = {"left": max(0.0, ox - min(xs)), "right": max(0.0, max(xs) - ox),
            "up": max(0.0, oy - min(ys)), "down": max(0.0, max(ys) - oy)}
    moves = {}
    for other in graph.nodes:
        if other.id == node_id or other.pos is None:
            continue
        x, y = other.pos
        dx = dy = 0.0
        if y < oy + h and y + h > oy:         # in the composite's row: beside it
            dx = grow["right"] if x + w / 2 >= ox + w / 2 else -grow["left"]
        elif y + h / 2 > oy + h / 2:          # a row below
            dy = grow["down"]
        else:                                 # a row above
            dy = -grow["up"]
        if dx or dy:
            moves[other.id] = ((x, y), (x + dx, y + dy))
    return moves


def expand_command(graph: Graph, node_id: str, analysis: Analysis | None = None) -> Compound:
    """One undoable step replacing the composite by its primitive layers.

    The input feeds the first layer of each branch; the node's outgoing edges leave the last
    layer (``<id>_concat`` / ``<id>_out``) at their old places in the edge list, so the inputs of
    downstream merges keep their order. The new nodes take the composite's place in the node list
    and its ``trainable`` flag. Raises ``GraphEditError`` when it cannot be expanded.
    """
    plan, source = _plan(graph, node_id, analysis)
    node = graph.node(node_id)
    index = graph.node_index(node_id)
    name = {n.part: f"{node_id}_{n.part}" for n in plan.nodes}
    name[INPUT] = source
    places = _inner_positions(plan, node.pos if node.pos is not None else (0.0, 0.0))
    commands: list[Command] = []
    for k, n in enumerate(plan.nodes):
        commands.append(AddNode(Node(name[n.part], n.type, dict(n.params), node.trainable,
                                     places[n.part] if node.pos is not None else None),
                                index=index + k))
    for src, dst in plan.edges:
        commands.append(AddEdge(name[src], name[dst]))
    last = name[plan.output]
    for dst in graph.outputs_of(node_id):
        remove = RemoveEdge(node_id, dst)
        commands += [remove, _AddEdgeWhere(last, dst, remove)]
    commands.append(RemoveNodes([node_id]))
    room = _make_room(graph, node_id, places)   # the neighbours step aside for the region
    if room:
        commands.append(MoveNodes(room))
    return Compound(f"Expand {node_id}", commands)
