"""Quick fixes: each is one undoable command, and after it the targeted problem is gone."""

from __future__ import annotations

import pytest

from playground.core import fileformat
from playground.core.graph import Graph, Node
from playground.core.quickfix import available_fixes, fix_for
from playground.core.shapes import Problem, analyze


def chain(*nodes: Node, edges=None) -> Graph:
    g = Graph("fix")
    for n in nodes:
        g.add_node(n)
    if edges is None:
        edges = [(a.id, b.id) for a, b in zip(nodes, nodes[1:], strict=False)]
    for s, d in edges:
        g.add_edge(s, d)
    return g


def problem_of(g: Graph, node: str) -> Problem:
    found = [p for p in analyze(g).problems if p.node == node]
    assert found, f"no problem on {node}"
    return found[0]


def apply_and_check(g: Graph, cmd, node: str, code: str | None) -> None:
    """Apply ``cmd``; the problem is gone and the graph valid; undo restores the file."""
    before = fileformat.dumps(g)
    cmd.do(g)
    a = analyze(g)
    assert a.valid, [str(p) for p in a.problems]
    assert not [p for p in a.problems if p.node == node and (code is None or p.fix == code)]
    after = fileformat.dumps(g)
    cmd.undo(g)
    assert fileformat.dumps(g) == before
    cmd.do(g)
    assert fileformat.dumps(g) == after


@pytest.mark.parametrize("layer", [
    Node("c", "Conv2D", {"filters": 2, "kernel_size": 5}),
    Node("c", "SeparableConv2D", {"filters": 2, "kernel_size": [1, 7]}),
    Node("c", "MaxPooling2D", {"pool_size": 6}),
    Node("c", "AveragePooling2D", {"pool_size": 5, "strides": 1, "padding": "valid"}),
])
def test_padding_same(layer):
    g = chain(Node("in", "Input", {"shape": [4, 4, 1]}), layer,
              Node("f", "Flatten"), Node("d", "Dense", {"units": 3}))
    p = problem_of(g, "c")
    assert p.fix == "padding_same"
    fixes = available_fixes(g, p)
    assert [label for label, _ in fixes] == ['Use padding "same"']
    cmd = fix_for(g, p)
    assert cmd is fixes[0][1] or cmd.text == fixes[0][1].text
    apply_and_check(g, cmd, "c", "padding_same")
    assert g.node("c").params["padding"] == "same"


def test_insert_flatten_and_global_pool():
    g = chain(Node("in", "Input", {"shape": [8, 8, 3]}, pos=(0.0, 0.0)),
              Node("conv", "Conv2D", {"filters": 4}, pos=(200.0, 0.0)),
              Node("head", "Dense", {"units": 10}, pos=(400.0, 0.0)))
    p = problem_of(g, "head")
    assert p.fix == "insert_flatten" and p.severity == "warning"
    fixes = available_fixes(g, p)
    assert [label for label, _ in fixes] == ["Insert Flatten", "Insert GlobalAveragePooling2D"]
    flat, gap = fixes[0][1], fixes[1][1]
    apply_and_check(g, flat, "head", "insert_flatten")
    assert g.inputs_of("head") == ["flatten"] and g.inputs_of("flatten") == ["conv"]
    assert analyze(g).nodes["head"].shape == (10,)
    assert analyze(g).nodes["head"].params == 6 * 6 * 4 * 10 + 10
    assert g.node("flatten").pos == (300.0, 0.0)
    flat.undo(g)
    apply_and_check(g, gap, "head", "insert_flatten")
    assert analyze(g).nodes["head"].params == 4 * 10 + 10
    assert fix_for(g, p) is None  # the stale warning: its input is flat now, nothing to do


def test_insert_flatten_on_a_sequence_offers_only_flatten():
    g = chain(Node("in", "Input", {"shape": [4, 4, 3]}),
              Node("r", "Reshape", {"target_shape": [16, 3]}),
              Node("head", "Dense", {"units": 2}))
    p = problem_of(g, "head")
    fixes = available_fixes(g, p)
    assert [label for label, _ in fixes] == ["Insert Flatten"]
    apply_and_check(g, fixes[0][1], "head", "insert_flatten")


def test_flatten_id_does_not_collide():
    g = chain(Node("in", "Input", {"shape": [8, 8, 3]}),
              Node("flatten", "Conv2D", {"filters": 4}),
              Node("head", "Dense", {"units": 10}))
    cmd = fix_for(g, problem_of(g, "head"))
    apply_and_check(g, cmd, "head", "insert_flatten")
    assert g.inputs_of("head") == ["flatten_1"]


def merge_graph(shapes: list[tuple[int, int]], merge: str = "Add") -> Graph:
    """input 8x8x3 -> one conv per (filters, strides) -> merge -> gap."""
    g = Graph("merge")
    g.add_node(Node("in", "Input", {"shape": [8, 8, 3]}, pos=(0.0, 0.0)))
    names = []
    for i, (filters, strides) in enumerate(shapes):
        name = f"b{i}"
        g.add_node(Node(name, "Conv2D", {"filters": filters, "strides": strides,
                                         "padding": "same"}, pos=(200.0, 100.0 * i)))
        g.add_edge("in", name)
        names.append(name)
    g.add_node(Node("m", merge, {}, pos=(400.0, 0.0)))
    for name in names:
        g.add_edge(name, "m")
    g.add_node(Node("gap", "GlobalAveragePooling2D"))
    g.add_edge("m", "gap")
    return g


