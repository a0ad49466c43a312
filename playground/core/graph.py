"""The document model: nodes, ordered edges and change events.

The graph is the single source of truth. The canvas, the inspector and the checker read it; edits go
through its methods (usually via ``commands``), and every mutation emits ``changed`` so views can
redraw. It keeps edges in one ordered list because the order of a node's incoming edges is the order
of its inputs (it matters for ``Concatenate``).
"""

from __future__ import annotations

import copy
import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from playground.core.errors import CycleError, GraphEditError
from playground.core.events import Event

ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    trainable: bool = True
    pos: tuple[float, float] | None = None
    # Keys of the node's JSON object this version does not know; written back unchanged.
    extra: dict[str, Any] = field(default_factory=dict)

    def clone(self, new_id: str | None = None) -> Node:
        return Node(
            id=new_id or self.id,
            type=self.type,
            params=copy.deepcopy(self.params),
            trainable=self.trainable,
            pos=self.pos,
            extra=copy.deepcopy(self.extra),
        )


@dataclass(frozen=True)
class Edge:
    """A connection ``src -> dst``. Two edges are equal (and hash alike) by their ends only, so
    ``Edge(a, b)`` finds the stored edge whatever tool data it carries."""

    src: str
    dst: str
    # Keys of the edge's JSON object other than "from"/"to"; written back unchanged.
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}"


def valid_id(node_id: object) -> bool:
    return isinstance(node_id, str) and bool(ID_PATTERN.match(node_id))


