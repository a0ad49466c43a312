"""Every bundled preset loads, checks valid and has its published size (pure checker, fast)."""

from __future__ import annotations

import pytest

from playground.core.presets import load_preset, presets_dir
from playground.core.shapes import analyze
from playground.presetgen.registry import PRESETS

# key: (total params, trainable params, output shapes). Sources: the papers, torchvision's
# model cards (ResNet-18/34 trainable), keras.applications' count_params() (the twins, also
# checked against Keras itself in test_keras.py), and Keras for GoogLeNet/U-Net.
PUBLISHED = {
    "lenet5": (61_706, 61_706, [(10,)]),
    "alexnet": (62_378_344, 62_378_344, [(1000,)]),
    "vgg16": (138_357_544, 138_357_544, [(1000,)]),
    "vgg19": (143_667_240, 143_667_240, [(1000,)]),
    "googlenet": (6_998_552, 6_998_552, [(1000,)]),
    "googlenet_aux": (13_378_280, 13_378_280, [(1000,), (1000,), (1000,)]),
    "inception_naive_vs_bottleneck": (1_436_672, 1_436_672, [(28, 28, 672), (28, 28, 480)]),
    "resnet18": (11_689_512 + 9_600, 11_689_512, [(1000,)]),
    "resnet34": (21_797_672 + 17_024, 21_797_672, [(1000,)]),
    "resnet50": (25_636_712, 25_583_592, [(1000,)]),
    "unet": (31_030_593, 31_030_593, [(32, 32, 1)]),
    "densenet121": (8_062_504, 7_978_856, [(1000,)]),
    "mobilenet": (4_253_864, 4_231_976, [(1000,)]),
    "inception_v3": (23_851_784, 23_817_352, [(1000,)]),
    "inception_resnet_v2": (55_873_736, 55_813_192, [(1000,)]),
    "mobilenet_v2": (3_538_984, 3_504_872, [(1000,)]),
    "shufflenet": (1_890_208, 1_865_728, [(1000,)]),     # ShuffleNet paper Table 1, g = 3
    "efficientnet_b0": (5_330_571, 5_288_548, [(1000,)]),
}
INPUTS = {"lenet5": [32, 32, 1], "alexnet": [227, 227, 3], "unet": [32, 32, 1],
          "inception_naive_vs_bottleneck": [28, 28, 256], "inception_v3": [299, 299, 3],
          "inception_resnet_v2": [299, 299, 3]}
TWINS = {"vgg16": "VGG16", "vgg19": "VGG19", "resnet50": "ResNet50",
         "mobilenet": "MobileNet", "densenet121": "DenseNet121", "inception_v3": "InceptionV3",
         "inception_resnet_v2": "InceptionResNetV2", "mobilenet_v2": "MobileNetV2",
         "efficientnet_b0": "EfficientNetB0"}
# Twins whose node ids are readable names, not Keras' auto names (conv2d_17): their weighted
# layers match Keras' in order (tests/presets/test_modern_presets.py), not by name.
IN_ORDER_TWINS = {"inception_v3", "inception_resnet_v2"}
# Twins checked in test_modern_presets.py rather than by test_keras.py's by-name comparison with
# a weights=None model (EfficientNet-B0 carries the extra Rescaling of Keras' ImageNet model).
OWN_TWIN_TESTS = IN_ORDER_TWINS | {"efficientnet_b0"}


def test_every_preset_file_is_listed_and_generated():
    files = sorted(p.stem for p in presets_dir().glob("*.json"))
    assert files == sorted(PRESETS) == sorted(PUBLISHED)


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_preset_checks_valid_with_published_counts(key):
    graph = load_preset(key)
    analysis = analyze(graph)
    assert analysis.errors == []
    # Not even the comparison graph warns: its two modules are natural outputs.
    assert analysis.warnings == []
    total, trainable, outputs = PUBLISHED[key]
    assert analysis.total_params == total
    assert analysis.trainable_params == trainable
    assert analysis.non_trainable_params == total - trainable
    assert analysis.output_shapes() == outputs
    inputs = [n for n in graph.nodes if n.type == "Input"]
    assert len(inputs) == 1
    assert inputs[0].params["shape"] == INPUTS.get(key, [224, 224, 3])