def test_insert_projection_on_the_narrower_input():
    g = merge_graph([(4, 1), (8, 1)])
    p = problem_of(g, "m")
    assert p.fix == "insert_projection"
    cmd = fix_for(g, p)
    assert cmd.text == "Insert a 1x1 Conv2D projection before m"
    apply_and_check(g, cmd, "m", None)
    assert g.inputs_of("m") == ["b0_proj", "b1"]  # input order kept
    proj = g.node("b0_proj")
    assert proj.type == "Conv2D" and proj.params == {"filters": 8, "kernel_size": 1}
    assert analyze(g).nodes["b0_proj"].params == 4 * 8 + 8
    assert proj.pos == (300.0, 0.0)


def test_insert_projection_with_stride_and_several_inputs():
    # b0: 8x8x4, b1: 4x4x8, b2: 8x8x2, b3: 4x4x8 (already the target)
    g = merge_graph([(4, 1), (8, 2), (2, 1), (8, 2)], merge="Average")
    p = problem_of(g, "m")
    assert p.fix == "insert_projection"  # a spatial mismatch is fixable too...
    cmd = fix_for(g, p)   # ...with strided 1x1 projections
    assert cmd is not None
    assert cmd.text == "Insert 2 1x1 Conv2D projections before m"
    apply_and_check(g, cmd, "m", None)
    assert g.inputs_of("m") == ["b0_proj", "b1", "b2_proj", "b3"]
    assert g.node("b0_proj").params == {"filters": 8, "kernel_size": 1, "strides": 2}
    assert analyze(g).nodes["m"].shape == (4, 4, 8)


def test_no_projection_when_sizes_are_not_integer_multiples():
    g = Graph()
    g.add_node(Node("in", "Input", {"shape": [9, 9, 3]}))
    g.add_node(Node("a", "Conv2D", {"filters": 4, "padding": "same"}))
    g.add_node(Node("b", "Conv2D", {"filters": 8, "kernel_size": 3, "strides": 2}))
    g.add_node(Node("m", "Add"))
    for s, d in [("in", "a"), ("in", "b"), ("a", "m"), ("b", "m")]:
        g.add_edge(s, d)
    p = problem_of(g, "m")
    assert analyze(g).nodes["b"].shape == (4, 4, 8)  # 9 -> 4: no stride does it
    assert available_fixes(g, p) == [] and fix_for(g, p) is None


def test_projection_for_odd_sizes_and_rectangles():
    g = Graph()
    g.add_node(Node("in", "Input", {"shape": [9, 12, 3]}))
    g.add_node(Node("a", "Conv2D", {"filters": 4, "padding": "same"}))
    g.add_node(Node("b", "Conv2D", {"filters": 8, "strides": [2, 3], "padding": "same"}))
    g.add_node(Node("m", "Add"))
    for s, d in [("in", "a"), ("in", "b"), ("a", "m"), ("b", "m")]:
        g.add_edge(s, d)
    assert analyze(g).nodes["b"].shape == (5, 4, 8)
    cmd = fix_for(g, problem_of(g, "m"))
    apply_and_check(g, cmd, "m", None)
    assert g.node("a_proj").params["strides"] == [2, 3]


def test_vector_projection_uses_dense():
    g = Graph()
    g.add_node(Node("in", "Input", {"shape": [6]}))
    g.add_node(Node("a", "Dense", {"units": 4}))
    g.add_node(Node("b", "Dense", {"units": 7}))
    g.add_node(Node("m", "Add"))
    for s, d in [("in", "a"), ("in", "b"), ("a", "m"), ("b", "m")]:
        g.add_edge(s, d)
    p = problem_of(g, "m")
    assert p.fix == "insert_projection"
    cmd = fix_for(g, p)
    apply_and_check(g, cmd, "m", None)
    assert g.node("a_proj").type == "Dense" and g.node("a_proj").params == {"units": 7}


def test_unrelated_problems_have_no_fix():
    g = chain(Node("in", "Input", {"shape": [8, 8, 3]}), Node("m", "Add"))
    for p in analyze(g).problems:
        assert available_fixes(g, p) == []
        assert fix_for(g, p) is None
    assert fix_for(g, Problem("error", "graph-level", node=None)) is None
    assert fix_for(g, Problem("error", "gone", node="ghost", fix="padding_same")) is None
    assert fix_for(g, Problem("error", "x", node="m", fix="no_such_code")) is None
    # padding_same on a node that is already "same" (stale problem) offers nothing
    g2 = chain(Node("in", "Input", {"shape": [4, 4, 1]}),
               Node("c", "Conv2D", {"filters": 2, "kernel_size": 5, "padding": "same"}))
    assert fix_for(g2, Problem("error", "stale", node="c", fix="padding_same")) is None
