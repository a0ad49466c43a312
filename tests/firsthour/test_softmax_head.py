"""A classifier head without softmax (wave 5, found as a new user).

The palette's Dense defaults to ``activation: linear``. A first graph ``... -> Dense(10)`` passed
``check`` with 0 warnings and trained, but the training loss (sparse categorical cross-entropy on
probabilities: Keras clips the outputs to [1e-7, 1 - 1e-7] and takes their log) cannot learn
from raw scores: on the digits it reached ~40 % accuracy in 5 epochs where the same graph with a
softmax reached ~90 %. The checker now warns on the head layer, with a quick fix that sets its
activation to softmax; ``train`` prints the warning before it starts.
"""

from __future__ import annotations

import pytest

from playground.core import fileformat
from playground.core.commands import UndoStack
from playground.core.quickfix import available_fixes
from playground.core.shapes import analyze
from tests.reliability.helpers import document, run_cli, write_graph


def small(head: dict, *tail: dict, shape=(8, 8, 1)) -> dict:
    nodes = [{"id": "input", "type": "Input", "params": {"shape": list(shape)}},
             {"id": "conv", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 3,
                                                         "activation": "relu"}},
             {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}},
             {"id": "fc", "type": "Dense", "params": head}, *tail]
    ids = [n["id"] for n in nodes]
    return document(nodes, list(zip(ids, ids[1:], strict=False)), name="small")


def softmax_warnings(doc: dict) -> list[tuple[str, str]]:
    analysis = analyze(fileformat.from_document(doc))
    return [(p.node, p.message) for p in analysis.warnings if p.fix == "softmax_head"]


@pytest.mark.parametrize("doc, warned", [
    (small({"units": 10}), "fc"),
    (small({"units": 10, "activation": "relu"}), "fc"),
    (small({"units": 10}, {"id": "drop", "type": "Dropout", "params": {"rate": 0.5}}), "fc"),
    (small({"units": 10}, {"id": "act", "type": "Activation",
                           "params": {"activation": "log_softmax"}}), "fc"),
    (small({"units": 10, "activation": "softmax"}), None),
    (small({"units": 10}, {"id": "act", "type": "Activation",
                           "params": {"activation": "softmax"}}), None),
    (small({"units": 10}, {"id": "sm", "type": "Softmax", "params": {}},
           {"id": "drop", "type": "Dropout", "params": {"rate": 0.1}}), None),
], ids=["linear", "relu", "dropout-after", "log-softmax-after", "softmax", "activation-node",
        "softmax-block"])
def test_a_classifier_head_without_softmax_is_warned_on_the_head(doc, warned):
    found = softmax_warnings(doc)
    if warned is None:
        assert found == []
    else:
        (node, message), = found
        assert node == warned
        assert "no softmax" in message and "set this layer's activation to softmax" in message


def test_segmenters_and_every_preset_are_not_warned():
    from playground.core.presets import list_presets, load_preset

    for preset in list_presets():
        graph = load_preset(preset.key)
        assert [str(p) for p in analyze(graph).warnings if p.fix == "softmax_head"] == [], \
            preset.key
    # A per-pixel head (U-Net's sigmoid mask) is not a classifier's vector output.
    seg = document([{"id": "input", "type": "Input", "params": {"shape": [16, 16, 1]}},
                    {"id": "mask", "type": "Conv2D", "params": {"filters": 1, "kernel_size": 1,
                                                                "activation": "sigmoid"}}],
                   [("input", "mask")])
    assert softmax_warnings(seg) == []


def test_the_quick_fix_sets_softmax_and_undoes():
    graph = fileformat.from_document(small({"units": 10}))
    (problem,) = [p for p in analyze(graph).warnings if p.fix == "softmax_head"]
    (label, command), = available_fixes(graph, problem)
    assert label == "Use activation softmax"
    stack = UndoStack(graph)
    stack.push(command)
    assert graph.node("fc").params["activation"] == "softmax"
    assert analyze(graph).warnings == []
    stack.undo()
    assert "activation" not in graph.node("fc").params


