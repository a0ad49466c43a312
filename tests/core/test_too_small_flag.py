""""The spatial size ran out here" is a typed flag (``BlockProblem.too_small`` carried onto
``Problem.too_small``), not a phrase: every catalogue block that can run out of space sets it,
other errors never do, and the "needs at least HxWxC" search works whatever the wording."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from playground.blocks import CATALOGUE
from playground.blocks.spec import BlockProblem, BlockSpec, Inference
from playground.core.graph import Graph, Node
from playground.core.minimum_input import minimum_input_message, size_problem, smallest_input
from playground.core.presets import load_preset
from playground.core.shapes import Checker, Problem
from tests.presets.test_minimum_input import chain

CHANNELS = 4
TINY = 1      # a 1x1 input: any window, crop or stride-free valid kernel above 1 runs out
ROOMY = 64    # far larger than any window the variants below use
WINDOW = 3    # the size each window/crop param is set to in turn
# Blocks known to run out of space; the catalogue scan must find at least these, so the
# per-block test cannot pass by finding none.
KNOWN_TO_RUN_OUT = {"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D",
                    "AveragePooling2D", "Cropping2D"}
TAKES_INPUTS = sorted(t for t, spec in CATALOGUE.items() if spec.min_inputs > 0)


def block_graph(type_name: str, params: dict[str, Any], shape: list[int]) -> Graph:
    """Input(shape) -> block; a block taking several inputs gets each through its own ReLU."""
    graph = Graph("tiny")
    graph.add_node(Node("input", "Input", {"shape": list(shape)}))
    graph.add_node(Node("block", type_name, dict(params)))
    n_in = CATALOGUE[type_name].min_inputs
    if n_in == 1:
        graph.add_edge("input", "block")
        return graph
    for i in range(n_in):
        graph.add_node(Node(f"feed{i}", "ReLU", {}))
        graph.add_edge("input", f"feed{i}")
        graph.add_edge(f"feed{i}", "block")
    return graph


def block_error(type_name: str, params: dict[str, Any], shape: list[int]) -> Problem | None:
    errors = Checker().analyze(block_graph(type_name, params, shape)).errors
    assert all(p.node == "block" for p in errors), [str(p) for p in errors]
    return errors[0] if errors else None


def variants(spec: BlockSpec) -> list[dict[str, Any]]:
    """The defaults, then each window-like param (an int pair or a padding/cropping) at WINDOW
    in turn: together they reach every way the catalogue's blocks can outgrow a 1x1 input."""
    found: list[dict[str, Any]] = [{}]
    for p in spec.params:
        if p.kind in ("pair", "pad2"):
            found.append({p.name: WINDOW})
    return found


def runs_out(type_name: str) -> list[tuple[dict[str, Any], Problem]]:
    """(params, error at TINY) for each variant that fails at TINY but checks at ROOMY: only the
    input size differs, so the error says the size ran out, whatever its words."""
    found = []
    for params in variants(CATALOGUE[type_name]):
        if block_error(type_name, params, [ROOMY, ROOMY, CHANNELS]) is None:
            tiny = block_error(type_name, params, [TINY, TINY, CHANNELS])
            if tiny is not None:
                found.append((params, tiny))
    return found


def types_that_run_out() -> list[str]:
    return [t for t in TAKES_INPUTS if runs_out(t)]


@pytest.mark.parametrize("type_name", TAKES_INPUTS)
def test_each_block_flags_running_out_and_nothing_else(type_name):
    for params, problem in runs_out(type_name):
        assert problem.too_small, f"{type_name} {params}: {problem.message}"
    for params in variants(CATALOGUE[type_name]):
        roomy = block_error(type_name, params, [ROOMY, ROOMY, CHANNELS])
        assert roomy is None or not roomy.too_small, f"{type_name} {params}: {roomy.message}"


def test_the_scan_finds_the_blocks_known_to_run_out():
    found = set(types_that_run_out())
    assert KNOWN_TO_RUN_OUT <= found, KNOWN_TO_RUN_OUT - found
    # Composites pad "same" everywhere, so they never run out.
    assert not found & {"ResidualBlock", "InceptionModule"}


