"""Inception-ResNet-v2 (Szegedy et al. 2016), layer for layer as
keras.applications.InceptionResNetV2 builds it: 55,873,736 parameters at 299x299x3.

Units are named like Keras' ``conv2d_bn(name=...)``: the convolution ``<unit>``, its BatchNorm
(no scale) ``<unit>_bn`` and ReLU ``<unit>_ac``; the blocks keep Keras' names (``block35_1_mixed``,
``block35_1_conv``, ``block35_1_ac``, ``mixed_6a``, ``conv_7b``...). Keras' scaled residual sum
(its ``CustomScaleLayer``) is the catalogue's ``ScaledAdd``. The weighted layers come in Keras'
order, so ImageNet weights load in order.
"""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder
from playground.presetgen.inception_v3 import rmsprop_recipe
from playground.presetgen.units import NO_SCALE, RELU_ACTIVATION, conv_bn_act, conv_params

PAPER = ("Szegedy et al., Inception-v4, Inception-ResNet and the Impact of Residual Connections "
         "on Learning, AAAI 2017 (arXiv 2016)")
TRAINING = rmsprop_recipe(
    "the Inception-v4 paper, section 4: RMSProp (decay 0.9, epsilon 1.0), learning rate 0.045 "
    "decayed by 0.94 every two epochs (the Inception-v3 recipe)")


def _unit(b: GraphBuilder, x: str, name: str, filters: int, kernel: int | list[int],
          strides: int = 1, padding: str = "same") -> str:
    return conv_bn_act(b, x, (name, f"{name}_bn", f"{name}_ac"),
                       conv_params(filters, kernel, strides, padding),
                       bn=NO_SCALE, act=RELU_ACTIVATION)


def _residual_block(b: GraphBuilder, x: str, kind: str, idx: int, scale: float, channels: int,
                    relu: bool = True) -> str:
    """Branches -> concatenation -> 1x1 linear projection to the input's width, scaled and
    added to the input (the residual connection), then ReLU."""
    n = f"{kind}_{idx}"
    if kind == "block35":
        b0 = _unit(b, x, f"{n}_b0", 32, 1)
        b1 = _unit(b, _unit(b, x, f"{n}_b1_reduce", 32, 1), f"{n}_b1", 32, 3)
        b2 = _unit(b, _unit(b, x, f"{n}_b2_reduce", 32, 1), f"{n}_b2_1", 48, 3)
        branches = [b0, b1, _unit(b, b2, f"{n}_b2_2", 64, 3)]
    elif kind == "block17":
        b0 = _unit(b, x, f"{n}_b0", 192, 1)
        b1 = _unit(b, _unit(b, x, f"{n}_b1_reduce", 128, 1), f"{n}_b1_1x7", 160, [1, 7])
        branches = [b0, _unit(b, b1, f"{n}_b1_7x1", 192, [7, 1])]
    else:
        b0 = _unit(b, x, f"{n}_b0", 192, 1)
        b1 = _unit(b, _unit(b, x, f"{n}_b1_reduce", 192, 1), f"{n}_b1_1x3", 224, [1, 3])
        branches = [b0, _unit(b, b1, f"{n}_b1_3x1", 256, [3, 1])]
    mixed = b.add(f"{n}_mixed", "Concatenate", branches)
    up = b.add(f"{n}_conv", "Conv2D", mixed, filters=channels, kernel_size=1, padding="same")
    out = b.add(f"{n}_scale", "ScaledAdd", [x, up], scale=scale)
    return b.add(f"{n}_ac", "Activation", out, activation="relu") if relu else out


