"""ResNet-18/34 (torchvision's layout) and ResNet-50 (keras.applications' layout)."""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder

PAPER = "He, Zhang, Ren, Sun, Deep Residual Learning for Image Recognition, CVPR 2016"
STAGES = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
          50: ("bottleneck", (3, 4, 6, 3))}
WIDTHS = (64, 128, 256, 512)
KERAS_EPSILON = 1.001e-5

TRAINING = dict(
    optimizer="sgd", learning_rate=0.1, momentum=0.9,
    lr_schedule=dict(kind="reduce_on_plateau", factor=0.1, monitor="val_loss"),
    weight_decay=1e-5, batch_size=256, dropout=0.0,
    source="lecture notes, CNN History: ResNet (the ResNet paper itself uses weight decay "
           "1e-4)")


def resnet(depth: int) -> Graph:
    kind, counts = STAGES[depth]
    keras_twin = depth == 50
    if keras_twin:
        origin = ("named like keras.applications.ResNet50 (biases in every convolution, "
                  "BatchNorm epsilon 1.001e-5, stride on the first 1x1 of a bottleneck), so "
                  "its ImageNet weights load by name")
        published = "25,636,712 parameters"
    else:
        origin = ("as torchvision builds it (no convolution biases, BatchNorm epsilon 1e-5; "
                  "the stem pads 3 and the max pool pads 1 as zero padding + 'valid' windows)")
        published = ("11,689,512" if depth == 18 else "21,797,672") + " trainable parameters"
    block_text = ("basic blocks (two 3x3 convolutions)" if kind == "basic"
                  else "bottleneck blocks (1x1 reduce, 3x3, 1x1 expand to 4x the width)")
    b = GraphBuilder(
        f"ResNet-{depth}",
        f"ResNet-{depth} ({PAPER}): 7x7/2 stem and 3x3/2 max pooling, then stages of "
        f"{'-'.join(str(c) for c in counts)} {block_text} with 64-128-256-512 filters, each "
        "convolution followed by batch normalization, projection shortcuts (1x1 conv + BN, "
        "option B) where the shape changes, global average pooling and one 1000-way dense "
        f"layer; {origin}. It introduced residual connections: each block learns F(x) that is "
        f"added to its input, so very deep networks train. {published}.")
    eps = KERAS_EPSILON if keras_twin else 1e-5
    x = b.add("input", "Input", shape=[224, 224, 3])
    x = b.chain(x,
                ("conv1_pad", "ZeroPadding2D", dict(padding=3)),
                ("conv1_conv", "Conv2D", dict(filters=64, kernel_size=7, strides=2,
                                              use_bias=keras_twin)),
                ("conv1_bn", "BatchNormalization", dict(epsilon=eps)),
                ("conv1_relu", "Activation", dict(activation="relu")),
                ("pool1_pad", "ZeroPadding2D", dict(padding=1)),
                ("pool1_pool", "MaxPooling2D", dict(pool_size=3, strides=2)))
    for stage, (count, width) in enumerate(zip(counts, WIDTHS, strict=True), start=2):
        for i in range(1, count + 1):
            params = dict(filters=width, strides=2 if (i == 1 and stage > 2) else 1,
                          kind=kind, shortcut="projection", use_bias=keras_twin, epsilon=eps)
            if kind == "bottleneck":
                params["stride_on"] = "1x1"
            x = b.add(f"conv{stage}_block{i}", "ResidualBlock", x, **params)
    b.chain(x,
            ("avg_pool", "GlobalAveragePooling2D", {}),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    return b.finish(
        keras_application="ResNet50" if keras_twin else None,
        year=2015, paper=PAPER,
        introduced="residual connections (identity shortcuts) and batch norm everywhere",
        training=dict(TRAINING))


def resnet18() -> Graph:
    return resnet(18)


def resnet34() -> Graph:
    return resnet(34)


def resnet50() -> Graph:
    return resnet(50)
