"""The document model: edits, events, the undo helpers and the refusals."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.core.errors import CycleError, GraphEditError
from playground.core.events import Event
from playground.core.graph import MISSING, Edge, Graph, Node


def chain(*ids: str) -> Graph:
    g = Graph("g")
    for nid in ids:
        g.add_node(Node(nid, "Input" if nid == ids[0] else "Dense"))
    for a, b in zip(ids, ids[1:], strict=False):
        g.add_edge(a, b)
    return g


class Recorder:
    def __init__(self, graph: Graph) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        graph.changed.subscribe(self)

    def __call__(self, kind: str, **details: Any) -> None:
        self.calls.append((kind, details))

    @property
    def kinds(self) -> list[str]:
        return [k for k, _ in self.calls]


def test_every_mutation_emits_one_event_and_bumps_the_revision() -> None:
    g = Graph()
    rec = Recorder(g)
    g.add_node(Node("a", "Input"))
    g.add_node(Node("b", "Dense"))
    g.add_edge("a", "b")
    g.set_param("b", "units", 3)
    g.set_param("b", "units", MISSING)
    g.set_params("b", {"units": 5})
    g.set_trainable("b", False)
    g.set_pos("b", (1, 2))
    g.set_meta(name="x")
    g.rename_node("b", "c")
    g.remove_edge("a", "c")
    g.remove_node("c")
    assert rec.kinds == ["node_added", "node_added", "edge_added", "params_changed",
                         "params_changed", "params_changed", "trainable_changed", "moved",
                         "meta_changed", "renamed", "edge_removed", "node_removed"]
    assert rec.calls[2][1] == {"src": "a", "dst": "b"}
    assert rec.calls[3][1] == {"node_id": "b", "key": "units"}
    assert rec.calls[5][1] == {"node_id": "b", "key": None}
    assert rec.calls[9][1] == {"old": "b", "new": "c"}
    assert g.revision == 12


def test_refused_edits_emit_nothing() -> None:
    g = chain("a", "b")
    rec = Recorder(g)
    revision = g.revision
    for edit in (lambda: g.add_node(Node("a", "Dense")), lambda: g.add_edge("a", "b"),
                 lambda: g.add_edge("b", "a"), lambda: g.add_edge("a", "zz"),
                 lambda: g.remove_edge("b", "a"), lambda: g.remove_node("zz"),
                 lambda: g.rename_node("a", "b"), lambda: g.rename_node("a", "no/slash"),
                 lambda: g.set_param("zz", "k", 1)):
        with pytest.raises(GraphEditError):
            edit()
    assert rec.calls == [] and g.revision == revision


def test_set_param_copies_the_value_and_missing_restores_the_default() -> None:
    g = chain("a", "b")
    value = [3, 3]
    g.set_param("b", "kernel_size", value)
    value.append(9)
    assert g.node("b").params == {"kernel_size": [3, 3]}
    g.set_param("b", "kernel_size", MISSING)
    assert g.node("b").params == {}
    g.set_param("b", "absent", MISSING)  # removing an absent param is harmless
    assert repr(MISSING) == "MISSING"


def test_add_node_refusals() -> None:
    g = Graph()
    with pytest.raises(GraphEditError, match="invalid node id 'a b'"):
        g.add_node(Node("a b", "Dense"))
    with pytest.raises(GraphEditError, match="invalid node id ''"):
        g.add_node(Node("", "Dense"))
    with pytest.raises(GraphEditError, match="type must be a non-empty string"):
        g.add_node(Node("x", ""))
    g.add_node(Node("x", "Dense"))
    with pytest.raises(GraphEditError, match="a node with id 'x' already exists"):
        g.add_node(Node("x", "Dense"))
    with pytest.raises(GraphEditError, match="no node with id 'y'"):
        g.node("y")


def test_add_edge_refuses_cycles_naming_the_cycle() -> None:
    g = chain("a", "b", "c", "d")
    with pytest.raises(CycleError) as info:
        g.add_edge("d", "b")
    assert info.value.cycle == ["b", "c", "d"]
    assert str(info.value) == "edge d -> b would close the cycle b -> c -> d -> b"
    with pytest.raises(CycleError, match="a node cannot feed itself") as info:
        g.add_edge("c", "c")
    assert info.value.cycle == ["c"]
    with pytest.raises(GraphEditError, match="edge a -> b already exists"):
        g.add_edge("a", "b")
    with pytest.raises(GraphEditError, match="node 'zz' does not exist"):
        g.add_edge("a", "zz")
    assert len(g.edges) == 3
    # A non-closing extra edge (a skip connection) is fine.
    g.add_edge("a", "d")
    assert g.inputs_of("d") == ["c", "a"]


def test_edge_order_is_input_order() -> None:
    g = Graph()
    for nid in ("x", "y", "z", "cat"):
        g.add_node(Node(nid, "Input" if nid != "cat" else "Concatenate"))
    g.add_edge("y", "cat")
    g.add_edge("x", "cat")
    g.add_edge("z", "cat", index=0)
    assert g.inputs_of("cat") == ["z", "y", "x"]
    assert g.edge_index("y", "cat") == 1
    assert g.remove_edge("y", "cat") == 1
    assert g.inputs_of("cat") == ["z", "x"]
    assert [str(e) for e in g.edges] == ["z -> cat", "x -> cat"]


def test_remove_node_returns_edges_and_restore_puts_everything_back() -> None:
    g = Graph()
    for nid in ("in", "a", "b", "c", "cat"):
        g.add_node(Node(nid, "Conv2D"))
    for src, dst in (("in", "a"), ("in", "b"), ("in", "c"), ("a", "cat"), ("b", "cat"),
                     ("c", "cat")):
        g.add_edge(src, dst)
    before_edges, before_in, before_out = g.edges, g.inputs_of("cat"), g.outputs_of("in")
    node, removed = g.remove_node("b")
    assert node.id == "b"
    assert removed == [(1, Edge("in", "b")), (4, Edge("b", "cat"))]
    assert g.inputs_of("cat") == ["a", "c"] and "b" not in g
    g.restore_node(node, removed)
    assert g.edges == before_edges
    assert g.inputs_of("cat") == before_in
    assert g.outputs_of("in") == before_out
    assert g.node_ids == ["in", "a", "c", "cat", "b"]  # without an index: appended
    g.remove_node("b")
    g.restore_node(node, removed, index=2)
    assert g.node_ids == ["in", "a", "b", "c", "cat"]
    assert g.edges == before_edges
    assert g.node_index("b") == 2


def test_rename_keeps_edges_order_and_position() -> None:
    g = chain("a", "b", "c")
    g.add_edge("a", "c")
    g.rename_node("b", "mid")
    assert g.node_ids == ["a", "mid", "c"]
    assert [str(e) for e in g.edges] == ["a -> mid", "mid -> c", "a -> c"]
    assert g.inputs_of("c") == ["mid", "a"] and g.outputs_of("a") == ["mid", "c"]
    assert g.node("mid").id == "mid"
    g.rename_node("mid", "mid")  # no-op


def test_unique_id() -> None:
    g = Graph()
    assert g.unique_id("conv2d") == "conv2d"
    g.add_node(Node("conv2d", "Conv2D"))
    assert g.unique_id("conv2d") == "conv2d_1"
    g.add_node(Node("conv2d_1", "Conv2D"))
    assert g.unique_id("conv2d") == "conv2d_2"
    assert g.unique_id("conv2d_1") == "conv2d_2"
    g.add_node(Node("x_9", "Conv2D"))
    assert g.unique_id("x_9") == "x_10"
    assert g.unique_id("my block/1") == "my_block_1"
    assert g.unique_id("") == "node"


def test_topological_order_sinks_paths_and_copy() -> None:
    g = chain("a", "b", "c")
    g.add_node(Node("d", "Dense"))
    g.add_edge("a", "d")
    assert g.topological_order() == ["a", "b", "c", "d"]
    assert g.sinks() == ["c", "d"]
    assert g.path_exists("a", "c") == ["a", "b", "c"]
    assert g.path_exists("c", "a") is None
    copy = g.copy()
    copy.set_param("b", "units", 9)
    copy.add_edge("d", "c")
    assert g.node("b").params == {} and not g.has_edge("d", "c")
    assert copy.inputs_of("c") == ["b", "d"]
    rec = Recorder(g)
    copy.set_pos("a", (0, 0))
    assert rec.calls == []  # the copy has no subscribers
    nxg = g.to_networkx()
    assert sorted(nxg.edges) == [("a", "b"), ("a", "d"), ("b", "c")]


def test_len_contains_iter() -> None:
    g = chain("a", "b")
    assert len(g) == 2 and "a" in g and "zz" not in g
    assert [n.id for n in g] == ["a", "b"]
    clone = g.node("b").clone("b2")
    assert clone.id == "b2" and clone.type == "Dense"


def test_event_subscribe_unsubscribe_order() -> None:
    event = Event()
    seen: list[str] = []

    def first(x: int) -> None:
        seen.append(f"first {x}")

    def second(x: int) -> None:
        seen.append(f"second {x}")
        event.unsubscribe(first)  # unsubscribing during emit is safe

    event.subscribe(first)
    event.subscribe(second)
    event.subscribe(first)  # no double subscription
    event.emit(1)
    event.emit(2)
    event.unsubscribe(lambda x: None)  # unknown callbacks are ignored
    assert seen == ["first 1", "second 1", "second 2"]


def _assert_consistent(g: Graph) -> None:
    """The adjacency caches must always agree with the ordered edge list."""
    for nid in g.node_ids:
        assert g.inputs_of(nid) == [e.src for e in g.edges if e.dst == nid]
        assert g.outputs_of(nid) == [e.dst for e in g.edges if e.src == nid]
    assert all(e.src in g and e.dst in g for e in g.edges)
    assert len(set(g.edges)) == len(g.edges)
    assert g.topological_order() is not None  # edits with check_cycle keep it acyclic


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "edge", "insert", "unedge", "remove",
                                           "restore", "rename", "copy"]),
                          st.integers(0, 7), st.integers(0, 7)), max_size=40))
def test_random_edit_sequences_keep_the_graph_consistent(ops: list[tuple[str, int, int]]) -> None:
    g = Graph()
    removed: list[tuple[Node, list[tuple[int, Edge]], int]] = []
    for op, a, b in ops:
        ids = g.node_ids
        try:
            if op == "add":
                g.add_node(Node(g.unique_id("n"), "Dense"), index=a if b % 2 else None)
            elif op in ("edge", "insert") and ids:
                g.add_edge(ids[a % len(ids)], ids[b % len(ids)],
                           index=b if op == "insert" else None)
            elif op == "unedge" and g.edges:
                e = g.edges[a % len(g.edges)]
                g.remove_edge(e.src, e.dst)
            elif op == "remove" and ids:
                nid = ids[a % len(ids)]
                index = g.node_index(nid)
                node, edges = g.remove_node(nid)
                removed.append((node, edges, index))
            elif op == "restore" and removed:
                node, edges, index = removed.pop()
                if all(e.src in g or e.src == node.id for _, e in edges) and all(
                        e.dst in g or e.dst == node.id for _, e in edges) and node.id not in g:
                    before = g.copy()
                    g.restore_node(node, edges, index=index)
                    assert g.node_index(node.id) == min(index, len(g) - 1)
                    g.remove_node(node.id)
                    assert g.edges == before.edges and g.node_ids == before.node_ids
                    g.restore_node(node, edges, index=index)
            elif op == "rename" and ids:
                g.rename_node(ids[a % len(ids)], f"r{b}_{len(ops)}")
            elif op == "copy":
                c = g.copy()
                assert c.edges == g.edges and c.node_ids == g.node_ids
        except GraphEditError:
            pass
        _assert_consistent(g)
