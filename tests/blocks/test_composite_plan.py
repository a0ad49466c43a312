"""A composite described only by its plan is checked, compiled and expanded consistently.

The test declares a new composite (a depthwise-separable unit with a residual sum: depthwise 3x3,
BN, ReLU, pointwise 1x1, Add) in a few lines, as a newcomer would, and checks that the checker's
figures equal Keras' and that expanding it gives the same model.
"""

from __future__ import annotations

import numpy as np
import pytest

from playground import blocks
from playground.blocks import common_params as cp
from playground.blocks.composite import INPUT, Plan, plan_build, plan_infer
from playground.blocks.spec import BlockSpec
from playground.core.expand import expand_command
from playground.core.graph import Graph, Node
from playground.core.shapes import analyze


def unit_plan(p, in_shape) -> Plan:
    plan = Plan()
    x = plan.add("dw", "DepthwiseConv2D", {"kernel_size": 3, "padding": "same",
                                           "use_bias": False}, INPUT)
    x = plan.add("bn", "BatchNormalization", {}, x)
    x = plan.add("relu", "Activation", {"activation": "relu"}, x)
    x = plan.add("pw", "Conv2D", {"filters": in_shape[2], "kernel_size": 1}, x)
    plan.output = plan.add("add", "Add", {}, INPUT, x)
    return plan


UNIT = BlockSpec(type="SeparableResidualUnit", label="Unit", category="composite",
                 params=(cp.activation("relu"),), infer=plan_infer(unit_plan),
                 build=plan_build(unit_plan), composite=True, plan=unit_plan)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(blocks.CATALOGUE, UNIT.type, UNIT)


def graph() -> Graph:
    g = Graph("unit")
    g.add_node(Node("input", "Input", {"shape": [12, 12, 8]}, pos=(0, 0)))
    g.add_node(Node("unit", UNIT.type, {}, pos=(200, 0)))
    g.add_node(Node("gap", "GlobalAveragePooling2D", {}, pos=(400, 0)))
    g.add_edge("input", "unit")
    g.add_edge("unit", "gap")
    return g


def test_checker_keras_and_expansion_agree(registered):
    from playground.keras_build.compile import build

    g = graph()
    analysis = analyze(g)
    assert analysis.valid, analysis.problems
    report = analysis.nodes["unit"]
    # dw 3*3*8, BN 2*8 (+2*8 fixed), pw 8*8+8
    assert (report.trainable_params, report.non_trainable_params) == (72 + 16 + 72, 16)
    assert report.params == 72 + 16 + 72 + 16
    assert [i.name for i in report.inner] == ["dw", "bn", "relu", "pw", "add"]
    assert report.macs == 12 * 12 * 8 * 9 + 12 * 12 * 8 * 8
    assert report.depth == 2 and report.rf_size == (3, 3)

    model = build(g).model
    assert [layer.name for layer in model.layers[1:6]] == [
        "unit_dw", "unit_bn", "unit_relu", "unit_pw", "unit_add"]
    assert model.count_params() == analysis.total_params
    x = np.random.default_rng(0).normal(size=(2, 12, 12, 8)).astype("float32")
    before = model.predict(x, verbose=0)

    expanded = g.copy()
    expand_command(expanded, "unit").do(expanded)
    assert "unit" not in expanded and "unit_pw" in expanded
    after_analysis = analyze(expanded)
    assert after_analysis.total_params == analysis.total_params
    assert after_analysis.macs == analysis.macs
    model2 = build(expanded).model
    model2.set_weights(model.get_weights())
    np.testing.assert_allclose(model2.predict(x, verbose=0), before, atol=1e-5)
