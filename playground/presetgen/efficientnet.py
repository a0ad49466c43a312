"""EfficientNet-B0 (Tan and Le 2019), with keras.applications.EfficientNetB0's layer names
(ImageNet weights load by name): 5,330,571 parameters at 224x224x3, preprocessing included."""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder

PAPER = ("Tan and Le, EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks, "
         "ICML 2019")
# (kernel, repeats, in, out, expansion, first stride): the paper's Table 1 (B0).
STAGES = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
          (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2),
          (3, 1, 192, 320, 6, 1))
DROP_CONNECT = 0.2
STDDEV = (0.229, 0.224, 0.225)      # ImageNet's per-channel standard deviations (RGB)
SWISH = dict(activation="swish")
TRAINING = dict(
    optimizer="rmsprop", learning_rate=0.256, momentum=0.9, rho=0.9,
    lr_schedule=dict(kind="exponential", factor=0.97, every_epochs=2),
    weight_decay=1e-5, batch_size=4096, dropout=0.2,
    augmentation=["random_crop", "horizontal_flip"],
    source="the EfficientNet paper, section 5.2: RMSProp (decay 0.9, momentum 0.9), learning "
           "rate 0.256 decayed by 0.97 every 2.4 epochs (every 2 here: the app steps whole epochs), weight decay 1e-5, dropout 0.2, drop "
           "connect 0.2, AutoAugment (not applied here); batch 4096 on TPUs")


def _pad(size: int, kernel: int) -> list[list[int]]:
    """Keras' correct_pad: 'same' padding for a strided window, extra row/column at the end."""
    half = kernel // 2
    adjust = 1 - size % 2
    return [[half - adjust, half], [half - adjust, half]]


def _block(b: GraphBuilder, x: str, name: str, size: int, kernel: int, c_in: int, c_out: int,
           expansion: int, stride: int, drop: float) -> str:
    """MBConv: 1x1 expand (swish) -> depthwise (swish) -> squeeze-and-excitation -> 1x1 linear
    project, with a shortcut (behind stochastic depth) when the shape is unchanged."""
    start = x
    filters = c_in * expansion
    if expansion != 1:
        x = b.chain(x, (f"{name}expand_conv", "Conv2D", dict(filters=filters, kernel_size=1,
                                                             padding="same", use_bias=False)),
                    (f"{name}expand_bn", "BatchNormalization", {}),
                    (f"{name}expand_activation", "Activation", SWISH))
    if stride == 2:
        x = b.add(f"{name}dwconv_pad", "ZeroPadding2D", x, padding=_pad(size, kernel))
    x = b.chain(x, (f"{name}dwconv", "DepthwiseConv2D",
                    dict(kernel_size=kernel, strides=stride, use_bias=False,
                         padding="valid" if stride == 2 else "same")),
                (f"{name}bn", "BatchNormalization", {}),
                (f"{name}activation", "Activation", SWISH))
    gate = b.chain(x, (f"{name}se_squeeze", "GlobalAveragePooling2D", {}),
                   (f"{name}se_reshape", "Reshape", dict(target_shape=[1, 1, filters])),
                   (f"{name}se_reduce", "Conv2D", dict(filters=max(1, int(c_in * 0.25)),
                                                       kernel_size=1, padding="same",
                                                       activation="swish")),
                   (f"{name}se_expand", "Conv2D", dict(filters=filters, kernel_size=1,
                                                       padding="same", activation="sigmoid")))
    x = b.add(f"{name}se_excite", "Multiply", [x, gate])
    x = b.chain(x, (f"{name}project_conv", "Conv2D", dict(filters=c_out, kernel_size=1,
                                                          padding="same", use_bias=False)),
                (f"{name}project_bn", "BatchNormalization", {}))
    if stride == 1 and c_in == c_out:
        if drop > 0:
            x = b.add(f"{name}drop", "StochasticDepth", x, rate=drop)
        x = b.add(f"{name}add", "Add", [x, start])
    return x


def efficientnet_b0() -> Graph:
    b = GraphBuilder(
        "EfficientNet-B0",
        f"EfficientNet-B0 ({PAPER}), as keras.applications.EfficientNetB0 builds it. Its "
        "layout was found by neural architecture search (the notes: architecture design can "
        "now be automated), and the family scales depth, width and input size together by "
        "one compound factor (B1-B7). The block is MobileNet-v2's inverted residual with "
        "squeeze-and-excitation: global pooling squeezes each channel to one number, two 1x1 "
        "convolutions turn those into per-channel gates (sigmoid), and the feature map is "
        "multiplied by them (a 1x1xC gate broadcast over HxWxC); swish activations, and "
        "stochastic depth on the shortcuts (a block's branch is dropped for whole samples, "
        "rate rising to 0.2 with depth). The model takes raw 0..255 pixels: Rescaling 1/255, "
        "Normalization (its mean and variance are weights, from the ImageNet file) and a "
        "second Rescaling that Keras' ImageNet model carries (the original divided by the "
        "variance, not the standard deviation) come first. Node ids are Keras' layer names, so its ImageNet weights load by name. 5.3M "
        "parameters, about 390M multiply-adds at 224x224.")
    x = b.add("input", "Input", shape=[224, 224, 3])
    x = b.chain(x, ("rescaling", "Rescaling", dict(scale=1 / 255)),
                ("normalization", "Normalization", {}),
                # Keras adds this for its ImageNet weights: Normalization divides by the
                # standard deviation, the original divided by the variance.
                ("stddev_rescaling", "Rescaling", dict(scale=[1 / s ** 0.5 for s in STDDEV])),
                ("stem_conv_pad", "ZeroPadding2D", dict(padding=_pad(224, 3))),
                ("stem_conv", "Conv2D", dict(filters=32, kernel_size=3, strides=2,
                                             use_bias=False)),
                ("stem_bn", "BatchNormalization", {}),
                ("stem_activation", "Activation", SWISH))
    size, index = 112, 0
    total = sum(stage[1] for stage in STAGES)
    for s, (kernel, repeats, c_in, c_out, expansion, stride) in enumerate(STAGES, start=1):
        for j in range(repeats):
            first = j == 0
            x = _block(b, x, f"block{s}{chr(97 + j)}_", size, kernel, c_in if first else c_out,
                       c_out, expansion, stride if first else 1, DROP_CONNECT * index / total)
            size //= stride if first else 1
            index += 1
    b.chain(x, ("top_conv", "Conv2D", dict(filters=1280, kernel_size=1, padding="same",
                                           use_bias=False)),
            ("top_bn", "BatchNormalization", {}), ("top_activation", "Activation", SWISH),
            ("avg_pool", "GlobalAveragePooling2D", {}), ("top_dropout", "Dropout",
                                                         dict(rate=0.2)),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    return b.finish(keras_application="EfficientNetB0", year=2019, paper=PAPER,
                    introduced="compound scaling of depth, width and resolution; "
                               "squeeze-and-excitation in a searched mobile block",
                    training=TRAINING)
