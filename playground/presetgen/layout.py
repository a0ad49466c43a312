"""A left-to-right layered layout, so a preset opens readable on the canvas.

Columns are longest-path layers from the inputs (every edge points right). Inside a column nodes
keep the height of their inputs (the barycenter), pushed down only as far as needed to avoid an
overlap: a plain chain stays on one line and side branches (auxiliary classifiers, shortcuts) hang
below it. A preset may pin rows (U-Net's levels) to draw its characteristic shape.
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
            if nid in rows:
                target = rows[nid] * ROW_HEIGHT
            else:
                sources = graph.inputs_of(nid)
                target = (sum(y[s] for s in sources) / len(sources)) if sources else 0.0
            wanted.append((target, index, nid))
        wanted.sort()
        previous = None
        for target, _, nid in wanted:
            place = target if previous is None else max(target, previous + ROW_HEIGHT)
            y[nid] = place
            previous = place
    for nid in order:
        graph.set_pos(nid, (layer[nid] * COLUMN_WIDTH, y[nid]))
