"""Wrapped layout: the core's layered left-to-right layout, folded into rows like lines of text.

Why: a CNN is mostly a long chain (ResNet-34 as composites is 25 layers in a row; DenseNet-121
expanded is hundreds of layers). One row of them fitted into a window is a strip of unreadable
specks. Folding the layers into rows whose overall shape matches the window keeps every node
readable after "fit to view". Layers stay whole (a layer's lanes move together) so parallel
branches stay side by side; the edge from the end of one row to the start of the next runs
through the free corridor between the rows (see ``corridors``). Pure Python: no Qt.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from playground.core.graph import Graph

Pos = tuple[float, float]


def wrap_layout(graph: Graph, aspect: float = 1.6, spacing: tuple[float, float] = (254, 116),
                node_size: tuple[float, float] = (180.0, 80.0), row_gap: float = 90.0
                ) -> dict[str, Pos]:
    """Positions for every node: layered left to right, folded into rows so that the bounding
    box's width/height is close to ``aspect``."""
    from playground.core.layout import auto_layout

    pos = auto_layout(graph, "LR", spacing=spacing)
    return fold_rows(pos, aspect, spacing[0], node_size[1], row_gap)


def fold_rows(pos: dict[str, Pos], aspect: float, dx: float, node_h: float,
              row_gap: float) -> dict[str, Pos]:
    if not pos:
        return {}
    min_x = min(p[0] for p in pos.values())
    min_y = min(p[1] for p in pos.values())
    band = max(p[1] for p in pos.values()) - min_y + node_h
    layer = {nid: int(round((p[0] - min_x) / dx)) for nid, p in pos.items()}
    n_layers = max(layer.values()) + 1
    per_row = best_row_length(n_layers, dx, band + row_gap, aspect)
    if per_row >= n_layers:
        return dict(pos)
    return {nid: (min_x + (layer[nid] % per_row) * dx,
                  min_y + (layer[nid] // per_row) * (band + row_gap) + (p[1] - min_y))
            for nid, p in pos.items()}


def best_row_length(n_layers: int, dx: float, row_height: float, aspect: float) -> int:
    """Layers per row whose folded box (width per_row*dx, height rows*row_height) is closest
    in shape to ``aspect`` (compared on a log scale: 2x too wide = 2x too tall)."""
    best, best_score = n_layers, math.inf
    for per_row in range(1, n_layers + 1):
        rows = math.ceil(n_layers / per_row)
        score = abs(math.log((per_row * dx) / (rows * row_height)) - math.log(aspect))
        if score < best_score - 1e-9:
            best, best_score = per_row, score
    return best


def is_degenerate(pos: Iterable[Pos], node_size: tuple[float, float] = (180.0, 80.0),
                  min_nodes: int = 6, max_aspect: float = 5.0) -> bool:
    """A stored layout that is one long strip (wider than ``max_aspect`` : 1 or taller than
    1 : ``max_aspect``) with enough nodes that fitting it to a window makes them unreadable."""
    points = list(pos)
    if len(points) < min_nodes:
        return False
    w = max(p[0] for p in points) - min(p[0] for p in points) + node_size[0]
    h = max(p[1] for p in points) - min(p[1] for p in points) + node_size[1]
    return w / h > max_aspect or h / w > max_aspect


def is_cramped(graph: Graph, node_size: tuple[float, float] = (180.0, 80.0),
               min_gap: float = 60.0) -> bool:
    """A stored layout whose nodes overlap, or whose connected neighbours in one row stand
    closer than ``min_gap`` (their ports touch and the edge's shape label has no room: the
    "Inception: naive vs bottleneck" preset's 20 px gaps)."""
    w, h = node_size
    cells: dict[tuple[int, int], list[Pos]] = {}   # a grid of node-sized cells: near pairs only
    for node in graph.nodes:
        if node.pos is None:
            continue
        x, y = node.pos
        cx, cy = int(math.floor(x / w)), int(math.floor(y / h))
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for ox, oy in cells.get((cx + dx, cy + dy), ()):
                    if abs(x - ox) < w and abs(y - oy) < h:
                        return True
        cells.setdefault((cx, cy), []).append((x, y))
    for edge in graph.edges:
        src, dst = graph.node(edge.src).pos, graph.node(edge.dst).pos
        if src is None or dst is None or abs(src[1] - dst[1]) >= h:
            continue
        if 0 <= dst[0] - (src[0] + w) < min_gap:
            return True
    return False


def corridors(boxes: Iterable[tuple[float, float]], margin: float = 20.0) -> list[float]:
    """Free horizontal corridors between rows of nodes: the y of the middle of every gap left by
    the union of the nodes' vertical extents ``(top, bottom)``. Edges that run backwards (from the
    end of a row to the start of the next) are routed along these, never through nodes. A gap
    narrower than ``2 * margin`` is the space between the parallel lanes of one row (36 px in
    an inception module's branches), not a corridor between rows (90 px)."""
    spans = sorted(boxes)
    result: list[float] = []
    if not spans:
        return result
    bottom = spans[0][1]
    for a, b in spans[1:]:
        if a > bottom + 2 * margin:
            result.append((bottom + a) / 2.0)
            bottom = b
        else:
            bottom = max(bottom, b)
    return result