def test_resnet_batchnorm_statistics_are_the_non_trainable_params():
    # torchvision counts 11,689,512 / 21,797,672; Keras adds BN moving mean and variance.
    assert analyze(load_preset("resnet18")).non_trainable_params == 9_600
    assert analyze(load_preset("resnet34")).non_trainable_params == 17_024


def test_alexnet_first_layers():
    analysis = analyze(load_preset("alexnet"))
    conv1, pool1 = analysis.nodes["conv1"], analysis.nodes["pool1"]
    assert conv1.shape == (55, 55, 96) and conv1.params == 34_944
    assert pool1.shape == (27, 27, 96)
    assert analysis.nodes["pool5"].shape == (6, 6, 256)
    assert [analysis.nodes[i].params for i in ("fc6", "fc7", "predictions")] == [
        37_752_832, 16_781_312, 4_097_000]
    assert [analysis.nodes[i].values["rate"] for i in ("drop6", "drop7")] == [0.5, 0.5]
    assert analysis.depth == 8


# Szegedy et al. 2014, Table 1: widths, output channels and spatial size of each module.
GOOGLENET_TABLE = {
    "3a": ((64, 96, 128, 16, 32, 32), 256, 28),
    "3b": ((128, 128, 192, 32, 96, 64), 480, 28),
    "4a": ((192, 96, 208, 16, 48, 64), 512, 14),
    "4b": ((160, 112, 224, 24, 64, 64), 512, 14),
    "4c": ((128, 128, 256, 24, 64, 64), 512, 14),
    "4d": ((112, 144, 288, 32, 64, 64), 528, 14),
    "4e": ((256, 160, 320, 32, 128, 128), 832, 14),
    "5a": ((256, 160, 320, 32, 128, 128), 832, 7),
    "5b": ((384, 192, 384, 48, 128, 128), 1024, 7),
}
WIDTH_KEYS = ("f1x1", "f3x3_reduce", "f3x3", "f5x5_reduce", "f5x5", "pool_proj")


@pytest.mark.parametrize("key", ["googlenet", "googlenet_aux"])
def test_googlenet_follows_the_papers_table(key):
    graph = load_preset(key)
    analysis = analyze(graph)
    for module, (widths, channels, size) in GOOGLENET_TABLE.items():
        node = graph.node(f"inception_{module}")
        assert node.type == "InceptionModule"
        assert tuple(node.params[k] for k in WIDTH_KEYS) == widths, module
        report = analysis.nodes[node.id]
        assert report.values["batch_norm"] is False
        assert report.shape == (size, size, channels), module
    assert analysis.nodes["conv1"].shape == (112, 112, 64)
    assert analysis.nodes["pool2"].shape == (28, 28, 192)
    assert analysis.nodes["avg_pool"].shape == (1024,)
    assert [n.id for n in graph.nodes if n.type == "LocalResponseNormalization"] == [
        "norm1", "norm2"]
    assert not any(n.type == "BatchNormalization" for n in graph.nodes)
    assert all(analysis.nodes[n.id].values.get("use_bias", True) for n in graph.nodes)
    assert analysis.depth == 22


def test_googlenet_auxiliary_classifiers():
    graph = load_preset("googlenet_aux")
    analysis = analyze(graph)
    assert analysis.outputs == ["predictions", "aux1_predictions", "aux2_predictions"]
    assert graph.extra["loss_weights"] == {"predictions": 1.0, "aux1_predictions": 0.3,
                                           "aux2_predictions": 0.3}
    for head, tap in (("aux1", "inception_4a"), ("aux2", "inception_4d")):
        assert graph.inputs_of(f"{head}_pool") == [tap]
        pool = analysis.nodes[f"{head}_pool"]
        assert pool.values["pool_size"] == (5, 5) and pool.values["strides"] == (3, 3)
        assert pool.shape == (4, 4, analysis.nodes[tap].shape[2])
        assert analysis.nodes[f"{head}_conv"].shape == (4, 4, 128)
        assert analysis.nodes[f"{head}_fc"].shape == (1024,)
        assert analysis.nodes[f"{head}_dropout"].values["rate"] == 0.7
        assert analysis.nodes[f"{head}_predictions"].values["activation"] == "softmax"
    main = analyze(load_preset("googlenet"))
    aux_params = sum(analysis.nodes[n].params for n in analysis.nodes if n.startswith("aux"))
    assert analysis.total_params == main.total_params + aux_params