def test_cli_check_and_train_print_the_warning(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    path = write_graph(tmp_path / "g.json", small({"units": 10}))
    code, out, _ = run_cli(capsys, "check", path)
    assert code == 0
    assert out.startswith("warning: node fc: this model output gets no softmax")
    assert "1 warning(s)" in out
    code, out, err = run_cli(capsys, "train", path, "--dataset", "digits", "--epochs", "1",
                             "--no-run")
    assert code == 0, err
    assert "warning: node fc: this model output gets no softmax" in err
    assert "epoch 1/1:" in out


def test_the_editor_offers_the_fix_in_the_problems_panel(window):
    from tests.ui.conftest import load_into

    load_into(window, fileformat.from_document(small({"units": 10})))
    analysis = window.doc.current_analysis()
    assert any(p.fix == "softmax_head" and p.node == "fc" for p in analysis.problems)
    problem = next(p for p in window.problems.problems if p.fix == "softmax_head")
    fixes = window.editor.fixes_for(problem)
    assert [label for label, _ in fixes] == ["Use activation softmax"]
    window.editor.apply_fix(*fixes[0])
    assert window.doc.graph.node("fc").params["activation"] == "softmax"
    assert not [p for p in window.doc.current_analysis().problems if p.fix == "softmax_head"]
    window.doc.undo_stack.undo()
    assert "activation" not in window.doc.graph.node("fc").params


# --------------------------------------------------------------- features without any head
def headless(pool: str = "GlobalAveragePooling2D") -> dict:
    """A backbone ending in its pooled features: keras.applications' include_top=False with
    pooling="avg" imports as this (the outsider's EfficientNetB0/VGG16 imports)."""
    nodes = [{"id": "input", "type": "Input", "params": {"shape": [8, 8, 1]}, "pos": [0, 0]},
             {"id": "conv", "type": "Conv2D", "params": {"filters": 16, "kernel_size": 3}},
             {"id": "pool", "type": pool, "params": {}, "pos": [520, 0]}]
    return document(nodes, [("input", "conv"), ("conv", "pool")], name="backbone")


@pytest.mark.parametrize("pool", ["GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten"])
def test_features_without_a_head_are_warned(pool):
    analysis = analyze(fileformat.from_document(headless(pool)))
    (problem,) = analysis.warnings
    assert (problem.node, problem.fix) == ("pool", "classifier_head")
    assert "no classifier head" in problem.message
    assert "probabilities of" in problem.message


def test_a_softmax_after_the_features_is_not_headless():
    """MobileNetV3 ends Conv2D 1x1 -> Flatten -> Activation(softmax): a head, not features."""
    doc = headless("Flatten")
    doc["nodes"].append({"id": "act", "type": "Activation", "params": {"activation": "softmax"}})
    doc["edges"].append({"from": "pool", "to": "act"})
    assert analyze(fileformat.from_document(doc)).warnings == []


def test_the_quick_fix_adds_a_softmax_head_that_training_retargets():
    from playground.core.retarget import find_heads

    graph = fileformat.from_document(headless())
    (problem,) = analyze(graph).warnings
    (label, command), = available_fixes(graph, problem)
    assert label == "Add a Dense softmax head"
    stack = UndoStack(graph)
    stack.push(command)
    (sink,) = graph.sinks()
    assert graph.node(sink).type == "Dense" and graph.inputs_of(sink) == ["pool"]
    assert graph.node(sink).params["activation"] == "softmax"
    assert graph.node(sink).pos == (780.0, 0.0)
    assert analyze(graph).warnings == []
    assert find_heads(graph) == [sink]     # its width follows the dataset's classes
    stack.undo()
    assert graph.sinks() == ["pool"]


def test_cli_train_of_a_headless_backbone_warns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    path = write_graph(tmp_path / "g.json", headless())
    code, out, err = run_cli(capsys, "train", path, "--dataset", "digits", "--epochs", "1",
                             "--no-run")
    assert code == 0, err
    assert "warning: node pool: this model output is a vector of 16 features with no " \
           "classifier head" in err