def inception_resnet_v2() -> Graph:
    b = GraphBuilder(
        "Inception-ResNet-v2",
        f"Inception-ResNet-v2 ({PAPER}), as keras.applications.InceptionResNetV2 builds it: "
        "the notes' inception module and ResNet together. Each block runs inception-style "
        "branches (1x1 reductions, factorized 1x7/7x1 and 1x3/3x1 convolutions), concatenates "
        "them, projects back to the input's width with a linear 1x1 convolution and adds the "
        "input through a shortcut connection; the branch is scaled down first (0.17, 0.1, "
        "0.2: ScaledAdd) because without it very wide residual networks 'died' early in "
        "training. Stem, Inception-A (mixed_5b), 10 x block35 at 35x35, Reduction-A "
        "(mixed_6a), 20 x block17 at 17x17, Reduction-B (mixed_7a), 10 x block8 at 8x8, a "
        "1x1 convolution to 1536 channels, global pooling and softmax. 299x299 input, 55.9M "
        "parameters, about 13G multiply-adds.")
    x = b.add("input", "Input", shape=[299, 299, 3])
    x = _unit(b, x, "stem1", 32, 3, strides=2, padding="valid")
    x = _unit(b, x, "stem2", 32, 3, padding="valid")
    x = _unit(b, x, "stem3", 64, 3)
    x = b.add("stem_pool1", "MaxPooling2D", x, pool_size=3, strides=2)
    x = _unit(b, x, "stem4", 80, 1, padding="valid")
    x = _unit(b, x, "stem5", 192, 3, padding="valid")
    x = b.add("stem_pool2", "MaxPooling2D", x, pool_size=3, strides=2)
    b0 = _unit(b, x, "mixed_5b_b0", 96, 1)
    b1 = _unit(b, _unit(b, x, "mixed_5b_b1_reduce", 48, 1), "mixed_5b_b1", 64, 5)
    b2 = _unit(b, _unit(b, x, "mixed_5b_b2_reduce", 64, 1), "mixed_5b_b2_1", 96, 3)
    b2 = _unit(b, b2, "mixed_5b_b2_2", 96, 3)
    p = b.add("mixed_5b_pool", "AveragePooling2D", x, pool_size=3, strides=1, padding="same")
    p = _unit(b, p, "mixed_5b_pool_proj", 64, 1)
    x = b.add("mixed_5b", "Concatenate", [b0, b1, b2, p])
    for i in range(1, 11):
        x = _residual_block(b, x, "block35", i, 0.17, 320)
    b0 = _unit(b, x, "mixed_6a_b0", 384, 3, strides=2, padding="valid")
    b1 = _unit(b, _unit(b, x, "mixed_6a_b1_reduce", 256, 1), "mixed_6a_b1_1", 256, 3)
    b1 = _unit(b, b1, "mixed_6a_b1_2", 384, 3, strides=2, padding="valid")
    p = b.add("mixed_6a_pool", "MaxPooling2D", x, pool_size=3, strides=2)
    x = b.add("mixed_6a", "Concatenate", [b0, b1, p])
    for i in range(1, 21):
        x = _residual_block(b, x, "block17", i, 0.1, 1088)
    b0 = _unit(b, _unit(b, x, "mixed_7a_b0_reduce", 256, 1), "mixed_7a_b0", 384, 3, strides=2,
               padding="valid")
    b1 = _unit(b, _unit(b, x, "mixed_7a_b1_reduce", 256, 1), "mixed_7a_b1", 288, 3, strides=2,
               padding="valid")
    b2 = _unit(b, _unit(b, x, "mixed_7a_b2_reduce", 256, 1), "mixed_7a_b2_1", 288, 3)
    b2 = _unit(b, b2, "mixed_7a_b2_2", 320, 3, strides=2, padding="valid")
    p = b.add("mixed_7a_pool", "MaxPooling2D", x, pool_size=3, strides=2)
    x = b.add("mixed_7a", "Concatenate", [b0, b1, b2, p])
    for i in range(1, 11):
        x = _residual_block(b, x, "block8", i, 0.2 if i < 10 else 1.0, 2080, relu=i < 10)
    x = _unit(b, x, "conv_7b", 1536, 1, padding="valid")
    b.chain(x, ("avg_pool", "GlobalAveragePooling2D", {}),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    return b.finish(keras_application="InceptionResNetV2", year=2016, paper=PAPER,
                    introduced="residual connections around inception modules, with the "
                               "residual branch scaled down",
                    training=TRAINING)