def test_inception_naive_vs_bottleneck_op_counts():
    analysis = analyze(load_preset("inception_naive_vs_bottleneck"))
    naive, bottleneck = analysis.nodes["naive"], analysis.nodes["bottleneck"]
    assert naive.macs == 854_196_224 == 28 * 28 * (128 * 256 + 192 * 9 * 256 + 96 * 25 * 256)
    assert bottleneck.macs == 271_351_808
    assert naive.shape == (28, 28, 672) and bottleneck.shape == (28, 28, 480)
    description = load_preset("inception_naive_vs_bottleneck").description
    assert "854,196,224" in description and "271,351,808" in description


def test_resnet_blocks():
    for key, counts, kind in (("resnet18", (2, 2, 2, 2), "basic"),
                              ("resnet34", (3, 4, 6, 3), "basic"),
                              ("resnet50", (3, 4, 6, 3), "bottleneck")):
        graph = load_preset(key)
        blocks = [n for n in graph.nodes if n.type == "ResidualBlock"]
        assert len(blocks) == sum(counts)
        keras_twin = key == "resnet50"
        for n in blocks:
            assert n.params["kind"] == kind and n.params["shortcut"] == "projection"
            assert n.params["use_bias"] is keras_twin
            assert n.params["epsilon"] == (1.001e-5 if keras_twin else 1e-5)
            stage, index = int(n.id[4]), int(n.id.split("block")[1])
            assert n.params["strides"] == (2 if index == 1 and stage > 2 else 1)
        analysis = analyze(graph)
        assert analysis.nodes["conv1_conv"].shape == (112, 112, 64)
        assert analysis.nodes["pool1_pool"].shape == (56, 56, 64)
        assert analysis.depth == int(key[6:])


def test_keras_application_keys():
    for key in PRESETS:
        assert load_preset(key).extra.get("keras_application") == TWINS.get(key)


def test_training_defaults_follow_the_lecture_notes():
    alexnet = load_preset("alexnet").extra["training"]
    assert {k: alexnet[k] for k in ("optimizer", "momentum", "learning_rate", "weight_decay",
                                    "batch_size", "dropout")} == {
        "optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.01, "weight_decay": 5e-4,
        "batch_size": 128, "dropout": 0.5}
    assert alexnet["lr_schedule"]["kind"] == "reduce_on_plateau"
    assert alexnet["lr_schedule"]["factor"] == 0.1
    for key in ("resnet18", "resnet34", "resnet50"):
        resnet = load_preset(key).extra["training"]
        assert (resnet["optimizer"], resnet["momentum"], resnet["learning_rate"],
                resnet["batch_size"], resnet["weight_decay"]) == ("sgd", 0.9, 0.1, 256, 1e-5)
        assert resnet["lr_schedule"]["factor"] == 0.1
    for key in PRESETS:
        graph = load_preset(key)
        if key != "inception_naive_vs_bottleneck":
            recipe = graph.extra["training"]
            assert recipe["source"] and recipe["batch_size"] >= 1 and recipe["learning_rate"] > 0
        assert isinstance(graph.extra["year"], int) and graph.extra["paper"]
        assert graph.extra["introduced"] and len(graph.description) > 200


def test_layout_reads_left_to_right():
    for key in PRESETS:
        graph = load_preset(key)
        positions = {n.id: n.pos for n in graph.nodes}
        assert all(p is not None for p in positions.values()), key
        assert len(set(positions.values())) == len(positions), f"{key}: overlapping nodes"
        for edge in graph.edges:
            assert positions[edge.src][0] < positions[edge.dst][0], f"{key}: {edge}"
