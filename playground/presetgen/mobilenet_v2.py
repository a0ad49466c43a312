"""MobileNet-v2 (alpha 1), with keras.applications.MobileNetV2's layer names (ImageNet weights
load by name): 3,538,984 parameters at 224x224x3."""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder
from playground.presetgen.units import conv_bn_act

PAPER = ("Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018 "
         "(arXiv 2018)")
# (expansion t, output channels c, repeats n, first stride s): the paper's Table 2.
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
          (6, 160, 3, 2), (6, 320, 1, 1))
BN = dict(momentum=0.999)
RELU6 = dict(max_value=6.0)
TRAINING = dict(
    optimizer="rmsprop", learning_rate=0.045, momentum=0.9, rho=0.9,
    lr_schedule=dict(kind="exponential", factor=0.98, every_epochs=1),
    weight_decay=4e-5, batch_size=96, augmentation=["random_crop", "horizontal_flip"],
    source="the MobileNetV2 paper, section 6.1: RMSProp (decay and momentum 0.9), initial "
           "learning rate 0.045 decayed by 0.98 per epoch, weight decay 0.00004, batch 96")


def _block(b: GraphBuilder, x: str, in_channels: int, t: int, c: int, stride: int,
           block_id: int) -> str:
    """Inverted residual: 1x1 expand (ReLU6) -> 3x3 depthwise (ReLU6) -> 1x1 linear project,
    with a shortcut when the shape is unchanged."""
    start = x
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = conv_bn_act(b, x, (f"{prefix}expand", f"{prefix}expand_BN", f"{prefix}expand_relu"),
                        dict(filters=t * in_channels, kernel_size=1, padding="same",
                             use_bias=False), bn=BN, act=("ReLU", RELU6))
    if stride == 2:
        x = b.add(f"{prefix}pad", "ZeroPadding2D", x, padding=[[0, 1], [0, 1]])
    x = conv_bn_act(b, x, (f"{prefix}depthwise", f"{prefix}depthwise_BN",
                           f"{prefix}depthwise_relu"),
                    dict(kernel_size=3, strides=stride, use_bias=False,
                         padding="same" if stride == 1 else "valid"),
                    conv_type="DepthwiseConv2D", bn=BN, act=("ReLU", RELU6))
    x = conv_bn_act(b, x, (f"{prefix}project", f"{prefix}project_BN", None),
                    dict(filters=c, kernel_size=1, padding="same", use_bias=False), bn=BN)
    if in_channels == c and stride == 1:
        x = b.add(f"{prefix}add", "Add", [start, x])
    return x


def mobilenet_v2() -> Graph:
    b = GraphBuilder(
        "MobileNet-v2",
        f"MobileNet-v2, width multiplier 1 ({PAPER}): the efficient network the notes name "
        "beside ShuffleNet. Its block is the inverted residual: a 1x1 convolution expands the "
        "channels 6x, a 3x3 depthwise convolution filters each channel on its own, and a 1x1 "
        "convolution projects back down with no activation (a linear bottleneck: ReLU on a "
        "narrow tensor destroys information); a shortcut adds the block's input when the "
        "shape is unchanged. 17 such blocks between a 3x3/2 stem and a 1x1 convolution to "
        "1280 channels, global pooling and softmax. Node ids are keras.applications."
        "MobileNetV2's layer names, so its ImageNet weights load by name. 3.5M parameters and "
        "about 300M multiply-adds at 224x224.")
    x = b.add("input", "Input", shape=[224, 224, 3])
    x = conv_bn_act(b, x, ("Conv1", "bn_Conv1", "Conv1_relu"),
                    dict(filters=32, kernel_size=3, strides=2, padding="same", use_bias=False),
                    bn=BN, act=("ReLU", RELU6))
    channels, block_id = 32, 0
    for t, c, n, s in STAGES:
        for i in range(n):
            x = _block(b, x, channels, t, c, s if i == 0 else 1, block_id)
            channels, block_id = c, block_id + 1
    x = conv_bn_act(b, x, ("Conv_1", "Conv_1_bn", "out_relu"),
                    dict(filters=1280, kernel_size=1, use_bias=False), bn=BN, act=("ReLU", RELU6))
    b.chain(x, ("global_average_pooling2d", "GlobalAveragePooling2D", {}),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    return b.finish(keras_application="MobileNetV2", year=2018, paper=PAPER,
                    introduced="inverted residuals with linear bottlenecks",
                    training=TRAINING)
