"""A left-to-right layered layout, so a preset opens readable on the canvas.

Columns are longest-path layers from the inputs (every edge points right). Inside a column nodes
keep the height of their inputs (the barycenter), pushed down to the next free row where that is
taken: a plain chain stays on one line, a node continuing a chain keeps its lane, and a branch
(auxiliary classifier, parallel module) starts on a free row below. A preset may pin rows (U-Net's
levels, DenseNet's layers below their concatenations) to draw its characteristic shape.
"""

from __future__ import annotations

from playground.core.graph import Graph

COLUMN_WIDTH = 200.0
ROW_HEIGHT = 110.0


def layered_layout(graph: Graph, rows: dict[str, float] | None = None) -> None:
    """Set every node's ``pos``; ``rows`` maps node ids to fixed row numbers."""
    rows = rows or {}
    order = graph.topological_order()
    if order is None:
        raise ValueError("cannot lay out a graph with a cycle")
    layer: dict[str, int] = {}
    for nid in order:
        layer[nid] = max((layer[s] + 1 for s in graph.inputs_of(nid)), default=0)
    columns: dict[int, list[str]] = {}
    for nid in order:
        columns.setdefault(layer[nid], []).append(nid)
    y: dict[str, float] = {}
    for col in sorted(columns):
        wanted = []
        for index, nid in enumerate(columns[col]):
            sources = graph.inputs_of(nid)
            if nid in rows:
                target, rank = rows[nid] * ROW_HEIGHT, 0
            else:
                target = (sum(y[s] for s in sources) / len(sources)) if sources else 0.0
                # A node that continues a chain keeps its lane; one that starts a branch
                # (its input feeds several nodes) takes the next free row below.
                rank = 2 if any(len(graph.outputs_of(s)) > 1 for s in sources) else 1
            wanted.append((rank, target, index, nid))
        taken: list[float] = []
        for _, target, _, nid in sorted(wanted):
            place = target
            while any(abs(place - other) < ROW_HEIGHT for other in taken):
                place += ROW_HEIGHT
            taken.append(place)
            y[nid] = place
    for nid in order:
        graph.set_pos(nid, (layer[nid] * COLUMN_WIDTH, y[nid]))
