"""MobileNet v1 (alpha 1), with keras.applications.MobileNet's layer names."""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder

PAPER = ("Howard et al., MobileNets: Efficient Convolutional Neural Networks for Mobile Vision "
         "Applications, arXiv 2017")
# (pointwise filters, depthwise stride) of blocks 1..13.
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
          (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
RELU6 = dict(max_value=6.0)


def mobilenet() -> Graph:
    b = GraphBuilder(
        "MobileNet",
        f"MobileNet v1, width multiplier 1 ({PAPER}): a 3x3/2 convolution, then 13 depthwise "
        "separable blocks (3x3 depthwise convolution + BN + ReLU6, 1x1 pointwise convolution "
        "+ BN + ReLU6), global average pooling and a 1x1 convolution as the classifier. Node "
        "ids are keras.applications.MobileNet's layer names (strided depthwise convolutions "
        "pad one row and column at the bottom/right first, conv_pad_N), so its ImageNet "
        "weights load by name. It introduced depthwise separable convolutions as the building "
        "block: 4.2M parameters and about 570M multiply-adds, 8-9x fewer than standard 3x3 "
        "convolutions.")
    x = b.add("input", "Input", shape=[224, 224, 3])
    x = b.chain(x,
                ("conv1", "Conv2D", dict(filters=32, kernel_size=3, strides=2, padding="same",
                                         use_bias=False)),
                ("conv1_bn", "BatchNormalization", {}),
                ("conv1_relu", "ReLU", RELU6))
    for i, (filters, stride) in enumerate(BLOCKS, start=1):
        if stride == 2:
            x = b.add(f"conv_pad_{i}", "ZeroPadding2D", x, padding=[[0, 1], [0, 1]])
        x = b.chain(x,
                    (f"conv_dw_{i}", "DepthwiseConv2D",
                     dict(kernel_size=3, strides=stride,
                          padding="valid" if stride == 2 else "same", use_bias=False)),
                    (f"conv_dw_{i}_bn", "BatchNormalization", {}),
                    (f"conv_dw_{i}_relu", "ReLU", RELU6),
                    (f"conv_pw_{i}", "Conv2D", dict(filters=filters, kernel_size=1,
                                                    padding="same", use_bias=False)),
                    (f"conv_pw_{i}_bn", "BatchNormalization", {}),
                    (f"conv_pw_{i}_relu", "ReLU", RELU6))
    b.chain(x,
            ("global_average_pooling2d", "GlobalAveragePooling2D", dict(keepdims=True)),
            ("dropout", "Dropout", dict(rate=1e-3)),
            ("conv_preds", "Conv2D", dict(filters=1000, kernel_size=1, padding="same")),
            ("reshape_2", "Reshape", dict(target_shape=[1000])),
            ("predictions", "Activation", dict(activation="softmax")))
    return b.finish(
        keras_application="MobileNet", year=2017, paper=PAPER,
        introduced="depthwise separable convolutions",
        training=dict(optimizer="rmsprop", learning_rate=0.045, momentum=0.9, rho=0.9,
                      lr_schedule=dict(kind="exponential", factor=0.98, every_epochs=1),
                      weight_decay=4e-5, batch_size=96,
                      source="the MobileNet paper trains with RMSprop and little weight "
                             "decay but gives no rates; these are the MobileNetV2 paper's "
                             "RMSprop settings"))
