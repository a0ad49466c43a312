"""ShuffleNet v1, 1x, g = 3 (Zhang et al. 2017), per the paper's Table 1: 137M multiply-adds at
224x224x3 (the paper's Table 2 rounds to 140 MFLOPs). keras.applications has no ShuffleNet.

Channel shuffle is the ChannelShuffle block: what Reshape (H, W, g, C/g) -> Permute (swap the last
two axes) -> Reshape (H, W, C) does, as one node that follows the input size (Reshape targets
would pin the spatial size): channels from each group reach every group of the next grouped
convolution.
"""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder
from playground.presetgen.units import conv_bn_act

PAPER = ("Zhang et al., ShuffleNet: An Extremely Efficient Convolutional Neural Network for "
         "Mobile Devices, CVPR 2018 (arXiv 2017)")
GROUPS = 3
# Table 1, g = 3: (output channels, repeats); the first unit of each stage has stride 2.
STAGES = ((240, 4), (480, 8), (960, 4))
TRAINING = dict(
    optimizer="sgd", learning_rate=0.5, momentum=0.9,
    lr_schedule=dict(kind="cosine"), weight_decay=4e-5, batch_size=1024,
    augmentation=["random_crop", "horizontal_flip"],
    source="the ShuffleNet paper, section 4: weight decay 4e-5, a linear-decay learning rate "
           "schedule from 0.5 over 3x10^5 iterations with batch 1024 (cosine here, the "
           "nearest schedule the app has), less augmentation than for large models")


def _unit(b: GraphBuilder, x: str, name: str, in_ch: int, out_ch: int, stride: int,
          group_first: bool) -> str:
    """Figure 2 (b) (stride 1: add) and (c) (stride 2: average-pooled shortcut, concat)."""
    branch_out = out_ch - in_ch if stride == 2 else out_ch
    bottleneck = out_ch // 4
    y = conv_bn_act(b, x, (f"{name}_gconv1", f"{name}_gconv1_bn", f"{name}_gconv1_relu"),
                    dict(filters=bottleneck, kernel_size=1, use_bias=False,
                         **({"groups": GROUPS} if group_first else {})))
    y = b.add(f"{name}_shuffle", "ChannelShuffle", y, groups=GROUPS)
    y = conv_bn_act(b, y, (f"{name}_dwconv", f"{name}_dwconv_bn", None),
                    dict(kernel_size=3, strides=stride, padding="same", use_bias=False),
                    conv_type="DepthwiseConv2D")
    y = conv_bn_act(b, y, (f"{name}_gconv2", f"{name}_gconv2_bn", None),
                    dict(filters=branch_out, kernel_size=1, groups=GROUPS, use_bias=False))
    if stride == 2:
        shortcut = b.add(f"{name}_shortcut_pool", "AveragePooling2D", x, pool_size=3,
                         strides=2, padding="same")
        merged = b.add(f"{name}_concat", "Concatenate", [shortcut, y])
    else:
        merged = b.add(f"{name}_add", "Add", [x, y])
    return b.add(f"{name}_relu", "ReLU", merged)


def shufflenet() -> Graph:
    b = GraphBuilder(
        "ShuffleNet",
        f"ShuffleNet v1, 1x, g = 3 ({PAPER}), per the paper's Table 1: one of the efficient "
        "networks the notes name beside MobileNet. Like MobileNet it filters each channel "
        "with a cheap 3x3 depthwise convolution; it also makes the 1x1 convolutions cheap by "
        "grouping them (each sees a third of the channels), and shuffles the channels between "
        "groups (ChannelShuffle: Reshape -> Permute -> Reshape) so that information still flows across them. "
        "A unit is a residual bottleneck: grouped 1x1, shuffle, 3x3 depthwise, grouped 1x1, "
        "added to its input; a stride-2 unit concatenates an average-pooled shortcut instead. "
        "Three stages of 4, 8 and 4 units (240, 480, 960 channels) after a 3x3/2 convolution "
        "and a 3x3/2 max pool; 137M multiply-adds at 224x224 by the app's count (the paper's "
        "Table 2 rounds it to 140 MFLOPs) and 1.9M parameters. "
        "No keras.applications twin.")
    x = b.add("input", "Input", shape=[224, 224, 3])
    x = conv_bn_act(b, x, ("conv1", "conv1_bn", "conv1_relu"),
                    dict(filters=24, kernel_size=3, strides=2, padding="same", use_bias=False))
    x = b.add("pool1", "MaxPooling2D", x, pool_size=3, strides=2, padding="same")
    channels = 24
    for s, (out_ch, repeats) in enumerate(STAGES, start=2):
        for i in range(repeats):
            x = _unit(b, x, f"stage{s}_unit{i + 1}", channels, out_ch, 2 if i == 0 else 1,
                      group_first=not (s == 2 and i == 0))
            channels = out_ch
    b.chain(x, ("global_pool", "GlobalAveragePooling2D", {}),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    return b.finish(year=2017, paper=PAPER,
                    introduced="channel shuffle between grouped 1x1 convolutions",
                    training=TRAINING)
