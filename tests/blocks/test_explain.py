"""Explain rules agree with the checker: every formula is evaluated and must give the number the
checker computes (output size per axis, params, MACs, memory, receptive field), for every block
of the catalogue in many configurations, every node of every preset, and the lecture's numbers.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from typing import Any

import pytest

from playground.blocks import CATALOGUE
from playground.blocks import explain as ex
from playground.core.explain import ExplainError, NodeExplanation, explain_graph, explain_node
from playground.core.graph import Graph, Node
from playground.core.presets import list_presets, load_preset
from playground.core.shapes import analyze

# ------------------------------------------------------------- formula evaluator
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv}
_FUNCS = {"floor": math.floor, "ceil": math.ceil, "max": max}


def evaluate(formula: str) -> float:
    """The value of a formula's left-hand side: numbers, + - * /, floor, ceil, max only."""
    lhs = formula.split(" = ")[0]
    lhs = re.sub(r"(?<=\d),(?=\d{3}\b)", "", lhs)   # digit groups: 34,944

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _FUNCS and not node.keywords):
            return _FUNCS[node.func.id](*(ev(a) for a in node.args))
        raise AssertionError(f"not plain arithmetic: {ast.dump(node)} in {formula!r}")

    return ev(ast.parse(lhs, mode="eval"))


def check_term(term: ex.Term, expected: float, where: str) -> list[str]:
    bad = []
    if not math.isclose(term.value, expected, rel_tol=1e-9, abs_tol=1e-9):
        bad.append(f"{where}: explained {term.value}, checker {expected}")
    if term.formula:
        got = evaluate(term.formula)
        if not math.isclose(got, expected, rel_tol=2e-3, abs_tol=1e-3):
            bad.append(f"{where}: {term.formula!r} evaluates to {got}, checker {expected}")
    return bad


def check_node(graph: Graph, nid: str, analysis=None) -> list[str]:
    """Every explained number of one node against the checker's report."""
    analysis = analysis or analyze(graph)
    report = analysis.nodes[nid]
    e: NodeExplanation = explain_node(graph, nid, analysis)
    where = f"{graph.name}/{nid} ({e.type})"
    bad = []
    if tuple(e.output.value) != tuple(report.shape):
        bad.append(f"{where}: output {e.output.value} != {report.shape}")
    if len(e.output.terms) != len(report.shape):
        bad.append(f"{where}: {len(e.output.terms)} axis terms for {report.shape}")
    for term, size in zip(e.output.terms, report.shape, strict=False):
        bad += check_term(term, size, f"{where} {term.name}")
    for name, quantity, expected in (("params", e.params, report.params),
                                     ("macs", e.macs, report.macs),
                                     ("memory", e.memory, report.memory_bytes)):
        (term,) = quantity.terms
        bad += check_term(term, expected, f"{where} {name}")
        if quantity.value != term.value:
            bad.append(f"{where} {name}: quantity {quantity.value} != term {term.value}")
    if (e.trainable_params, e.non_trainable_params) != (report.trainable_params,
                                                        report.non_trainable_params):
        bad.append(f"{where}: trainable split differs")
    if report.rf_size is None:
        if e.receptive_field.value is not None:
            bad.append(f"{where}: receptive field {e.receptive_field.value}, checker none")
    else:
        for term, size in zip(e.receptive_field.terms, report.rf_size, strict=True):
            bad += check_term(term, size, f"{where} rf {term.name}")
        for term, jump in zip(e.jump.terms, report.rf_jump or (), strict=False):
            bad += check_term(term, jump, f"{where} jump {term.name}")
    if e.branches:
        if sum(b.params for b in e.branches) != report.params:
            bad.append(f"{where}: branch params do not sum to the node's")
        if sum(b.macs for b in e.branches) != report.macs:
            bad.append(f"{where}: branch MACs do not sum to the node's")
        for b in e.branches:
            for row in b.layers:
                for formula, value in ((row.params_formula, row.params),
                                       (row.macs_formula, row.macs)):
                    if formula and not math.isclose(evaluate(formula), value):
                        bad.append(f"{where} {row.name}: {formula!r} != {value}")
                    if not formula and value:
                        bad.append(f"{where} {row.name}: {value} without a formula")
    return bad