@pytest.mark.parametrize("type_name", sorted(KNOWN_TO_RUN_OUT))
def test_wrong_rank_and_bad_params_are_not_size_problems(type_name):
    spec = CATALOGUE[type_name]
    flat = block_error(type_name, {}, [ROOMY * ROOMY])
    assert flat is not None and "H x W x C" in flat.message and not flat.too_small
    window = next(p.name for p in spec.params if p.kind in ("pair", "pad2"))
    bad = block_error(type_name, {window: -1}, [TINY, TINY, CHANNELS])
    assert bad is not None and bad.param == window and not bad.too_small


def test_other_shape_errors_are_not_size_problems():
    grouped = block_error("Conv2D", {"filters": 6, "groups": 4}, [8, 8, CHANNELS])
    assert grouped is not None and grouped.param == "groups" and not grouped.too_small
    dilated = block_error("Conv2D", {"strides": 2, "dilation_rate": 2}, [TINY, TINY, CHANNELS])
    assert dilated is not None and dilated.param == "dilation_rate" and not dilated.too_small
    reshaped = block_error("Reshape", {"target_shape": [3, 5]}, [2, 2, CHANNELS])
    assert reshaped is not None and not reshaped.too_small


def test_block_problem_flag_is_keyword_only_and_off_by_default():
    assert BlockProblem("x").too_small is False
    assert BlockProblem("x", "p", "padding_same", too_small=True).too_small is True
    with pytest.raises(TypeError):
        BlockProblem("x", "p", "padding_same", True)  # type: ignore[misc]


def test_the_checker_flags_an_output_size_of_zero(monkeypatch):
    # A rule that returns a zero size instead of raising: the checker's own guard flags it.
    fake = dataclasses.replace(CATALOGUE["ReLU"],
                               infer=lambda p, shapes: Inference((0, shapes[0][1], 1)))
    monkeypatch.setitem(CATALOGUE, "ReLU", fake)
    problem = block_error("ReLU", {}, [ROOMY, ROOMY, CHANNELS])
    assert problem is not None and problem.too_small


def reworded(spec: BlockSpec, message: str) -> BlockSpec:
    """The spec with every flagged problem of its rule re-raised with ``message``."""
    def infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
        try:
            return spec.infer(p, shapes)
        except BlockProblem as problem:
            if problem.too_small:
                raise BlockProblem(message, problem.param, problem.fix, too_small=True) from None
            raise
    return dataclasses.replace(spec, infer=infer)


def test_rewording_every_size_message_keeps_the_hint(monkeypatch):
    mixed = chain([8, 8, 3], ("Conv2D", {"kernel_size": 5}), ("Cropping2D", {"cropping": 2}),
                  ("MaxPooling2D", {"pool_size": 3}), ("Flatten", {}), ("Dense", {"units": 2}))
    alexnet = load_preset("alexnet")
    before = (smallest_input(mixed), minimum_input_message(alexnet))
    # 8 - 4 (conv) - 4 (crop) must leave the 3x3 pool its window: 11.
    assert before == ([11, 11, 3], "AlexNet needs at least a 67x67x3 input")
    for type_name in types_that_run_out():
        monkeypatch.setitem(CATALOGUE, type_name, reworded(CATALOGUE[type_name], "no room"))
    # The patch took: the error reads "no room", none of the old phrases.
    problem = Checker().analyze(mixed).errors[0]
    assert (problem.message, problem.node, problem.too_small) == ("no room", "n1", True)
    assert size_problem(Checker().analyze(mixed)).message == "no room"
    assert (smallest_input(mixed), minimum_input_message(alexnet)) == before


def test_the_wording_alone_no_longer_makes_a_size_problem(monkeypatch):
    conv = CATALOGUE["Conv2D"]

    def infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
        if shapes[0][0] < 5:
            raise BlockProblem("the input is too small here (kernel 5x5 is larger than its "
                               "input; cropping leaves nothing; size of zero or below)")
        return conv.infer(p, shapes)

    monkeypatch.setitem(CATALOGUE, "Conv2D", dataclasses.replace(conv, infer=infer))
    graph = chain([4, 4, 1], ("Conv2D", {"padding": "same"}))
    analysis = Checker().analyze(graph)
    assert not analysis.valid and size_problem(analysis) is None
