"""core.minimum_input.smallest_input on small hand-made graphs."""

from __future__ import annotations

from playground.core.graph import Graph, Node
from playground.core.minimum_input import smallest_input
from playground.core.shapes import analyze


def chain(shape, *layers):
    graph = Graph("test")
    graph.add_node(Node("input", "Input", {"shape": list(shape)}))
    previous = "input"
    for i, (type_name, params) in enumerate(layers):
        graph.add_node(Node(f"n{i}", type_name, dict(params)))
        graph.add_edge(previous, f"n{i}")
        previous = f"n{i}"
    return graph


def test_two_valid_convolutions_need_nine_pixels():
    graph = chain([40, 40, 3], ("Conv2D", {"kernel_size": 5}), ("Conv2D", {"kernel_size": 5}))
    assert smallest_input(graph) == [9, 9, 3]
    # The graph itself is unchanged.
    assert graph.node("input").params["shape"] == [40, 40, 3]


def test_same_padding_never_runs_out():
    graph = chain([8, 8, 1], ("Conv2D", {"kernel_size": 3, "padding": "same", "strides": 2}),
                  ("GlobalAveragePooling2D", {}))
    assert smallest_input(graph) == [1, 1, 1]


def test_graph_too_small_at_its_own_size_searches_upwards():
    graph = chain([4, 4, 1], ("MaxPooling2D", {"pool_size": 3, "strides": 3}),
                  ("Conv2D", {"kernel_size": 3}))
    assert not analyze(graph).valid
    assert smallest_input(graph) == [9, 9, 1]


def test_non_monotone_validity_finds_the_first_valid_size():
    # Two branches that only line up at multiples of 6: pool /2 then x2, conv /3 then x3.
    graph = chain([32, 32, 4], ("MaxPooling2D", {"pool_size": 2}),
                  ("UpSampling2D", {"size": 2}))
    graph.add_node(Node("down3", "Conv2D", {"filters": 4, "strides": 3, "padding": "same"}))
    graph.add_node(Node("up3", "UpSampling2D", {"size": 3}))
    graph.add_node(Node("add", "Add"))
    for src, dst in (("input", "down3"), ("down3", "up3"), ("n1", "add"), ("up3", "add")):
        graph.add_edge(src, dst)
    # Sizes 2 to 5 do not run out but are invalid (the branches differ in size).
    graph.node("input").params["shape"] = [4, 4, 4]
    assert [p.node for p in analyze(graph).errors] == ["add"]
    graph.node("input").params["shape"] = [32, 32, 4]
    assert smallest_input(graph) == [6, 6, 4]


def test_no_answer_when_size_does_not_matter_or_no_single_input():
    broken = chain([8, 8, 1], ("Conv2D", {"kernel_size": 3, "bogus": 1}))
    assert smallest_input(broken) is None
    two_inputs = chain([8, 8, 1], ("Conv2D", {}))
    two_inputs.add_node(Node("input2", "Input", {"shape": [8, 8, 1]}))
    assert smallest_input(two_inputs) is None
    flat = chain([10], ("Dense", {"units": 3}))
    assert smallest_input(flat) is None


def test_input_without_shape_param_uses_the_default_shape():
    graph = chain([1, 1, 1], ("Conv2D", {"kernel_size": 5}))
    del graph.node("input").params["shape"]  # the catalogue's default: 28x28x1
    assert smallest_input(graph) == [5, 5, 1]