# ---------------------------------------------------------------------- cases
Case = tuple[str, dict[str, Any], list[tuple[int, ...]], bool]
IMG, ODD = (12, 12, 4), (13, 11, 6)


def _cases() -> list[Case]:
    c: list[Case] = []

    def add(t: str, p: dict[str, Any], *shapes: tuple[int, ...], trainable: bool = True) -> None:
        c.append((t, p, list(shapes), trainable))

    add("Input", {"shape": [9, 7, 3]})
    for shape in (IMG, ODD):
        for k in (1, 3, [3, 5], 4):
            for s in (1, 2, [2, 1], 3):
                for pad in ("valid", "same"):
                    add("Conv2D", {"filters": 8, "kernel_size": k, "strides": s, "padding": pad},
                        shape)
        add("Conv2D", {"filters": 6, "kernel_size": 3, "dilation_rate": 2}, shape)
        add("Conv2D", {"filters": 6, "kernel_size": [3, 2], "dilation_rate": [2, 3],
                       "padding": "same", "use_bias": False}, shape)
        add("Conv2D", {"filters": 8, "kernel_size": 3, "groups": 2}, shape)
        add("Conv2D", {"filters": 5, "kernel_size": 3, "strides": 2}, shape, trainable=False)
        for k, s, pad, dm in ((3, 1, "valid", 1), (3, 2, "same", 2), ([5, 3], [1, 2], "valid", 3),
                              (4, 3, "same", 1)):
            add("DepthwiseConv2D", {"kernel_size": k, "strides": s, "padding": pad,
                                    "depth_multiplier": dm}, shape)
            add("SeparableConv2D", {"filters": 7, "kernel_size": k, "strides": s,
                                    "padding": pad, "depth_multiplier": dm}, shape)
            add("Conv2DTranspose", {"filters": 5, "kernel_size": k, "strides": s,
                                    "padding": pad}, shape)
        add("DepthwiseConv2D", {"kernel_size": 3, "dilation_rate": 2, "use_bias": False}, shape)
        add("SeparableConv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": [2, 1],
                                "use_bias": False, "padding": "same"}, shape)
        add("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "dilation_rate": 2}, shape)
        add("Conv2DTranspose", {"filters": 3, "kernel_size": 2, "dilation_rate": 3,
                                "padding": "same", "use_bias": False}, shape)
    for pool in ("MaxPooling2D", "AveragePooling2D"):
        for shape in (IMG, ODD):
            for size, s, pad in ((2, None, "valid"), (3, 2, "valid"), (3, 2, "same"),
                                 ([2, 3], [1, 2], "same"), (5, None, "same")):
                add(pool, {"pool_size": size, "strides": s, "padding": pad}, shape)
    for pool in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        for keep in (False, True):
            add(pool, {"keepdims": keep}, ODD)
    add("Dense", {"units": 10}, (37,))
    add("Dense", {"units": 3, "use_bias": False}, (8,))
    add("Dense", {"units": 4}, (5, 3, 6))
    add("Dense", {"units": 7}, (20,), trainable=False)
    add("Flatten", {}, ODD)
    for target in ([-1], [13, -1], [11, 13, 6], [2, 3, 11, -1]):
        add("Reshape", {"target_shape": target}, ODD)
    add("Dropout", {"rate": 0.25}, ODD)
    add("SpatialDropout2D", {"rate": 0.1}, ODD)
    for center, scale in ((True, True), (False, True), (False, False)):
        add("BatchNormalization", {"center": center, "scale": scale}, ODD)
        add("LayerNormalization", {"center": center, "scale": scale}, ODD)
    add("BatchNormalization", {}, (16,))
    add("BatchNormalization", {}, ODD, trainable=False)
    add("LocalResponseNormalization", {"depth_radius": 2}, ODD)
    add("Activation", {"activation": "tanh"}, ODD)
    add("ReLU", {"max_value": 6.0}, ODD)
    add("LeakyReLU", {"negative_slope": 0.1}, ODD)
    add("Softmax", {}, (9,))
    for pad in (1, [2, 3], [[1, 2], [0, 3]]):
        add("ZeroPadding2D", {"padding": pad}, ODD)
        add("Cropping2D", {"cropping": pad}, ODD)
    add("UpSampling2D", {"size": [3, 2]}, ODD)
    add("Resizing", {"height": 7, "width": 19}, ODD)
    add("ZeroPadChannels", {"pad": 5}, ODD)
    for merge in ("Add", "Multiply", "Average", "Maximum"):
        add(merge, {}, ODD, ODD)
    add("Multiply", {}, ODD, (1, 1, ODD[2]))        # a squeeze-excite gate, broadcast
    add("ScaledAdd", {"scale": 0.2}, ODD, ODD)
    for groups, center, scale in ((1, True, True), (2, True, True), (3, False, True),
                                  (6, False, False)):
        add("GroupNormalization", {"groups": groups, "center": center, "scale": scale}, ODD)
    add("LayerScale", {"init_values": 1e-6}, ODD)
    add("StochasticDepth", {"rate": 0.1}, ODD)
    add("Permute", {"dims": [2, 1, 3]}, ODD)
    add("Permute", {"dims": [3, 1, 2]}, ODD)
    add("ChannelShuffle", {"groups": 2}, ODD)
    add("Rescaling", {"scale": 1 / 255, "offset": -1.0}, ODD)
    add("Rescaling", {"scale": [0.5, 0.25, 1.0, 1.0, 2.0, 1.0], "offset": 0.0}, ODD)
    add("Normalization", {"mean": 0.5, "variance": 0.25}, ODD)
    add("Normalization", {}, ODD)
    add("Concatenate", {}, (13, 11, 2), (13, 11, 5), (13, 11, 1))
    add("Concatenate", {"axis": 1}, (3, 11, 2), (13, 11, 2))
    add("Concatenate", {}, (4,), (6,))
    for extra in ({}, {"f3x3_reduce": 0, "f5x5_reduce": 0, "pool_proj": 0},
                  {"f1x1": 0, "f3x3_reduce": 0, "f5x5_reduce": 0, "f3x3": 0, "f5x5": 0,
                   "pool_proj": 0},
                  {"f5x5": 0, "f5x5_reduce": 0}, {"batch_norm": True},
                  {"batch_norm": True, "activation": "linear"}):
        add("InceptionModule", {"f1x1": 8, "f3x3_reduce": 4, "f3x3": 8, "f5x5_reduce": 2,
                                "f5x5": 4, "pool_proj": 4, **extra}, ODD)
    add("InceptionModule", {"batch_norm": True}, (7, 7, 16), trainable=False)
    for kind in ("basic", "bottleneck"):
        for shortcut in ("projection", "zero_pad"):
            for strides in (1, 2):
                for stride_on in ("1x1", "3x3"):
                    if kind == "basic" and stride_on == "3x3":
                        continue
                    add("ResidualBlock", {"filters": 4, "kind": kind, "shortcut": shortcut,
                                          "strides": strides, "stride_on": stride_on,
                                          "use_bias": strides == 2}, (9, 7, 3))
        add("ResidualBlock", {"filters": 4, "kind": kind},
            (8, 8, 4 if kind == "basic" else 16))
    return c


CASES = _cases()


def _graph(case: Case) -> Graph:
    block_type, params, shapes, trainable = case
    g = Graph("case")
    if block_type == "Input":
        g.add_node(Node("x", "Input", dict(params)))
        return g
    for i, shape in enumerate(shapes):
        g.add_node(Node(f"in{i}", "Input", {"shape": list(shape)}))
    # A strided conv first, so the receptive-field arithmetic starts from a jump of 2.
    g.add_node(Node("pre", "Conv2D" if len(shapes[0]) == 3 else "Dense",
                    {"filters": shapes[0][2], "kernel_size": 3, "strides": 2, "padding": "same"}
                    if len(shapes[0]) == 3 else {"units": shapes[0][-1]}))
    g.add_edge("in0", "pre")
    g.add_node(Node("x", block_type, dict(params), trainable=trainable))
    g.add_edge("pre", "x")
    for i in range(1, len(shapes)):
        g.add_edge(f"in{i}", "x")
    return g


def _upsized(case: Case) -> Case:
    """The strided pre-conv halves H and W: give it twice the size so the block sees ``shape``."""
    t, p, shapes, trainable = case
    first = shapes[0]
    if len(first) == 3 and t != "Input":
        first = (first[0] * 2, first[1] * 2, first[2])
    return t, p, [first, *shapes[1:]], trainable


def test_every_catalogue_block_has_an_exact_explanation():
    """A block with weights or MACs must carry its own rule; the generic rule is only exact for
    parameter-free blocks. Each block type appears in the cases below."""
    covered = {case[0] for case in CASES}
    assert set(CATALOGUE) <= covered, (
        f"no explain case for {sorted(set(CATALOGUE) - covered)}: add one to _cases() here")
    missing = [t for t, spec in CATALOGUE.items() if spec.explain is None]
    assert not missing, (f"blocks without an explain rule: {missing} (BlockSpec.explain, see "
                         "docs/DEVELOPING.md 'The explain rule of a block')")


def test_each_explained_value_matches_the_checker():
    failures = []
    for case in CASES:
        g = _graph(_upsized(case)) if case[0] != "Input" else _graph(case)
        analysis = analyze(g)
        assert analysis.nodes["x"].shape is not None, (case, analysis.problems)
        failures += check_node(g, "x", analysis)
    assert not failures, "\n".join(failures[:30])


def test_generic_rule_is_exact_for_parameter_free_blocks_and_says_when_it_is_not():
    from playground.blocks.spec import Inference

    plain = ex.generic({}, [(4, 4, 3)], Inference((4, 4, 3)))
    assert [t.value for t in plain.axes] == [4, 4, 3] and plain.params.value == 0
    assert plain.macs.value == 0 and not plain.notes
    weighted = ex.generic({}, [(4, 4, 3)], Inference((2, 2, 8), params=40, macs=400))
    assert weighted.params.value == 40 and weighted.params.formula == ""
    assert "no explain rule" in weighted.notes[0]


@pytest.mark.parametrize("key", [p.key for p in list_presets()])
def test_every_preset_node_is_explained_exactly(key):
    graph = load_preset(key)
    analysis = analyze(graph)
    explained, skipped = explain_graph(graph, analysis)
    assert not skipped and len(explained) == len(graph)
    failures = [line for nid in analysis.order for line in check_node(graph, nid, analysis)]
    assert not failures, "\n".join(failures[:30])


# ------------------------------------------------------------- the lecture's numbers
def test_alexnet_conv1_is_the_lectures_arithmetic():
    graph = load_preset("alexnet")
    e = explain_node(graph, "conv1")
    height = e.output.terms[0]
    assert height.text().startswith("(227 - 11 + 2*0) / 4 + 1 = 55")
    assert e.params.formula.startswith("(11*11*3 + 1) * 96 = 34,944")
    assert e.macs.formula.startswith("55*55*96 * 11*11*3 = 105,415,200")
    assert e.receptive_field.value == [11, 11]
    pool1 = explain_node(graph, "pool1")
    assert pool1.output.terms[0].text().startswith("(55 - 3 + 2*0) / 2 + 1 = 27")
    # The receptive field's growth, layer by layer, ends at the node's own (and the checker's).
    conv5 = explain_node(graph, "conv5")
    growth = [(nid, rf[0]) for nid, rf, _jump in conv5.rf_growth]
    assert growth == [("input", 1), ("conv1", 11), ("norm1", 11), ("pool1", 19), ("conv2", 51),
                      ("norm2", 51), ("pool2", 67), ("conv3", 99), ("conv4", 131),
                      ("conv5", 163)]
    assert explain_node(graph, "fc6").rf_growth == []


def test_bottleneck_inception_itemised_shows_the_notes_double_count():
    """271,351,808 MACs, itemised; the notes' '358M' is this total plus the 3x3 term again."""
    graph = load_preset("inception_naive_vs_bottleneck")
    e = explain_node(graph, "bottleneck")
    assert e.macs.value == 271_351_808
    layers = {r.name: r for b in e.branches for r in b.layers}
    three = layers["bottleneck_3x3"]
    assert three.macs_formula == "28*28*192 * 3*3*64" and three.macs == 86_704_128
    slide_terms = [28 * 28 * 64 * 256, 28 * 28 * 64 * 256, 28 * 28 * 128 * 256,
                   28 * 28 * 192 * 9 * 64, 28 * 28 * 96 * 25 * 64, 28 * 28 * 64 * 256]
    assert sorted(r.macs for r in layers.values() if r.macs) == sorted(slide_terms)
    assert sum(slide_terms) == e.macs.value
    double_counted = e.macs.value + three.macs
    assert double_counted == 358_055_936 and round(double_counted / 1e6) == 358
    assert [b.name for b in e.branches] == ["1x1", "3x3", "5x5", "pool", "concat"]
    assert explain_node(graph, "naive").macs.value == 854_196_224


def test_same_padding_and_floor_are_spelt_out():
    g = _graph(("Conv2D", {"filters": 4, "kernel_size": 7, "strides": 2, "padding": "same"},
                [(448, 448, 3)], True))
    height = explain_node(g, "x").output.terms[0]
    assert height.text().startswith("ceil(224 / 2) = 112")
    assert "5 zeros added: 2 before, 3 after" in height.note
    g = _graph(("MaxPooling2D", {"pool_size": 3, "strides": 2}, [(28, 28, 3)], True))
    height = explain_node(g, "x").output.terms[0]
    assert height.formula == "floor((14 - 3 + 2*0) / 2) + 1" and height.value == 6


def test_batchnorm_two_trainable_two_fixed_per_channel():
    g = _graph(("BatchNormalization", {}, [(16, 16, 96)], True))
    e = explain_node(g, "x")
    assert e.params.formula.startswith("2*96 + 2*96 = 384")
    assert (e.trainable_params, e.non_trainable_params) == (192, 192)


def test_unknown_and_broken_nodes_are_named():
    graph = load_preset("alexnet")
    with pytest.raises(ExplainError, match="no node 'conv9'"):
        explain_node(graph, "conv9")
    graph.set_param("input", "shape", [32, 32, 3])   # AlexNet at 32x32: too small
    analysis = analyze(graph)
    broken = next(p.node for p in analysis.errors if p.node)
    with pytest.raises(ExplainError, match=f"node {broken}: cannot explain"):
        explain_node(graph, broken, analysis)
    explained, skipped = explain_graph(graph, analysis)
    assert explained and skipped and all("cannot explain" in s for s in skipped)


def test_a_failing_rule_names_its_node_and_spares_the_others(monkeypatch):
    import dataclasses

    from playground import blocks

    def broken(values, in_shapes, inference):
        raise ZeroDivisionError("division by zero")

    spec = blocks.CATALOGUE["Flatten"]
    monkeypatch.setitem(blocks.CATALOGUE, "Flatten", dataclasses.replace(spec, explain=broken))
    graph = load_preset("alexnet")
    explained, skipped = explain_graph(graph)
    assert skipped == ["node flatten: the explain rule of Flatten failed (ZeroDivisionError: "
                       "division by zero)"]
    assert len(explained) == len(graph) - 1


def test_a_squeeze_excite_gate_does_not_end_the_receptive_field():
    """Multiply(features, 1x1xC gate): the gate has no field, so the product keeps the features'
    (as the checker says); explain used to crash on the gate's missing field."""
    graph = Graph(name="se")
    graph.add_node(Node("input", "Input", {"shape": [16, 16, 8]}))
    graph.add_node(Node("conv", "Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}))
    graph.add_node(Node("squeeze", "GlobalAveragePooling2D", {}))
    graph.add_node(Node("reshape", "Reshape", {"target_shape": [1, 1, 8]}))
    graph.add_node(Node("excite", "Conv2D", {"filters": 8, "kernel_size": 1,
                                             "activation": "sigmoid"}))
    graph.add_node(Node("scale", "Multiply", {}))
    for a, b in (("input", "conv"), ("conv", "squeeze"), ("squeeze", "reshape"),
                 ("reshape", "excite"),
                 ("conv", "scale"), ("excite", "scale")):
        graph.add_edge(a, b)
    analysis = analyze(graph)
    assert analysis.nodes["excite"].rf_size is None
    expl = explain_node(graph, "scale", analysis)
    assert expl.receptive_field.value == [3, 3]
    assert not check_node(graph, "scale", analysis)
    assert "broadcast" in expl.output.terms[0].note and "each of" not in expl.output.terms[0].note
    plain = explain_node(graph, "conv", analysis)
    assert plain.output.terms[0].value == 16
