"""DenseNet-121 as primitives, with keras.applications.DenseNet121's layer names."""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder

PAPER = ("Huang, Liu, van der Maaten, Weinberger, Densely Connected Convolutional Networks, "
         "CVPR 2017")
BLOCKS = (6, 12, 24, 16)
GROWTH = 32
EPS = 1.001e-5


def densenet121() -> Graph:
    b = GraphBuilder(
        "DenseNet-121",
        f"DenseNet-121 ({PAPER}): a 7x7/2 stem, four dense blocks of 6-12-24-16 layers "
        "(each BN-ReLU-1x1 conv 128-BN-ReLU-3x3 conv 32, whose 32 new maps are concatenated "
        "onto everything before it: growth rate 32), transition layers (BN-ReLU-1x1 conv "
        "halving the channels-2x2 average pooling) between them, global average pooling and a "
        "1000-way softmax. Node ids are keras.applications.DenseNet121's layer names (BatchNorm "
        "epsilon 1.001e-5, no convolution biases), so its ImageNet weights load by name. It "
        "introduced dense connectivity: every layer sees the feature maps of all earlier "
        "layers of its block, reusing features with few parameters (8.0M).")
    x = b.add("input", "Input", shape=[224, 224, 3])
    x = b.chain(x,
                ("zero_padding2d", "ZeroPadding2D", dict(padding=3)),
                ("conv1_conv", "Conv2D", dict(filters=64, kernel_size=7, strides=2,
                                              use_bias=False)),
                ("conv1_bn", "BatchNormalization", dict(epsilon=EPS)),
                ("conv1_relu", "Activation", dict(activation="relu")),
                ("zero_padding2d_1", "ZeroPadding2D", dict(padding=1)),
                ("pool1", "MaxPooling2D", dict(pool_size=3, strides=2)))
    channels = 64
    for stage, count in enumerate(BLOCKS, start=2):
        for i in range(1, count + 1):
            name = f"conv{stage}_block{i}"
            y = b.chain(x,
                        (f"{name}_0_bn", "BatchNormalization", dict(epsilon=EPS)),
                        (f"{name}_0_relu", "Activation", dict(activation="relu")),
                        (f"{name}_1_conv", "Conv2D", dict(filters=4 * GROWTH, kernel_size=1,
                                                          use_bias=False)),
                        (f"{name}_1_bn", "BatchNormalization", dict(epsilon=EPS)),
                        (f"{name}_1_relu", "Activation", dict(activation="relu")),
                        (f"{name}_2_conv", "Conv2D", dict(filters=GROWTH, kernel_size=3,
                                                          padding="same", use_bias=False)),
                        row=1)
            # The concatenations stay on row 0, so the skips run beside the layers, not
            # through them.
            x = b.add(f"{name}_concat", "Concatenate", [x, y], row=0)
            channels += GROWTH
        if stage < 5:
            channels //= 2
            x = b.chain(x,
                        (f"pool{stage}_bn", "BatchNormalization", dict(epsilon=EPS)),
                        (f"pool{stage}_relu", "Activation", dict(activation="relu")),
                        (f"pool{stage}_conv", "Conv2D", dict(filters=channels, kernel_size=1,
                                                             use_bias=False)),
                        (f"pool{stage}_pool", "AveragePooling2D", dict(pool_size=2,
                                                                       strides=2)))
    b.chain(x,
            ("bn", "BatchNormalization", dict(epsilon=EPS)),
            ("relu", "Activation", dict(activation="relu")),
            ("avg_pool", "GlobalAveragePooling2D", {}),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    return b.finish(
        keras_application="DenseNet121", year=2016, paper=PAPER,
        introduced="dense connectivity: each layer gets all earlier maps (concatenation)",
        training=dict(optimizer="sgd", learning_rate=0.1, momentum=0.9, nesterov=True,
                      lr_schedule=dict(kind="step", factor=0.1, epochs=[30, 60]),
                      weight_decay=1e-4, batch_size=256, epochs=90,
                      source="the DenseNet paper, section 4.2 (ImageNet)"))
