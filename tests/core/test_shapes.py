"""The shape checker: per-node figures and every problem with its culprit and quick fix."""

from __future__ import annotations

from typing import Any

import pytest

from playground.core.graph import Graph, Node
from playground.core.shapes import Checker, Problem, analyze


def make(nodes: list[tuple[str, str, dict[str, Any]]], edges: list[tuple[str, str]] | None = None,
         *, chain: bool = False) -> Graph:
    g = Graph("t")
    for nid, typ, params in nodes:
        g.add_node(Node(nid, typ, dict(params)))
    if chain:
        edges = [(a[0], b[0]) for a, b in zip(nodes, nodes[1:], strict=False)]
    for src, dst in edges or []:
        g.add_edge(src, dst, check_cycle=False)
    return g


def inp(shape: list[int], nid: str = "in") -> tuple[str, str, dict[str, Any]]:
    return (nid, "Input", {"shape": shape})


def errors(g: Graph) -> list[str]:
    return [str(p) for p in analyze(g).errors]


def only_error(g: Graph) -> Problem:
    found = analyze(g).errors
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


# ------------------------------------------------------------------ structure problems
def test_cycle_names_its_nodes() -> None:
    g = make([inp([8, 8, 1]), ("a", "Conv2D", {}), ("b", "ReLU", {}), ("c", "Add", {}),
              ("d", "Dense", {})],
             [("in", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("in", "c"), ("c", "d")])
    a = analyze(g)
    cycle = [p for p in a.errors if "cycle" in p.message]
    assert len(cycle) == 1
    assert cycle[0].node == "a"
    assert cycle[0].message == "part of a cycle: a -> b -> c -> a; remove one of these edges"
    assert a.nodes["d"].shape is None  # downstream of a cycle: no shape, no extra message
    assert not [p for p in a.errors if p.node == "d"]
    assert a.order[0] == "in" and set(a.order) == {"in", "a", "b", "c", "d"}


def test_two_cycles_are_both_named() -> None:
    g = make([inp([4]), ("a", "Dense", {}), ("b", "Dense", {}), ("c", "Dense", {}),
              ("d", "Dense", {})],
             [("in", "a"), ("a", "b"), ("b", "a"), ("in", "c"), ("c", "d"), ("d", "c")])
    messages = sorted(p.message for p in analyze(g).errors if "cycle" in p.message)
    assert messages == ["part of a cycle: a -> b -> a; remove one of these edges",
                        "part of a cycle: c -> d -> c; remove one of these edges"]


def test_no_input_and_unreachable_nodes() -> None:
    g = make([("d", "Dense", {}), ("e", "Dense", {})], chain=True)
    found = analyze(g).errors
    graph_level = [p for p in found if p.node is None]
    assert [str(p) for p in graph_level] == [
        "error: graph: the graph has no Input node; add one (palette: input)"]
    assert [str(p) for p in found if p.node is not None] == [
        "error: node d: Dense takes exactly 1 input, but 0 are connected",
        "error: node e: not reachable from any Input; connect it to the network"]


def test_unreachable_island_is_named() -> None:
    g = make([inp([4]), ("a", "Dense", {}), ("x", "Dense", {}), ("y", "Dense", {})],
             [("in", "a"), ("x", "y")])
    bad = {p.node for p in analyze(g).errors}
    assert bad == {"x", "y"}
    assert "x takes exactly 1 input" not in str(errors(g))
    assert any("Dense takes exactly 1 input, but 0 are connected" in e for e in errors(g))


def test_isolated_input() -> None:
    g = make([inp([4]), inp([4], "in2"), ("a", "Dense", {})], [("in", "a")])
    p = only_error(g)
    assert (p.node, p.message) == ("in2", "this Input feeds no layer; connect it or delete it")
    assert analyze(make([inp([4])])).valid  # a lone Input is a (trivial) model


@pytest.mark.parametrize(("typ", "n", "message"), [
    ("Add", 1, "Add takes at least 2 inputs, but 1 is connected"),
    ("Concatenate", 1, "Concatenate takes at least 2 inputs, but 1 is connected"),
    ("Multiply", 1, "Multiply takes at least 2 inputs, but 1 is connected"),
    ("Dense", 2, "Dense takes exactly 1 input, but 2 are connected"),
    ("Conv2D", 3, "Conv2D takes exactly 1 input, but 3 are connected"),
    ("InceptionModule", 2, "InceptionModule takes exactly 1 input, but 2 are connected"),
    ("Conv2D", 0, "Conv2D takes exactly 1 input, but 0 are connected"),
])
def test_arity(typ: str, n: int, message: str) -> None:
    nodes = [inp([8, 8, 4], f"in{i}") for i in range(max(n, 1))]
    g = make(nodes + [("x", typ, {})], [(f"in{i}", "x") for i in range(n)])
    found = [p for p in analyze(g).errors if p.node == "x"]
    assert [p.message for p in found] == [message]


def test_input_with_an_incoming_edge() -> None:
    g = make([inp([4]), inp([4], "in2"), ("d", "Dense", {})], [("in", "in2"), ("in2", "d")])
    assert "error: node in2: Input takes no inputs, but 1 is connected" in errors(g)


def test_unknown_type_and_unknown_param() -> None:
    g = make([inp([8, 8, 3]), ("x", "Conv3D", {}), ("y", "Conv2D", {"filter": 3})],
             [("in", "x"), ("in", "y")])
    found = {p.node: p for p in analyze(g).errors}
    assert found["x"].message.startswith("unknown block type 'Conv3D'; it is not in the catalogue")
    assert found["y"].message.startswith("unknown parameter 'filter' for Conv2D (it takes "
                                         "filters, kernel_size")
    assert found["y"].param == "filter"


# --------------------------------------------------------------------- shape problems
def test_add_shape_mismatch_offers_a_projection() -> None:
    g = make([inp([8, 8, 3]), ("a", "Conv2D", {"filters": 16, "padding": "same"}),
              ("add", "Add", {})], [("in", "a"), ("in", "add"), ("a", "add")])
    p = only_error(g)
    assert p.node == "add" and p.fix == "insert_projection"
    assert p.message.startswith("input shapes differ: input 1 is (8, 8, 3), input 2 is "
                                "(8, 8, 16)")
    # A spatial mismatch is fixed by a strided projection; a rank mismatch has no fix.
    g = make([inp([8, 8, 3]), ("a", "MaxPooling2D", {}), ("add", "Add", {})],
             [("in", "a"), ("in", "add"), ("a", "add")])
    assert only_error(g).fix == "insert_projection"
    g = make([inp([8, 8, 3]), ("a", "Flatten", {}), ("add", "Add", {})],
             [("in", "a"), ("in", "add"), ("a", "add")])
    assert only_error(g).fix is None


def test_concatenate_mismatch_on_non_channel_axes() -> None:
    g = make([inp([8, 8, 3]), ("p", "MaxPooling2D", {}), ("cat", "Concatenate", {})],
             [("in", "p"), ("in", "cat"), ("p", "cat")])
    p = only_error(g)
    assert p.node == "cat"
    assert p.message == ("inputs must match on every axis but the concatenation axis: "
                         "input 1 is (8, 8, 3), input 2 is (4, 4, 3)")
    g = make([inp([8, 8, 3]), inp([8, 8, 5], "in2"), ("cat", "Concatenate", {})],
             [("in", "cat"), ("in2", "cat")])
    assert analyze(g).nodes["cat"].shape == (8, 8, 8)


@pytest.mark.parametrize(("typ", "params", "words"), [
    ("Conv2D", {"kernel_size": 7}, 'kernel 7x7 is larger than its 5x5 input with padding '
                                   '"valid" (the height would shrink to -1)'),
    ("Conv2D", {"kernel_size": 3, "dilation_rate": 3}, "kernel 3x3 (dilated span 7)"),
    ("MaxPooling2D", {"pool_size": [2, 6]}, "pool window 2x6 is larger than its 5x5 input "
                                            'with padding "valid" (the width would shrink to 0)'),
    ("DepthwiseConv2D", {"kernel_size": 6}, "kernel 6x6 is larger"),
])
def test_window_larger_than_input_offers_padding_same(typ: str, params: dict[str, Any],
                                                      words: str) -> None:
    g = make([inp([5, 5, 2]), ("x", typ, params)], chain=True)
    p = only_error(g)
    assert p.node == "x" and p.fix == "padding_same"
    assert words in p.message
    assert p.param == ("pool_size" if "Pool" in typ else "kernel_size")
    g.set_param("x", "padding", "same")
    assert analyze(g).valid


def test_spatial_size_shrinking_to_zero() -> None:
    nodes = [inp([16, 16, 1])] + [(f"p{i}", "MaxPooling2D", {}) for i in range(5)]
    g = make(nodes, chain=True)
    p = only_error(g)
    assert p.node == "p4"  # 16 -> 8 -> 4 -> 2 -> 1 -> the fifth pool cannot fit
    assert "larger than its 1x1 input" in p.message
    g = make([inp([16, 16, 1]), ("c", "Cropping2D", {"cropping": [[8, 8], [0, 0]]})],
             chain=True)
    assert "leaves nothing" in only_error(g).message
    g = make([inp([4, 4, 1]), ("r", "Resizing", {"height": 0})], chain=True)
    assert "height must be >= 1, not 0" in only_error(g).message


@pytest.mark.parametrize(("typ", "params", "message", "param"), [
    ("Conv2D", {"filters": 0}, "filters must be >= 1, not 0", "filters"),
    ("Conv2D", {"filters": -3}, "filters must be >= 1, not -3", "filters"),
    ("Conv2D", {"filters": "3"}, 'filters must be an integer, not "3" (write 3 without quotes)',
     "filters"),
    ("Conv2D", {"filters": True}, "filters must be an integer, not true", "filters"),
    ("Conv2D", {"filters": 3.0}, "filters must be an integer, not 3.0", "filters"),
    ("Conv2D", {"filters": 10**400}, "filters must be <= 1000000, not about 10^400", "filters"),
    ("Conv2D", {"strides": 0}, "strides must be >= 1, not 0", "strides"),
    ("Conv2D", {"strides": [1, 0]}, "strides[1] must be >= 1, not 0", "strides"),
    ("Conv2D", {"kernel_size": [3, 3, 3]}, "kernel_size must be an integer or [height, width], "
                                           "not [3, 3, 3]", "kernel_size"),
    ("Conv2D", {"padding": "full"}, 'padding "full" is not one of: valid, same', "padding"),
    ("Conv2D", {"activation": "relu7"}, 'activation "relu7" is not one of: linear, relu',
     "activation"),
    ("Conv2D", {"activation": 3}, "activation 3 is not one of", "activation"),
    ("Conv2D", {"use_bias": "yes"}, 'use_bias must be true or false, not "yes"', "use_bias"),
    ("Conv2D", {"filters": None}, "filters cannot be null", "filters"),
    ("Dropout", {"rate": 1.0}, "rate must be below 1, not 1", "rate"),
    ("Dropout", {"rate": 1}, "rate must be below 1, not 1", "rate"),
    ("Dropout", {"rate": -0.1}, "rate must be >= 0, not -0.1", "rate"),
    ("Dropout", {"rate": "0.5"}, 'rate must be a number, not "0.5"', "rate"),
    ("Dropout", {"rate": 10**400}, "rate is far too large (about 10^400)", "rate"),
    ("ZeroPadding2D", {"padding": [[1], [2, 3]]}, "padding must be an integer, [height, width] "
                                                  "or [[top, bottom], [left, right]]", "padding"),
    ("ZeroPadding2D", {"padding": [[1, -2], [2, 3]]}, "padding[0][1] must be >= 0, not -2",
     "padding"),
    ("Reshape", {"target_shape": []}, "target_shape must be a non-empty list of integers",
     "target_shape"),
])
def test_param_problems_name_the_param(typ: str, params: dict[str, Any], message: str,
                                       param: str) -> None:
    g = make([inp([8, 8, 4]), ("x", typ, params)], chain=True)
    p = only_error(g)
    assert p.node == "x" and p.param == param
    assert message in p.message, p.message


def test_dense_on_a_4d_tensor_is_a_warning_with_insert_flatten() -> None:
    g = make([inp([7, 7, 64]), ("fc", "Dense", {"units": 10})], chain=True)
    a = analyze(g)
    assert a.valid
    (w,) = a.warnings
    assert (w.severity, w.node, w.fix) == ("warning", "fc", "insert_flatten")
    assert str(w).startswith("warning: node fc: Dense on a 4-D tensor (7, 7, 64) acts on the "
                             "last axis only")
    assert a.nodes["fc"].shape == (7, 7, 10)


def convnext_block(head: str) -> Graph:
    """A ConvNeXt block: depthwise conv, LayerNorm, a per-position MLP (two Dense on the 4-D
    tensor, as keras.applications.ConvNeXt* builds it), LayerScale, drop path, residual add."""
    g = make([inp([8, 8, 3]),
              ("stem", "Conv2D", {"filters": 8, "kernel_size": 2, "strides": 2}),
              ("dw", "DepthwiseConv2D", {"kernel_size": 7, "padding": "same"}),
              ("ln", "LayerNormalization", {}),
              ("pw1", "Dense", {"units": 32, "activation": "gelu"}),
              ("pw2", "Dense", {"units": 8}),
              ("scale", "LayerScale", {}),
              ("drop", "StochasticDepth", {"rate": 0.1}),
              ("add", "Add", {})],
             [("in", "stem"), ("stem", "dw"), ("dw", "ln"), ("ln", "pw1"), ("pw1", "pw2"),
              ("pw2", "scale"), ("scale", "drop"), ("drop", "add"), ("stem", "add")])
    if head == "pooled":
        for nid, typ, params, src in (("gap", "GlobalAveragePooling2D", {}, "add"),
                                      ("fc", "Dense", {"units": 10, "activation": "softmax"},
                                       "gap")):
            g.add_node(Node(nid, typ, params))
            g.add_edge(src, nid)
    else:   # the pooling forgotten: the classifier runs per position
        for nid, typ, params, src in (("fc", "Dense", {"units": 10}, "add"),
                                      ("act", "Activation", {"activation": "softmax"}, "fc"),
                                      ("dropout", "Dropout", {"rate": 0.2}, "act")):
            g.add_node(Node(nid, typ, params))
            g.add_edge(src, nid)
    return g


def test_dense_per_position_inside_the_network_is_not_warned() -> None:
    """ConvNeXt applies Dense per position on purpose: no "Dense on a 4-D tensor" warning
    for the MLP inside the block (the import of ConvNeXtTiny got 36 of them)."""
    a = analyze(convnext_block("pooled"))
    assert a.valid and a.nodes["pw1"].shape == (4, 4, 32)
    assert [str(p) for p in a.warnings] == []


def test_dense_head_on_a_4d_tensor_is_warned_through_pass_through_blocks() -> None:
    a = analyze(convnext_block("forgotten pooling"))
    assert [(p.node, p.fix) for p in a.warnings] == [("fc", "insert_flatten")]
    assert "Dense on a 4-D tensor (4, 4, 8) acts on the last axis only" in a.warnings[0].message


def test_dense_that_feeds_a_merge_or_a_reshape_to_a_vector_is_not_the_head() -> None:
    g = make([inp([4, 4, 3]), ("fc", "Dense", {"units": 3}), ("add", "Add", {}),
              ("flat", "Flatten", {}), ("out", "Dense", {"units": 2, "activation": "softmax"})],
             [("in", "fc"), ("fc", "add"), ("in", "add"), ("add", "flat"), ("flat", "out")])
    assert analyze(g).warnings == []
    g = make([inp([4, 4, 3]), ("fc", "Dense", {"units": 3}),
              ("r", "Reshape", {"target_shape": [48]})], chain=True)
    # No "Dense on a 4-D tensor" warning; only that its 48 scores get no softmax.
    assert [(p.node, p.fix) for p in analyze(g).warnings] == [("fc", "softmax_head")]


def test_conv_on_a_vector_names_the_rank() -> None:
    g = make([inp([10]), ("c", "Conv2D", {})], chain=True)
    p = only_error(g)
    assert p.message == "Conv2D needs a H x W x C image tensor; its input has shape (10,)"


def test_errors_upstream_do_not_cascade() -> None:
    g = make([inp([8, 8, 1]), ("c", "Conv2D", {"filters": 0}), ("r", "ReLU", {}),
              ("d", "Dense", {})], chain=True)
    a = analyze(g)
    assert [p.node for p in a.errors] == ["c"]
    assert a.nodes["r"].shape is None and a.nodes["d"].shape is None


def test_dangling_non_output_is_a_warning_when_outputs_multiply() -> None:
    g = make([inp([8, 8, 1]), ("c", "Conv2D", {}), ("p", "MaxPooling2D", {}),
              ("f", "Flatten", {}), ("d", "Dense", {"activation": "softmax"})],
             [("in", "c"), ("c", "p"), ("c", "f"), ("f", "d")])
    a = analyze(g)
    assert a.valid and a.outputs == ["p", "d"]
    assert [(w.node, "extra model output" in w.message) for w in a.warnings] == [("p", True)]


# ----------------------------------------------------------------- figures
def test_receptive_field_of_three_stacked_3x3_convs_is_7() -> None:
    nodes = [inp([32, 32, 3])] + [(f"c{i}", "Conv2D", {"padding": "same"}) for i in range(3)]
    a = analyze(make(nodes, chain=True))
    assert [a.nodes[f"c{i}"].rf_size for i in range(3)] == [(3, 3), (5, 5), (7, 7)]
    assert a.nodes["c2"].rf_jump == (1, 1)
    assert a.depth == 3


LENET = [
    inp([32, 32, 1]),
    ("c1", "Conv2D", {"filters": 6, "kernel_size": 5, "activation": "tanh"}),
    ("s2", "AveragePooling2D", {"pool_size": 2}),
    ("c3", "Conv2D", {"filters": 16, "kernel_size": 5, "activation": "tanh"}),
    ("s4", "AveragePooling2D", {"pool_size": 2}),
    ("f", "Flatten", {}),
    ("c5", "Dense", {"units": 120, "activation": "tanh"}),
    ("f6", "Dense", {"units": 84, "activation": "tanh"}),
    ("out", "Dense", {"units": 10, "activation": "softmax"}),
]


def test_lenet_figures() -> None:
    a = analyze(make(LENET, chain=True))
    assert a.valid and not a.warnings
    rf = [a.nodes[n].rf_size[0] for n in ("c1", "s2", "c3", "s4")]  # type: ignore[index]
    assert rf == [5, 6, 14, 16]
    assert [a.nodes[n].shape for n in ("c1", "s2", "c3", "s4", "f")] == [
        (28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,)]
    assert a.nodes["f"].rf_size is None  # not spatial any more
    assert [a.nodes[n].params for n in ("c1", "c3", "c5", "f6", "out")] == [
        156, 2416, 48120, 10164, 850]
    assert a.total_params == a.trainable_params == 61706
    assert a.non_trainable_params == 0
    assert a.macs == (28 * 28 * 6 * 5 * 5 * 1 + 10 * 10 * 16 * 5 * 5 * 6 + 400 * 120 + 120 * 84
                      + 84 * 10)
    assert a.depth == 5
    # Memory: float32 activations of every node, per sample.
    values = 32 * 32 + 28 * 28 * 6 + 14 * 14 * 6 + 10 * 10 * 16 + 5 * 5 * 16 + 400 + 120 + 84 + 10
    assert a.memory_bytes == 4 * values
    assert a.nodes["c1"].memory_bytes == 4 * 28 * 28 * 6
    assert a.order == [n[0] for n in LENET] and a.inputs == ["in"] and a.outputs == ["out"]
    assert a.output_shapes() == [(10,)]


def test_frozen_nodes_and_batch_norm_counts() -> None:
    g = make([inp([8, 8, 3]), ("c", "Conv2D", {"filters": 4, "use_bias": False}),
              ("bn", "BatchNormalization", {}), ("d", "Flatten", {})], chain=True)
    a = analyze(g)
    assert (a.trainable_params, a.non_trainable_params) == (3 * 3 * 3 * 4 + 8, 8)
    g.set_trainable("c", False)
    g.set_trainable("bn", False)
    a = analyze(g)
    assert (a.trainable_params, a.non_trainable_params, a.total_params) == (0, 124, 124)


def test_receptive_field_through_a_residual_add_takes_the_widest_branch() -> None:
    g = make([inp([16, 16, 8]), ("a", "Conv2D", {"filters": 8, "padding": "same"}),
              ("b", "Conv2D", {"filters": 8, "padding": "same"}), ("add", "Add", {}),
              ("p", "MaxPooling2D", {}), ("c", "Conv2D", {"filters": 8})],
             [("in", "a"), ("a", "b"), ("b", "add"), ("in", "add"), ("add", "p"), ("p", "c")])
    a = analyze(g)
    assert a.nodes["add"].rf_size == (5, 5)
    assert a.nodes["p"].rf_size == (6, 6) and a.nodes["p"].rf_jump == (2, 2)
    assert a.nodes["c"].rf_size == (10, 10)
    assert a.depth == 3  # a, b, c on the longest path


# Inception arithmetic from the lecture notes (seeds/001): the app shows exact figures.
INCEPTION_IN = (28, 28, 256)


def _inception(**params: int) -> Any:
    g = make([inp(list(INCEPTION_IN)), ("inc", "InceptionModule", params)], chain=True)
    return analyze(g).nodes["inc"]


def test_naive_inception_module_costs_854m_macs() -> None:
    r = _inception(f1x1=128, f3x3_reduce=0, f3x3=192, f5x5_reduce=0, f5x5=96, pool_proj=0)
    assert r.macs == 854_196_224 == 28 * 28 * 256 * (128 + 192 * 9 + 96 * 25)
    assert r.shape == (28, 28, 128 + 192 + 96 + 256)  # 672: the pool passes 256 through
    assert r.depth == 1


def test_inception_module_with_reductions_costs_271m_macs() -> None:
    # The notes say 358M: an arithmetic slip; 271,351,808 is the exact sum of their terms.
    r = _inception(f1x1=128, f3x3_reduce=64, f3x3=192, f5x5_reduce=64, f5x5=96, pool_proj=64)
    terms = [28 * 28 * 128 * 256, 28 * 28 * 64 * 256, 28 * 28 * 192 * 9 * 64,
             28 * 28 * 64 * 256, 28 * 28 * 96 * 25 * 64, 28 * 28 * 64 * 256]
    assert r.macs == sum(terms) == 271_351_808
    assert r.shape == (28, 28, 128 + 192 + 96 + 64)
    assert [i.name for i in r.inner] == ["1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5",
                                         "pool", "pool_proj", "concat"]
    assert r.depth == 2
    assert r.rf_size == (5, 5)


def test_inception_reduce_without_its_branch_is_a_problem() -> None:
    g = make([inp([8, 8, 4]), ("inc", "InceptionModule", {"f3x3": 0, "f3x3_reduce": 8})],
             chain=True)
    p = only_error(g)
    assert p.param == "f3x3_reduce"
    assert p.message == "f3x3_reduce is 8 but f3x3 is 0: set f3x3 or set f3x3_reduce to 0"


def test_residual_zero_pad_cannot_shrink_channels() -> None:
    g = make([inp([8, 8, 16]), ("r", "ResidualBlock", {"filters": 8, "shortcut": "zero_pad"})],
             chain=True)
    p = only_error(g)
    assert p.param == "shortcut" and "cannot shrink 16 channels to 8" in p.message


def test_values_hold_defaults_as_tuples() -> None:
    a = analyze(make([inp([8, 8, 1]), ("c", "Conv2D", {"kernel_size": [3, 5]})], chain=True))
    v = a.nodes["c"].values
    assert v["kernel_size"] == (3, 5) and v["strides"] == (1, 1) and v["filters"] == 32
    assert v["padding"] == "valid" and v["activation"] == "linear"


def test_checker_memo_gives_the_same_answers_and_sees_edits() -> None:
    checker = Checker()
    g = make(LENET, chain=True)
    first = checker.analyze(g)
    again = checker.analyze(g)
    assert again.total_params == first.total_params and again.macs == first.macs
    g.set_param("c1", "filters", 8)
    edited = checker.analyze(g)
    assert edited.nodes["c1"].shape == (28, 28, 8)
    assert edited.nodes["c3"].params == 5 * 5 * 8 * 16 + 16
    # 3, 3.0, true and "3" are different values; the memo must not mix them up.
    g.set_param("c1", "filters", 3.0)
    assert "filters must be an integer, not 3.0" in str(checker.analyze(g).errors[0])
    g.set_param("c1", "filters", 3)
    assert checker.analyze(g).valid


def test_params_that_are_not_json_data_do_not_crash() -> None:
    g = make([inp([8, 8, 1]), ("c", "Conv2D", {})], chain=True)
    g.set_param("c", "filters", {1, 2})  # via the API only; files cannot hold a set
    p = only_error(g)
    assert p.node == "c" and "filters must be an integer" in p.message
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    g.node("c").params["filters"] = deep
    assert only_error(g).node == "c"
