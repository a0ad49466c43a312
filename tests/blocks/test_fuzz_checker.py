"""The checker must agree with Keras (issue 11): differential fuzzing on random graphs.

Hypothesis draws graphs from the whole catalogue (``tests/blocks/fuzzgraph.py``), params inside
their declared ranges and at their edges; each graph goes through the checker and through Keras
(the project's compiler plus a forward pass on a batch of 2, inference and training mode). Any
graph the checker accepts must build and run with the checker's shapes and weight counts; any
node it refuses must be refused by Keras too, save the deliberate strictnesses of docs/FORMAT.md.

Derandomized (a fixed seed) and bounded, so CI runs the same few hundred graphs every time, in
about 15 s; ``bench/fuzz_checker.py --examples N`` runs as many as you like with any seed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.core.shapes import analyze
from tests.blocks.fuzzgraph import DELIBERATE, deliberate, fuzz_specs, graph_json, graphs, judge

pytest.importorskip("keras")

EXAMPLES = 10  # per block type


@pytest.mark.parametrize("block", [spec.type for spec in fuzz_specs()])
def test_checker_agrees_with_keras_on_random_graphs(block: str) -> None:
    """Random graphs ending in ``block`` (after up to 4 random blocks the checker accepts)."""
    outcome: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(st.data())
    def one_graph(data: st.DataObject) -> None:
        g = data.draw(graphs(max_nodes=5, focus=block))
        outcome["valid" if analyze(g).valid else "refused"] += 1
        found = judge(g)
        assert not found, ("the checker and Keras disagree:\n  "
                           + "\n  ".join(str(d) for d in found) + f"\n  graph: {graph_json(g)}")

    one_graph()
    # Not degenerate: some graphs were valid, so shapes and weight counts were compared too.
    assert outcome["valid"] >= 1, outcome


@pytest.mark.parametrize(("block", "message", "expected"), [
    ("Softmax", "axis 0 is not a feature axis ... (axis 0 is the batch)", True),
    ("Conv2D", "axis 0 is the batch", False),
    ("Add", "Add takes at least 2 inputs, but 1 is connected", False),
])
def test_only_the_documented_strictnesses_are_excused(block: str, message: str,
                                                      expected: bool) -> None:
    assert deliberate(block, message) is expected


def _one_block(block: str, params: dict[str, Any]) -> Any:
    from playground.core.graph import Graph, Node

    g = Graph("t")
    g.add_node(Node("in0", "Input", {"shape": [6, 6, 2]}))
    g.add_node(Node("n0", block, params))
    g.add_edge("in0", "n0")
    return g


def test_judge_reports_false_refusals_acceptances_and_shapes(monkeypatch: Any) -> None:
    """The judge itself can fail: a rule that refuses what Keras runs, accepts what Keras
    refuses, or gets a shape wrong is reported with the node and the kind of disagreement."""
    from dataclasses import replace

    from playground.blocks import CATALOGUE
    from playground.blocks.spec import BlockProblem, Inference

    def refuse(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
        raise BlockProblem("made-up reason")

    def accept(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
        return Inference((2, 2, 4))

    def wrong(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
        return Inference((71,))

    conv = {"filters": 4, "strides": 2, "dilation_rate": 2}  # Keras refuses this pair
    for block, params, rule, kind in (("Flatten", {}, None, None),
                                      ("Flatten", {}, refuse, "refused"),
                                      ("Conv2D", conv, accept, "accepted"),
                                      ("Flatten", {}, wrong, "shape")):
        if rule is not None:
            monkeypatch.setitem(CATALOGUE, block, replace(CATALOGUE[block], infer=rule))
        found = judge(_one_block(block, params))
        assert [(d.kind, d.node) for d in found][:1] == ([(kind, "n0")] if kind else []), found
        monkeypatch.undo()


def test_every_excused_strictness_is_documented() -> None:
    """Each refusal the fuzzer excuses is explained in docs/FORMAT.md's table."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    section = doc.split("## Where the checker is stricter than Keras", 1)[1].split("\n## ", 1)[0]
    for types, _words in DELIBERATE:
        assert f"`{types[0]}`" in section, types[0]
    for also in ("rate` 1", "with one input"):  # refused before any rule runs: not fuzzed
        assert also in section


# docs/FORMAT.md's table, row by row: the checker refuses, Keras builds and runs it (batch of 2).
STRICTER: list[tuple[str, dict[str, Any], list[tuple[int, ...]], str]] = [
    ("Add", {}, [(4, 4, 2)], "takes at least 2 inputs"),
    ("Concatenate", {}, [(4, 4, 2)], "takes at least 2 inputs"),
    ("Softmax", {"axis": 0}, [(4, 4, 2)], "axis 0 is the batch"),
    ("Softmax", {"axis": -4}, [(4, 4, 2)], "axis 0 is the batch"),
    ("Concatenate", {"axis": 0}, [(4, 4, 2), (4, 4, 2)], "axis 0 is the batch"),
    ("Dropout", {"rate": 1.0}, [(4, 4, 2)], "rate must be below 1"),
    ("SpatialDropout2D", {"rate": 1}, [(4, 4, 2)], "rate must be below 1"),
    ("Resizing", {"height": 3, "width": 2}, [(4, 3)], "needs a H x W x C image tensor"),
]


@pytest.mark.parametrize(("block", "params", "shapes", "words"), STRICTER)
def test_documented_strictnesses_are_refused_here_and_run_in_keras(
        block: str, params: dict[str, Any], shapes: list[tuple[int, ...]], words: str) -> None:
    import keras
    import numpy as np

    from playground.blocks import CATALOGUE
    from playground.blocks.spec import resolve_params
    from playground.core.graph import Graph, Node
    from playground.keras_build.compile import _Context

    g = Graph("t")
    for i, shape in enumerate(shapes):
        g.add_node(Node(f"in{i}", "Input", {"shape": list(shape)}))
    g.add_node(Node("x", block, params))
    for i in range(len(shapes)):
        g.add_edge(f"in{i}", "x")
    errors = analyze(g).errors
    assert [p.node for p in errors] == ["x"] and words in errors[0].message, errors

    spec = CATALOGUE[block]
    values, problems = resolve_params(spec, params)
    values.update({p.param: params[p.param] for p in problems})  # what the file says
    inputs = [keras.Input(shape) for shape in shapes]
    output = spec.build(_Context("x"), values, inputs)
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], output)
    feed = [np.ones((2, *shape), "float32") for shape in shapes]
    for training in (False, True):
        model(feed if len(feed) > 1 else feed[0], training=training)
