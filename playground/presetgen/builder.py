"""A small helper for writing presets as code: add a node and its inputs in one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playground.core.graph import Graph, Node
from playground.presetgen.layout import layered_layout


class GraphBuilder:
    """Accumulates nodes in a ``Graph``; ``add`` returns the id so chains read top to bottom.

    Nodes are added in a topological order (each node after its inputs), which is also the order
    the file lists them in, so a reader of the JSON sees the network from input to output.
    """

    def __init__(self, name: str, description: str) -> None:
        self.graph = Graph(name, description)
        self.rows: dict[str, float] = {}

    def add(self, node_id: str, type_name: str, inputs: str | Sequence[str] = (),
            row: float | None = None, **params: Any) -> str:
        """Add ``node_id`` fed by ``inputs`` (in input order); ``row`` pins its layout row."""
        self.graph.add_node(Node(node_id, type_name, dict(params)))
        for src in ([inputs] if isinstance(inputs, str) else inputs):
            self.graph.add_edge(src, node_id, check_cycle=False)
        if row is not None:
            self.rows[node_id] = row
        return node_id

    def chain(self, start: str, *steps: tuple[str, str, dict[str, Any]],
              row: float | None = None) -> str:
        """Add ``(id, type, params)`` steps one after another from ``start``; returns the last."""
        current = start
        for node_id, type_name, params in steps:
            current = self.add(node_id, type_name, current, row=row, **params)
        return current

    def finish(self, **extra: Any) -> Graph:
        """Lay the graph out and attach the top-level keys (training defaults, citation...)."""
        layered_layout(self.graph, self.rows)
        for key, value in extra.items():
            if value is not None:
                self.graph.extra[key] = value
        return self.graph