class Graph:
    """Nodes keyed by id (insertion-ordered) and an ordered edge list."""

    def __init__(self, name: str = "Untitled", description: str = "") -> None:
        self.name = name
        self.description = description
        # Unknown top-level keys of the file; kept so a load/save round trip loses nothing.
        self.extra: dict[str, Any] = {}
        self._nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []
        self._inputs: dict[str, list[str]] = {}
        self._outputs: dict[str, list[str]] = {}
        self.changed = Event()
        self.revision = 0

    # ----------------------------------------------------------------- reading
    @property
    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    @property
    def node_ids(self) -> list[str]:
        return list(self._nodes)

    @property
    def edges(self) -> tuple[Edge, ...]:
        return tuple(self._edges)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self._nodes.values()))

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise GraphEditError(f"no node with id '{node_id}'") from None

    def has_edge(self, src: str, dst: str) -> bool:
        return dst in self._outputs.get(src, ())

    def inputs_of(self, node_id: str) -> list[str]:
        """Ids feeding ``node_id``, in the order their edges appear (= the layer's input order)."""
        return list(self._inputs.get(node_id, ()))

    def outputs_of(self, node_id: str) -> list[str]:
        return list(self._outputs.get(node_id, ()))

    def edge_index(self, src: str, dst: str) -> int:
        return self._edges.index(Edge(src, dst))

    def edge(self, src: str, dst: str) -> Edge:
        """The stored edge ``src -> dst`` (with its ``extra`` keys)."""
        try:
            return self._edges[self.edge_index(src, dst)]
        except ValueError:
            raise GraphEditError(f"edge {src} -> {dst} does not exist") from None

    def sinks(self) -> list[str]:
        """Nodes without outgoing edges: the model's outputs."""
        return [nid for nid in self._nodes if not self._outputs.get(nid)]

    def unique_id(self, base: str) -> str:
        """A fresh id derived from ``base`` (``conv2d`` -> ``conv2d_1``, ``conv2d_2``...)."""
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", base) or "node"
        if stem not in self._nodes:
            return stem
        match = re.match(r"^(.*?)_(\d+)$", stem)
        root, n = (match.group(1), int(match.group(2))) if match else (stem, 0)
        while True:
            n += 1
            candidate = f"{root}_{n}"
            if candidate not in self._nodes:
                return candidate

    def path_exists(self, src: str, dst: str) -> list[str] | None:
        """A directed path src -> ... -> dst as a list of ids, or None."""
        if src == dst:
            return [src]
        parent: dict[str, str] = {src: src}
        stack = [src]
        while stack:
            current = stack.pop()
            for nxt in self._outputs.get(current, ()):
                if nxt in parent:
                    continue
                parent[nxt] = current
                if nxt == dst:
                    path = [dst]
                    while path[-1] != src:
                        path.append(parent[path[-1]])
                    return path[::-1]
                stack.append(nxt)
        return None

    def topological_order(self) -> list[str] | None:
        """Kahn's order, taking the earliest-inserted ready node first (so summaries follow the
        file's order where the edges allow); None when there is a cycle."""
        rank = {nid: i for i, nid in enumerate(self._nodes)}
        indegree = {nid: len(self._inputs.get(nid, ())) for nid in self._nodes}
        ready = [rank[nid] for nid, d in indegree.items() if d == 0]  # already a heap: sorted
        ids = list(self._nodes)
        order: list[str] = []
        while ready:
            nid = ids[heapq.heappop(ready)]
            order.append(nid)
            for nxt in self._outputs.get(nid, ()):
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    heapq.heappush(ready, rank[nxt])
        return order if len(order) == len(self._nodes) else None

    def to_networkx(self):  # -> networkx.DiGraph (imported lazily: start-up cost)
        import networkx as nx

        g = nx.DiGraph()
        for n in self._nodes.values():
            g.add_node(n.id, type=n.type)
        g.add_edges_from((e.src, e.dst) for e in self._edges)
        return g

    # ---------------------------------------------------------------- mutating
    def _touch(self, kind: str, **details: Any) -> None:
        self.revision += 1
        self.changed.emit(kind, **details)

    def node_index(self, node_id: str) -> int:
        """Position of the node in the document's node list (undo puts it back there)."""
        self.node(node_id)
        return list(self._nodes).index(node_id)

    def add_node(self, node: Node, index: int | None = None) -> Node:
        """Add ``node`` at the end, or at position ``index`` of the node list (undo of a removal)."""
        if not valid_id(node.id):
            raise GraphEditError(
                f"invalid node id {node.id!r}: use letters, digits, '_', '.' or '-'")
        if node.id in self._nodes:
            raise GraphEditError(f"a node with id '{node.id}' already exists")
        if not isinstance(node.type, str) or not node.type:
            raise GraphEditError(f"node '{node.id}': type must be a non-empty string")
        if index is None or index >= len(self._nodes):
            self._nodes[node.id] = node
        else:
            items = list(self._nodes.items())
            items.insert(max(index, 0), (node.id, node))
            self._nodes = dict(items)
        self._inputs[node.id] = []
        self._outputs[node.id] = []
        self._touch("node_added", node_id=node.id)
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[tuple[int, Edge]]]:
        """Remove a node and its edges; returns them (with edge positions) so undo can restore."""
        node = self.node(node_id)
        removed: list[tuple[int, Edge]] = [
            (i, e) for i, e in enumerate(self._edges) if node_id in (e.src, e.dst)]
        for _, e in reversed(removed):
            self._unlink(e)
        del self._nodes[node_id]
        del self._inputs[node_id]
        del self._outputs[node_id]
        self._touch("node_removed", node_id=node_id)
        return node, removed

    def restore_node(self, node: Node, edges: Iterable[tuple[int, Edge]],
                     index: int | None = None) -> None:
        """Undo of ``remove_node``: the node comes back with its edges (and their extra keys)
        at their old positions (and at node position ``index`` when given, so the saved file is
        byte-identical)."""
        self.add_node(node, index=index)
        for position, e in sorted(edges, key=lambda item: item[0]):
            self.add_edge(e.src, e.dst, index=position, check_cycle=False, extra=e.extra)

    def add_edge(self, src: str, dst: str, index: int | None = None,
                 check_cycle: bool = True, extra: dict[str, Any] | None = None) -> Edge:
        """Connect ``src`` to ``dst``; ``extra`` (copied) is the edge's unknown file keys, given
        back by undo so a removed and restored edge saves as before."""
        for end in (src, dst):
            if end not in self._nodes:
                raise GraphEditError(f"edge {src} -> {dst}: node '{end}' does not exist")
        if src == dst:
            raise CycleError(f"edge {src} -> {dst}: a node cannot feed itself", [src])
        if self.has_edge(src, dst):
            raise GraphEditError(f"edge {src} -> {dst} already exists")
        if check_cycle:
            back = self.path_exists(dst, src)
            if back is not None:
                raise CycleError(
                    f"edge {src} -> {dst} would close the cycle {' -> '.join(back + [dst])}",
                    back)
        edge = Edge(src, dst, copy.deepcopy(extra) if extra else {})
        if index is None or index >= len(self._edges):
            self._edges.append(edge)
            self._inputs[dst].append(src)
            self._outputs[src].append(dst)
        else:
            self._edges.insert(max(index, 0), edge)
            self._rebuild_adjacency_for(dst)
            # Keep a node's outputs in edge order too, so an undone removal looks the same.
            self._outputs[src] = [e.dst for e in self._edges if e.src == src]
        self._touch("edge_added", src=src, dst=dst)
        return edge

    def remove_edge(self, src: str, dst: str) -> int:
        """Remove an edge; returns its position in the edge list for undo."""
        edge = Edge(src, dst)
        try:
            index = self._edges.index(edge)
        except ValueError:
            raise GraphEditError(f"edge {src} -> {dst} does not exist") from None
        self._unlink(edge)
        self._touch("edge_removed", src=src, dst=dst)
        return index

    def _unlink(self, edge: Edge) -> None:
        self._edges.remove(edge)
        self._outputs[edge.src].remove(edge.dst)
        self._rebuild_adjacency_for(edge.dst)

    def _rebuild_adjacency_for(self, dst: str) -> None:
        self._inputs[dst] = [e.src for e in self._edges if e.dst == dst]

    def set_param(self, node_id: str, key: str, value: Any) -> None:
        """Set one param; ``value`` of ``MISSING`` removes it (back to the block's default)."""
        node = self.node(node_id)
        if value is MISSING:
            node.params.pop(key, None)
        else:
            node.params[key] = copy.deepcopy(value)
        self._touch("params_changed", node_id=node_id, key=key)

    def set_params(self, node_id: str, params: dict[str, Any]) -> None:
        self.node(node_id).params = copy.deepcopy(dict(params))
        self._touch("params_changed", node_id=node_id, key=None)

    def set_trainable(self, node_id: str, trainable: bool) -> None:
        self.node(node_id).trainable = bool(trainable)
        self._touch("trainable_changed", node_id=node_id)

    def set_pos(self, node_id: str, pos: tuple[float, float] | None) -> None:
        self.node(node_id).pos = None if pos is None else (float(pos[0]), float(pos[1]))
        self._touch("moved", node_id=node_id)

    def set_meta(self, name: str | None = None, description: str | None = None) -> None:
        if name is not None:
            self.name = name
        if description is not None:
            self.description = description
        self._touch("meta_changed")

    def rename_node(self, old: str, new: str) -> None:
        if old == new:
            return
        if not valid_id(new):
            raise GraphEditError(f"invalid node id {new!r}: use letters, digits, '_', '.' or '-'")
        if new in self._nodes:
            raise GraphEditError(f"a node with id '{new}' already exists")
        node = self.node(old)
        node.id = new
        self._nodes = {(new if k == old else k): v for k, v in self._nodes.items()}
        self._edges = [Edge(new if e.src == old else e.src, new if e.dst == old else e.dst,
                            e.extra) for e in self._edges]
        self._inputs = {}
        self._outputs = {nid: [] for nid in self._nodes}
        for nid in self._nodes:
            self._inputs[nid] = []
        for e in self._edges:
            self._inputs[e.dst].append(e.src)
            self._outputs[e.src].append(e.dst)
        self._touch("renamed", old=old, new=new)

    def copy(self) -> Graph:
        """A deep copy with no subscribers (for background work and retargeting)."""
        g = Graph(self.name, self.description)
        g.extra = copy.deepcopy(self.extra)
        for n in self._nodes.values():
            g._nodes[n.id] = n.clone()
            g._inputs[n.id] = list(self._inputs[n.id])
            g._outputs[n.id] = list(self._outputs[n.id])
        # An edge with extra keys gets its own copy of them; the others (nearly all) are shared,
        # as before: they are frozen, and building new ones would make copy() ~100x slower.
        g._edges = [Edge(e.src, e.dst, copy.deepcopy(e.extra)) if e.extra else e
                    for e in self._edges]
        return g


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
