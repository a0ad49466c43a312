"""Every preset takes a new input shape and class count; where the input is too small for it,
the checker names the layer where the size runs out."""

from __future__ import annotations

import pytest

from playground.core import retarget
from playground.core.minimum_input import minimum_input_message, size_problem, smallest_input
from playground.core.presets import load_preset
from playground.core.shapes import analyze
from playground.presetgen.registry import PRESETS

# A small input each preset is retargeted to (10 classes) in these tests and in test_keras.py.
SMALL = {"lenet5": [28, 28, 1], "alexnet": [96, 96, 3], "googlenet_aux": [96, 96, 3],
         "inception_naive_vs_bottleneck": [14, 14, 256], "unet": [64, 64, 1],
         "inception_v3": [75, 75, 3], "inception_resnet_v2": [75, 75, 3]}
SMALLEST = {"lenet5": 16, "alexnet": 67, "vgg16": 32, "vgg19": 32, "googlenet": 1,
            "googlenet_aux": 65, "inception_naive_vs_bottleneck": 1, "resnet18": 1,
            "resnet34": 1, "resnet50": 1, "unet": 16, "densenet121": 29, "mobilenet": 31,
            "inception_v3": 75, "inception_resnet_v2": 75, "mobilenet_v2": 31, "shufflenet": 1,
            "efficientnet_b0": 32}


def retargeted(key: str, classes: int = 10):
    graph = load_preset(key)
    retarget.set_input_shape(graph, SMALL.get(key, [64, 64, 3]))
    if key != "inception_naive_vs_bottleneck":
        retarget.set_classes(graph, classes)
    return graph


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_preset_retargets_to_a_small_input_and_ten_classes(key):
    analysis = analyze(retargeted(key))
    assert analysis.errors == []
    for shape in analysis.output_shapes():
        if key == "inception_naive_vs_bottleneck":
            assert shape[:2] == (14, 14)
        elif key == "unet":
            assert shape == (64, 64, 10)
        else:
            assert shape == (10,)


def test_heads_found_for_every_classifier():
    heads = {key: retarget.find_heads(load_preset(key)) for key in PRESETS
             if key != "inception_naive_vs_bottleneck"}
    assert heads["mobilenet"] == ["conv_preds"]
    assert heads["googlenet_aux"] == ["predictions", "aux1_predictions", "aux2_predictions"]
    assert heads["unet"] == ["mask"]
    assert all(heads[k] == ["predictions"] for k in heads
               if k not in ("mobilenet", "googlenet_aux", "unet"))
    graph = retargeted("mobilenet", classes=7)
    assert graph.node("reshape_2").params["target_shape"] == [7]


def test_comparison_graph_has_no_classifier_head():
    with pytest.raises(retarget.RetargetError, match="classifier head"):
        retarget.set_classes(load_preset("inception_naive_vs_bottleneck"), 10)


def test_alexnet_on_32x32_names_the_layer_where_the_size_runs_out():
    graph = load_preset("alexnet")
    retarget.set_input_shape(graph, [32, 32, 3])
    analysis = analyze(graph)
    problem = size_problem(analysis)
    assert problem is not None and problem.node == "pool2"
    assert "larger than its 2x2 input" in problem.message
    assert [p.node for p in analysis.errors] == ["pool2"]
    assert minimum_input_message(graph) == "AlexNet needs at least a 67x67x3 input"


def test_googlenet_aux_too_small_names_the_auxiliary_pool():
    graph = load_preset("googlenet_aux")
    retarget.set_input_shape(graph, [64, 64, 3])
    assert [p.node for p in analyze(graph).errors] == ["aux1_pool", "aux2_pool"]


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_smallest_input_of_each_preset(key):
    graph = load_preset(key)
    channels = graph.node("input").params["shape"][2]
    size = SMALLEST[key]
    assert smallest_input(graph) == [size, size, channels]
    retarget.set_input_shape(graph, [size, size, channels])
    assert analyze(graph).valid
    if size > 1:
        retarget.set_input_shape(graph, [size - 1, size - 1, channels])
        assert size_problem(analyze(graph)) is not None
