"""Inception-v3 (Szegedy et al. 2015), layer for layer as keras.applications.InceptionV3 builds
it: 94 convolution + BatchNorm (no scale) + ReLU units in eleven inception modules, 23,851,784
parameters at 299x299x3.

Each unit is named like Keras' ``conv2d_bn(name=...)`` would name it: ``<unit>_conv``,
``<unit>_bn`` and the ReLU ``<unit>``; the module concatenations keep Keras' names (``mixed0`` ...
``mixed10``, ``mixed9_0``...). The weighted layers come in Keras' order, so ImageNet weights load
in order (how Keras itself reads its legacy weights files).
"""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder
from playground.presetgen.units import NO_SCALE, RELU_ACTIVATION, conv_bn_act, conv_params

PAPER = ("Szegedy et al., Rethinking the Inception Architecture for Computer Vision, CVPR 2016 "
         "(arXiv 2015)")


def rmsprop_recipe(source: str) -> dict:
    """The Inception-v3 paper's recipe (Inception-ResNet-v2 trains with it too), fresh each
    call: RMSProp, 0.045 decayed by 0.94 every two epochs, batch 32."""
    return dict(optimizer="rmsprop", learning_rate=0.045, rho=0.9,
                lr_schedule=dict(kind="exponential", factor=0.94, every_epochs=2),
                batch_size=32, augmentation=["random_crop", "horizontal_flip"], source=source)


TRAINING = rmsprop_recipe(
    "the Inception-v3 paper, section 8: RMSProp (decay 0.9, epsilon 1.0), learning rate 0.045 "
    "decayed by 0.94 every two epochs, batch 32, label smoothing 0.1 and gradient clipping at "
    "2.0 (the last three are not applied here)")


class _Units:
    """conv -> BN (scale off, as Keras' InceptionV3) -> ReLU units, named Keras' way."""

    def __init__(self, b: GraphBuilder) -> None:
        self.b = b

    def __call__(self, x: str, name: str, filters: int, kh: int, kw: int, strides: int = 1,
                 padding: str = "same") -> str:
        return conv_bn_act(self.b, x, (f"{name}_conv", f"{name}_bn", name),
                           conv_params(filters, kh if kh == kw else [kh, kw], strides, padding),
                           bn=NO_SCALE, act=RELU_ACTIVATION)


def _module_35(unit: _Units, x: str, m: str, pool: int) -> str:
    """Figure 5's module: 1x1 | 1x1>5x5 | 1x1>3x3>3x3 | avg pool>1x1 (35x35)."""
    b = unit.b
    b1 = unit(x, f"{m}_1x1", 64, 1, 1)
    b5 = unit(unit(x, f"{m}_5x5_reduce", 48, 1, 1), f"{m}_5x5", 64, 5, 5)
    d = unit(unit(x, f"{m}_3x3dbl_reduce", 64, 1, 1), f"{m}_3x3dbl_1", 96, 3, 3)
    d = unit(d, f"{m}_3x3dbl_2", 96, 3, 3)
    p = b.add(f"{m}_pool", "AveragePooling2D", x, pool_size=3, strides=1, padding="same")
    p = unit(p, f"{m}_pool_proj", pool, 1, 1)
    return b.add(m, "Concatenate", [b1, b5, d, p])


def _module_17(unit: _Units, x: str, m: str, width: int) -> str:
    """Figure 6's module: 7x7 factorized into 1x7 and 7x1 (17x17)."""
    b = unit.b
    b1 = unit(x, f"{m}_1x1", 192, 1, 1)
    s = unit(x, f"{m}_7x7_reduce", width, 1, 1)
    s = unit(s, f"{m}_7x7_1", width, 1, 7)
    s = unit(s, f"{m}_7x7_2", 192, 7, 1)
    d = unit(x, f"{m}_7x7dbl_reduce", width, 1, 1)
    d = unit(d, f"{m}_7x7dbl_1", width, 7, 1)
    d = unit(d, f"{m}_7x7dbl_2", width, 1, 7)
    d = unit(d, f"{m}_7x7dbl_3", width, 7, 1)
    d = unit(d, f"{m}_7x7dbl_4", 192, 1, 7)
    p = b.add(f"{m}_pool", "AveragePooling2D", x, pool_size=3, strides=1, padding="same")
    p = unit(p, f"{m}_pool_proj", 192, 1, 1)
    return b.add(m, "Concatenate", [b1, s, d, p])


