"""Keras is the oracle: for every block type of the catalogue and many param combinations, the
checker's output shape and parameter counts must equal those of the Keras model the compiler
builds, and its MACs must equal a formula computed from the Keras layers' own kernels.

Each case is a tiny graph ``Input(s) -> block``. All cases are built in one test function
(TensorFlow start-up and graph building dominate; one model per case takes milliseconds), and a
failure lists every mismatching case at once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from playground.blocks import CATALOGUE
from playground.core.graph import Graph, Node
from playground.core.shapes import Checker

keras = pytest.importorskip("keras")

from playground.keras_build.compile import build  # noqa: E402  (after the Keras skip)

# (block type, params, input shapes, trainable). One input shape per incoming edge.
Case = tuple[str, dict[str, Any], list[tuple[int, ...]], bool]


def _cases() -> list[Case]:
    c: list[Case] = []
    img, odd = (12, 12, 4), (13, 11, 6)

    def add(t: str, p: dict[str, Any], *shapes: tuple[int, ...], trainable: bool = True) -> None:
        c.append((t, p, list(shapes), trainable))

    add("Input", {"shape": [9, 7, 3]})
    # Convolutions: kernel / stride / padding / dilation / groups / bias on odd and even sizes.
    for shape in (img, odd):
        for k in (1, 3, [3, 5], 4):
            for s in (1, 2, [2, 1], 3):
                for pad in ("valid", "same"):
                    add("Conv2D", {"filters": 8, "kernel_size": k, "strides": s, "padding": pad},
                        shape)
        add("Conv2D", {"filters": 6, "kernel_size": 3, "dilation_rate": 2}, shape)
        add("Conv2D", {"filters": 6, "kernel_size": [3, 2], "dilation_rate": [2, 3],
                       "padding": "same", "use_bias": False}, shape)
        add("Conv2D", {"filters": 8, "kernel_size": 3, "groups": 2, "activation": "relu"}, shape)
        add("Conv2D", {"filters": 3 * shape[2], "kernel_size": 1, "groups": shape[2]}, shape)
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
        # Strides with dilation: Conv2D and Conv2DTranspose refuse the pair (REFUSED below);
        # depthwise and separable convolutions build and run it (issue 11's fuzzer).
        add("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "dilation_rate": 2}, shape)
        add("DepthwiseConv2D", {"kernel_size": [2, 3], "strides": [1, 3], "dilation_rate": [3, 1],
                                "padding": "same", "depth_multiplier": 2}, shape)
        add("SeparableConv2D", {"filters": 4, "kernel_size": 3, "strides": [2, 3],
                                "dilation_rate": 2, "padding": "same"}, shape)
        add("SeparableConv2D", {"filters": 3, "kernel_size": [3, 1], "strides": 3,
                                "dilation_rate": [1, 4]}, shape)
        add("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "dilation_rate": 2}, shape)
        add("Conv2DTranspose", {"filters": 3, "kernel_size": 2, "dilation_rate": 3,
                                "padding": "same", "use_bias": False}, shape)
        add("SeparableConv2D", {"filters": 4}, shape, trainable=False)
    # Edge geometry: stride beyond the kernel, 1x1 inputs, kernel equal to the input.
    add("Conv2DTranspose", {"filters": 2, "kernel_size": 1, "strides": 3}, (5, 4, 2))
    add("Conv2DTranspose", {"filters": 2, "kernel_size": [2, 5], "strides": [3, 2],
                            "padding": "same"}, (5, 4, 2))
    add("Conv2D", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (1, 1, 3))
    add("Conv2D", {"filters": 2, "kernel_size": [13, 11]}, odd)
    add("MaxPooling2D", {"pool_size": 2, "strides": 3}, odd)
    add("AveragePooling2D", {"pool_size": 1, "strides": [1, 4], "padding": "same"}, odd)
    add("Dense", {"units": 1}, (1,))
    # Pooling.
    for pool in ("MaxPooling2D", "AveragePooling2D"):
        for shape in (img, odd):
            for size, s, pad in ((2, None, "valid"), (3, 2, "valid"), (3, 2, "same"),
                                 ([2, 3], [1, 2], "same"), (3, 1, "valid"), (5, None, "same")):
                add(pool, {"pool_size": size, "strides": s, "padding": pad}, shape)
    for pool in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        for keep in (False, True):
            add(pool, {"keepdims": keep}, odd)
    # Dense on 1-D and on 3-D input.
    add("Dense", {"units": 10}, (37,))
    add("Dense", {"units": 3, "use_bias": False, "activation": "softmax"}, (8,))
    add("Dense", {"units": 4}, (5, 3, 6))
    add("Dense", {"units": 4}, (5, 6))
    add("Dense", {"units": 7}, (20,), trainable=False)
    add("Flatten", {}, odd)
    add("Flatten", {}, (4, 5))
    for target in ([-1], [13, -1], [11, 13, 6], [-1, 2, 3], [2, 3, 11, -1]):
        add("Reshape", {"target_shape": target}, odd)
    add("Dropout", {"rate": 0.25}, odd)
    add("Dropout", {}, (10,))
    add("SpatialDropout2D", {"rate": 0.1}, odd)
    # Normalization.
    for center, scale in ((True, True), (False, True), (True, False), (False, False)):
        add("BatchNormalization", {"center": center, "scale": scale}, odd)
        add("LayerNormalization", {"center": center, "scale": scale}, odd)
    add("BatchNormalization", {}, (16,))
    add("BatchNormalization", {}, odd, trainable=False)
    add("LayerNormalization", {}, (16,))
    add("LocalResponseNormalization", {"depth_radius": 2}, odd)
    # Activations.
    add("Activation", {"activation": "tanh"}, odd)
    add("Activation", {}, (9,))
    add("ReLU", {"max_value": 6.0}, odd)
    add("ReLU", {}, (9,))
    add("LeakyReLU", {"negative_slope": 0.1}, odd)
    add("Softmax", {}, (9,))
    add("Softmax", {"axis": 1}, odd)
    # Padding, cropping, resampling.
    for pad in (1, [2, 3], [[1, 2], [0, 3]]):
        add("ZeroPadding2D", {"padding": pad}, odd)
        add("Cropping2D", {"cropping": pad}, odd)
    for size, interp in ((2, "nearest"), ([3, 2], "bilinear")):
        add("UpSampling2D", {"size": size, "interpolation": interp}, odd)
    add("Resizing", {"height": 7, "width": 19}, odd)
    add("Resizing", {"height": 5, "width": 5, "crop_to_aspect_ratio": True,
                     "interpolation": "nearest"}, odd)
    # Channel zero-padding (ResNet option A's layer): none, some, more than the input has.
    for pad in (0, 5, 12):
        add("ZeroPadChannels", {"pad": pad}, odd)
    add("ZeroPadChannels", {"pad": 3}, (1, 1, 1), trainable=False)
    # Merges with 2 and 3 inputs.
    for merge in ("Add", "Multiply", "Average", "Maximum"):
        add(merge, {}, odd, odd)
        add(merge, {}, (6,), (6,), (6,))
    add("Concatenate", {}, (13, 11, 2), (13, 11, 5))
    add("Concatenate", {"axis": -1}, (13, 11, 2), (13, 11, 5), (13, 11, 1))
    add("Concatenate", {"axis": 1}, (3, 11, 2), (13, 11, 2))
    add("Concatenate", {"axis": 2}, (13, 4, 2), (13, 11, 2), (13, 1, 2))
    add("Concatenate", {"axis": -3}, (3, 11, 2), (13, 11, 2))
    add("Concatenate", {}, (4,), (6,))
    # Inception modules: with and without reduces, naive, partly naive, batch norm.
    for extra in ({}, {"f3x3_reduce": 0, "f5x5_reduce": 0, "pool_proj": 0},
                  {"f1x1": 0, "f3x3_reduce": 0, "f5x5_reduce": 0, "f3x3": 0, "f5x5": 0,
                   "pool_proj": 0},
                  {"f5x5": 0, "f5x5_reduce": 0}, {"f1x1": 0, "pool_proj": 0},
                  {"batch_norm": True}, {"batch_norm": True, "activation": "linear"},
                  {"batch_norm": True, "f3x3_reduce": 0, "pool_proj": 0}):
        params = {"f1x1": 8, "f3x3_reduce": 4, "f3x3": 8, "f5x5_reduce": 2, "f5x5": 4,
                  "pool_proj": 4, **extra}
        add("InceptionModule", params, odd)
    add("InceptionModule", {"batch_norm": True}, (7, 7, 16), trainable=False)
    # Residual blocks: kind x shortcut x strides x stride_on x use_bias, identity and changes.
    for kind in ("basic", "bottleneck"):
        for shortcut in ("projection", "zero_pad"):
            for strides in (1, 2):
                for stride_on in ("1x1", "3x3"):
                    for bias in (False, True):
                        if kind == "basic" and stride_on == "3x3":
                            continue
                        add("ResidualBlock", {"filters": 4, "kind": kind, "shortcut": shortcut,
                                              "strides": strides, "stride_on": stride_on,
                                              "use_bias": bias}, (9, 7, 3))
        identity_in = (8, 8, 4 if kind == "basic" else 16)
        add("ResidualBlock", {"filters": 4, "kind": kind}, identity_in)
        add("ResidualBlock", {"filters": 4, "kind": kind, "strides": 2}, identity_in)
    add("ResidualBlock", {"filters": 8, "strides": 2, "shortcut": "zero_pad"}, (9, 9, 4))
    add("ResidualBlock", {"filters": 4, "kind": "bottleneck", "strides": 2}, (9, 7, 3),
        trainable=False)
    # Blocks of the modern families (EfficientNet, ConvNeXt, MobileNetV3, Inception-ResNet).
    add("Rescaling", {"scale": 1 / 255}, odd)
    add("Rescaling", {"scale": [0.5, 1, 2, 3, 4, 5], "offset": -1.0}, odd)
    add("Normalization", {}, odd)
    add("Normalization", {"mean": [1, 2, 3, 4, 5, 6], "variance": [2, 1, 1, 1, 1, 3]}, odd)
    add("Normalization", {"mean": 0.5, "variance": 2.0, "invert": True}, odd)
    add("Normalization", {}, (9,), trainable=False)
    add("GroupNormalization", {"groups": 3}, odd)
    add("GroupNormalization", {"groups": 2, "center": False}, (12, 12, 4))
    add("LayerScale", {"init_values": 0.5}, odd)
    add("LayerScale", {}, (9,), trainable=False)
    add("StochasticDepth", {"rate": 0.2}, odd)
    add("StochasticDepth", {}, (9,))
    add("ScaledAdd", {"scale": 0.17}, odd, odd)
    add("Permute", {"dims": [2, 1, 3]}, odd)
    add("Permute", {"dims": [1, 2, 4, 3]}, (4, 5, 2, 3))
    add("ChannelShuffle", {"groups": 3}, odd)
    for merge in ("Add", "Multiply"):        # squeeze-and-excitation: broadcast 1x1xC gates
        add(merge, {}, odd, (1, 1, 6))
        add(merge, {}, (1, 11, 6), odd)
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
    g.add_node(Node("x", block_type, dict(params), trainable=trainable))
    for i in range(len(shapes)):
        g.add_edge(f"in{i}", "x")
    return g


def _weight_count(weights: list[Any]) -> int:
    return sum(math.prod(w.shape) for w in weights)


def _keras_macs(model: Any) -> int:
    """Multiply-accumulates from the built Keras layers: output positions x kernel size."""
    total = 0
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Conv2DTranspose":  # every input position meets every kernel tap
            h, w = layer.input.shape[1:3]
            total += h * w * math.prod(layer.kernel.shape)
        elif name in ("Conv2D", "DepthwiseConv2D"):
            total += math.prod(layer.output.shape[1:3]) * math.prod(layer.kernel.shape)
        elif name == "SeparableConv2D":
            positions = math.prod(layer.output.shape[1:3])
            total += positions * (math.prod(layer.depthwise_kernel.shape)
                                  + math.prod(layer.pointwise_kernel.shape))
        elif name == "Dense":
            total += math.prod(layer.output.shape[1:-1]) * math.prod(layer.kernel.shape)
    return total


def _describe(case: Case) -> str:
    block_type, params, shapes, trainable = case
    return f"{block_type} {params} on {shapes}{'' if trainable else ' frozen'}"


def test_every_block_type_has_parity_cases() -> None:
    covered = {case[0] for case in CASES}
    assert covered == set(CATALOGUE), f"no parity case for {set(CATALOGUE) - covered}"


def test_checker_matches_keras_for_every_case() -> None:
    checker = Checker()
    rng = np.random.default_rng(0)
    mismatches: list[str] = []
    for case in CASES:
        graph = _graph(case)
        analysis = checker.analyze(graph)
        if not analysis.valid:
            mismatches.append(f"{_describe(case)}: checker errors "
                              f"{[str(p) for p in analysis.errors]}")
            continue
        report = analysis.nodes["x"]
        model = build(graph, analysis).model
        got = {
            "shape": report.shape,
            "trainable": analysis.trainable_params,
            "non_trainable": analysis.non_trainable_params,
            "total": analysis.total_params,
            "macs": report.macs,
        }
        want = {
            "shape": tuple(model.output_shape[1:]),
            "trainable": _weight_count(model.trainable_weights),
            "non_trainable": _weight_count(model.non_trainable_weights),
            "total": model.count_params(),
            "macs": _keras_macs(model),
        }
        if got != want:
            diff = {k: (got[k], want[k]) for k in got if got[k] != want[k]}
            mismatches.append(f"{_describe(case)}: (checker, keras) {diff}")
        # A forward pass on a batch of 2 runs on TensorFlow's CPU kernels (unequal strides,
        # dilated depthwise and transposed convolutions) and gives the checker's shape.
        feed = [rng.standard_normal((2, *t.shape[1:])).astype("float32") for t in model.inputs]
        try:
            out = model(feed if len(feed) > 1 else feed[0])
        except Exception as exc:  # noqa: BLE001 - any failure is a mismatch
            mismatches.append(f"{_describe(case)}: forward pass fails: {exc}")
        else:
            if tuple(out.shape[1:]) != report.shape:
                mismatches.append(f"{_describe(case)}: forward pass gives {tuple(out.shape)}")
        # A composite's inner layers are named <id>_<part> and match Keras' layers one to one.
        if CATALOGUE[case[0]].composite:
            inner = {layer.name: layer for layer in model.layers if layer.name.startswith("x_")}
            names = {i.name if i.name.startswith("x_") else f"x_{i.name}" for i in report.inner}
            if names != set(inner):
                mismatches.append(f"{_describe(case)}: inner layers {sorted(names)} != keras "
                                  f"{sorted(inner)}")
            for i in report.inner:
                layer = inner.get(f"x_{i.name}")
                if layer is not None and tuple(layer.output.shape[1:]) != i.shape:
                    mismatches.append(f"{_describe(case)}: inner {i.name} shape {i.shape} != "
                                      f"{tuple(layer.output.shape[1:])}")
    assert not mismatches, f"{len(mismatches)} of {len(CASES)} cases differ:\n" + "\n".join(
        mismatches)


# Graphs the checker refuses and Keras refuses too (the checker must not be more lenient).
REFUSED: list[tuple[str, dict[str, Any], list[tuple[int, ...]], str]] = [
    ("Conv2D", {"filters": 4, "kernel_size": 5}, [(3, 3, 2)], "padding"),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, [(9, 9, 2)],
     "dilation_rate"),
    ("Conv2D", {"filters": 6, "kernel_size": 1, "groups": 4}, [(9, 9, 4)], "groups"),
    ("Conv2D", {"filters": 3}, [(10,)], "H x W x C"),
    ("SeparableConv2D", {"filters": 3, "kernel_size": 5}, [(3, 3, 2)], "larger than"),
    ("Conv2DTranspose", {"filters": 3, "strides": 2, "dilation_rate": 2}, [(9, 9, 2)],
     "dilation_rate"),
    ("ReLU", {"threshold": -0.5}, [(4, 4, 2)], "threshold must be >= 0"),
    ("MaxPooling2D", {"pool_size": 4}, [(3, 3, 2)], "pool window"),
    ("AveragePooling2D", {"pool_size": [1, 4]}, [(3, 3, 2)], "width"),
    ("Add", {}, [(3, 3, 2), (3, 3, 4)], "input shapes differ"),
    ("Concatenate", {}, [(3, 3, 2), (3, 4, 4)], "every axis but"),
    ("Concatenate", {"axis": 1}, [(3, 3, 2), (3, 3, 4)], "every axis but"),
    ("Concatenate", {"axis": 4}, [(3, 3, 2), (3, 3, 4)], "axis 4"),
    ("Concatenate", {"axis": -4}, [(3, 3, 2), (3, 3, 4)], "axis -4"),
    ("Reshape", {"target_shape": [5, -1]}, [(3, 3, 2)], "cannot reshape"),
    ("Multiply", {}, [(3, 3, 2), (1, 1, 4)], "input shapes differ"),
    ("GroupNormalization", {"groups": 4}, [(3, 3, 6)], "equal groups"),
    ("Permute", {"dims": [1, 1, 3]}, [(3, 3, 2)], "each once"),
    ("ScaledAdd", {}, [(3, 3, 2), (3, 3, 4)], "input shapes differ"),
    ("Cropping2D", {"cropping": 2}, [(3, 3, 2)], "leaves nothing"),
]


@pytest.mark.parametrize(("block_type", "params", "shapes", "words"), REFUSED)
def test_checker_refuses_what_keras_refuses(block_type: str, params: dict[str, Any],
                                            shapes: list[tuple[int, ...]], words: str) -> None:
    from playground.blocks.spec import resolve_params
    from playground.keras_build.compile import _Context

    graph = _graph((block_type, params, shapes, True))
    errors = Checker().analyze(graph).errors
    assert [p.node for p in errors] == ["x"], errors
    assert words in errors[0].message
    spec = CATALOGUE[block_type]
    values, problems = resolve_params(spec, params)
    values.update({p.param: params[p.param] for p in problems})  # build what the file says
    inputs = [keras.Input(shape) for shape in shapes]
    with pytest.raises(ValueError):
        keras.Model(inputs, spec.build(_Context("x"), values, inputs))


def _conv_macs(out_hw: tuple[int, int], k: tuple[int, int], cin: int, cout: int) -> int:
    return out_hw[0] * out_hw[1] * k[0] * k[1] * cin * cout


@pytest.mark.parametrize(("block_type", "params", "shape", "expected"), [
    # Hand formulas, independent of Keras: out_h * out_w * k_h * k_w * c_in/groups * c_out.
    ("Conv2D", {"filters": 64, "kernel_size": 3, "padding": "same"}, (32, 32, 3),
     _conv_macs((32, 32), (3, 3), 3, 64)),
    ("Conv2D", {"filters": 96, "kernel_size": 11, "strides": 4}, (227, 227, 3),
     _conv_macs((55, 55), (11, 11), 3, 96)),  # AlexNet conv1: 105,415,200
    ("Conv2D", {"filters": 6, "kernel_size": 5}, (32, 32, 1), 28 * 28 * 25 * 6),  # LeNet C1
    ("Conv2D", {"filters": 8, "kernel_size": [3, 5], "groups": 4}, (10, 10, 8),
     _conv_macs((8, 6), (3, 5), 2, 8)),
    ("DepthwiseConv2D", {"kernel_size": 3, "padding": "same", "depth_multiplier": 2},
     (14, 14, 32), 14 * 14 * 9 * 64),
    ("SeparableConv2D", {"filters": 64, "kernel_size": 3, "padding": "same"}, (14, 14, 32),
     14 * 14 * 9 * 32 + 14 * 14 * 32 * 64),
    ("Conv2DTranspose", {"filters": 16, "kernel_size": 2, "strides": 2}, (8, 8, 32),
     8 * 8 * 4 * 32 * 16),
    ("Dense", {"units": 10}, (120,), 1200),
    ("Dense", {"units": 4096}, (9216,), 9216 * 4096),  # AlexNet fc6
    ("Dense", {"units": 4}, (5, 3, 6), 5 * 3 * 6 * 4),
])
def test_macs_hand_formula(block_type: str, params: dict[str, Any], shape: tuple[int, ...],
                           expected: int) -> None:
    graph = _graph((block_type, params, [shape], True))
    from playground.core.shapes import analyze
    assert analyze(graph).nodes["x"].macs == expected