def _module_8(unit: _Units, x: str, m: str, i: int) -> str:
    """Figure 7's module: expanded filter banks, 3x3 split into 1x3 and 3x1 (8x8)."""
    b = unit.b
    b1 = unit(x, f"{m}_1x1", 320, 1, 1)
    s = unit(x, f"{m}_3x3_reduce", 384, 1, 1)
    s = b.add(f"mixed9_{i}", "Concatenate", [unit(s, f"{m}_3x3_1x3", 384, 1, 3),
                                             unit(s, f"{m}_3x3_3x1", 384, 3, 1)])
    d = unit(unit(x, f"{m}_3x3dbl_reduce", 448, 1, 1), f"{m}_3x3dbl", 384, 3, 3)
    d = b.add(f"{m}_3x3dbl_concat", "Concatenate", [unit(d, f"{m}_3x3dbl_1x3", 384, 1, 3),
                                                     unit(d, f"{m}_3x3dbl_3x1", 384, 3, 1)])
    p = b.add(f"{m}_pool", "AveragePooling2D", x, pool_size=3, strides=1, padding="same")
    p = unit(p, f"{m}_pool_proj", 192, 1, 1)
    return b.add(m, "Concatenate", [b1, s, d, p])


def inception_v3() -> Graph:
    b = GraphBuilder(
        "Inception-v3",
        f"Inception-v3 ({PAPER}), as keras.applications.InceptionV3 builds it. The inception "
        "idea of the notes (each layer split into branches of convolutions with different "
        "receptive fields, concatenated at the end; 1x1 convolutions reduce the channels "
        "before the expensive ones) refined: 5x5 convolutions factorized into two 3x3, 7x7 "
        "into 1x7 and 7x1, and grid reductions done by parallel strided branches instead of "
        "a pooling bottleneck. A 5-layer stem, three 35x35 modules (mixed0-2), a reduction "
        "(mixed3), four 17x17 modules (mixed4-7), a reduction (mixed8) and two 8x8 modules "
        "(mixed9-10); every convolution is followed by BatchNorm and ReLU. 299x299 input, "
        "23.9M parameters, about 5.7G multiply-adds; the paper's auxiliary classifier is "
        "left out, as in Keras.")
    unit = _Units(b)
    x = b.add("input", "Input", shape=[299, 299, 3])
    x = unit(x, "stem1", 32, 3, 3, strides=2, padding="valid")
    x = unit(x, "stem2", 32, 3, 3, padding="valid")
    x = unit(x, "stem3", 64, 3, 3)
    x = b.add("stem_pool1", "MaxPooling2D", x, pool_size=3, strides=2)
    x = unit(x, "stem4", 80, 1, 1, padding="valid")
    x = unit(x, "stem5", 192, 3, 3, padding="valid")
    x = b.add("stem_pool2", "MaxPooling2D", x, pool_size=3, strides=2)
    for i, pool in enumerate((32, 64, 64)):
        x = _module_35(unit, x, f"mixed{i}", pool)
    r = unit(x, "mixed3_3x3", 384, 3, 3, strides=2, padding="valid")
    d = unit(unit(x, "mixed3_3x3dbl_reduce", 64, 1, 1), "mixed3_3x3dbl_1", 96, 3, 3)
    d = unit(d, "mixed3_3x3dbl_2", 96, 3, 3, strides=2, padding="valid")
    p = b.add("mixed3_pool", "MaxPooling2D", x, pool_size=3, strides=2)
    x = b.add("mixed3", "Concatenate", [r, d, p])
    for i, width in enumerate((128, 160, 160, 192), start=4):
        x = _module_17(unit, x, f"mixed{i}", width)
    s = unit(unit(x, "mixed8_3x3_reduce", 192, 1, 1), "mixed8_3x3", 320, 3, 3, strides=2,
             padding="valid")
    d = unit(x, "mixed8_7x7x3_reduce", 192, 1, 1)
    d = unit(d, "mixed8_7x7x3_1", 192, 1, 7)
    d = unit(d, "mixed8_7x7x3_2", 192, 7, 1)
    d = unit(d, "mixed8_7x7x3_3", 192, 3, 3, strides=2, padding="valid")
    p = b.add("mixed8_pool", "MaxPooling2D", x, pool_size=3, strides=2)
    x = b.add("mixed8", "Concatenate", [s, d, p])
    for i in range(2):
        x = _module_8(unit, x, f"mixed{9 + i}", i)
    b.chain(x, ("avg_pool", "GlobalAveragePooling2D", {}),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    return b.finish(keras_application="InceptionV3", year=2015, paper=PAPER,
                    introduced="factorized convolutions (5x5 as two 3x3, n x n as 1 x n and "
                               "n x 1) and parallel grid reduction",
                    training=TRAINING)
