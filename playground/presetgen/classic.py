"""The plain stacks: LeNet-5, AlexNet and VGG-16/19."""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder

NOTES = "lecture notes, CNN History"


def lenet5() -> Graph:
    b = GraphBuilder(
        "LeNet-5",
        "LeNet-5 (LeCun, Bottou, Bengio, Haffner: Gradient-Based Learning Applied to Document "
        "Recognition, 1998) in its modern form: tanh units, 2x2 average pooling for the "
        "subsampling layers S2/S4, every C3 map connected to all S2 maps, and C5 as a dense layer "
        "on the flattened 5x5x16 maps (the same 48,120 weights as the paper's 5x5 convolution, "
        "but it also accepts 28x28 digits). It introduced the conv-pool-conv-pool-dense pattern "
        "trained end to end by backpropagation. 61,706 parameters.")
    x = b.add("input", "Input", shape=[32, 32, 1])
    b.chain(x,
            ("c1", "Conv2D", dict(filters=6, kernel_size=5, activation="tanh")),
            ("s2", "AveragePooling2D", dict(pool_size=2)),
            ("c3", "Conv2D", dict(filters=16, kernel_size=5, activation="tanh")),
            ("s4", "AveragePooling2D", dict(pool_size=2)),
            ("flatten", "Flatten", {}),
            ("c5", "Dense", dict(units=120, activation="tanh")),
            ("f6", "Dense", dict(units=84, activation="tanh")),
            ("predictions", "Dense", dict(units=10, activation="softmax")))
    return b.finish(
        year=1998,
        paper="LeCun et al., Gradient-Based Learning Applied to Document Recognition, "
              "Proc. IEEE 1998",
        introduced="convolution + subsampling stacks trained end to end (digits)",
        training=dict(optimizer="sgd", learning_rate=0.1, momentum=0.9, batch_size=32,
                      epochs=10, lr_schedule=dict(kind="cosine"),
                      augmentation=["random_translation"],
                      source="the paper trains 20 passes with stochastic diagonal "
                             "Levenberg-Marquardt; SGD with momentum 0.9 at the lecture notes' "
                             "0.1, annealed by a cosine over the run, is the modern stand-in, "
                             "and random translation (the notes' first augmentation) keeps "
                             "the small built-in digits set from overfitting: >= 97 % "
                             "validation accuracy within 10 epochs on every seed measured "
                             "(docs/perf/training.md)"))


def alexnet() -> Graph:
    lrn = dict(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    b = GraphBuilder(
        "AlexNet",
        "AlexNet (Krizhevsky, Sutskever, Hinton: ImageNet Classification with Deep "
        "Convolutional Neural Networks, NeurIPS 2012), single-stream 96-256-384-384-256 "
        "(the paper splits the layers over two GPUs; here every layer sees all channels, "
        "as in the 'one GPU' variant): 11x11/4 first convolution, local response "
        "normalization (n=5, k=2, alpha=1e-4, beta=0.75), overlapping 3x3/2 max pooling, "
        "dropout 0.5 in the two 4096-unit layers. It introduced ReLU and dropout to "
        "large-scale CNNs and won ILSVRC 2012. 62,378,344 parameters; needs at least a "
        "67x67 input.")
    x = b.add("input", "Input", shape=[227, 227, 3])
    b.chain(x,
            ("conv1", "Conv2D", dict(filters=96, kernel_size=11, strides=4, activation="relu")),
            ("norm1", "LocalResponseNormalization", lrn),
            ("pool1", "MaxPooling2D", dict(pool_size=3, strides=2)),
            ("conv2", "Conv2D", dict(filters=256, kernel_size=5, padding="same",
                                     activation="relu")),
            ("norm2", "LocalResponseNormalization", lrn),
            ("pool2", "MaxPooling2D", dict(pool_size=3, strides=2)),
            ("conv3", "Conv2D", dict(filters=384, kernel_size=3, padding="same",
                                     activation="relu")),
            ("conv4", "Conv2D", dict(filters=384, kernel_size=3, padding="same",
                                     activation="relu")),
            ("conv5", "Conv2D", dict(filters=256, kernel_size=3, padding="same",
                                     activation="relu")),
            ("pool5", "MaxPooling2D", dict(pool_size=3, strides=2)),
            ("flatten", "Flatten", {}),
            ("fc6", "Dense", dict(units=4096, activation="relu")),
            ("drop6", "Dropout", dict(rate=0.5)),
            ("fc7", "Dense", dict(units=4096, activation="relu")),
            ("drop7", "Dropout", dict(rate=0.5)),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    return b.finish(
        year=2012,
        paper="Krizhevsky, Sutskever, Hinton, ImageNet Classification with Deep "
              "Convolutional Neural Networks, NeurIPS 2012",
        introduced="ReLU, dropout, GPU training, data augmentation at ImageNet scale",
        training=dict(optimizer="sgd", learning_rate=0.01, momentum=0.9,
                      lr_schedule=dict(kind="reduce_on_plateau", factor=0.1,
                                       monitor="val_accuracy"),
                      weight_decay=5e-4, batch_size=128, dropout=0.5,
                      augmentation=["random_crop", "horizontal_flip", "color_jitter"],
                      source=f"{NOTES}: AlexNet"))


VGG_BLOCKS = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
VGG_WIDTHS = (64, 128, 256, 512, 512)


def vgg(depth: int) -> Graph:
    convs = VGG_BLOCKS[depth]
    b = GraphBuilder(
        f"VGG-{depth}",
        f"VGG-{depth} (Simonyan, Zisserman: Very Deep Convolutional Networks for Large-Scale "
        "Image Recognition, ICLR 2015), configuration " + ("D" if depth == 16 else "E")
        + ": only 3x3 convolutions (stride 1, 'same' padding) in five blocks of "
        + "-".join(str(n) for n in convs) + " layers with 64-128-256-512-512 filters, "
        "2x2/2 max pooling, two 4096-unit layers and a 1000-way softmax. It showed that "
        "depth built from stacked small 3x3 filters (two 3x3 see as far as one 5x5 with fewer "
        f"weights) beats larger filters. Node ids are keras.applications.VGG{depth}'s layer "
        "names, so its ImageNet weights load by name. Its first dense layer (fc1) is sized for "
        "7x7x512 maps, so other input sizes change fc1.")
    x = b.add("input", "Input", shape=[224, 224, 3])
    for block, (n, width) in enumerate(zip(convs, VGG_WIDTHS, strict=True), start=1):
        for i in range(1, n + 1):
            x = b.add(f"block{block}_conv{i}", "Conv2D", x, filters=width, kernel_size=3,
                      padding="same", activation="relu")
        x = b.add(f"block{block}_pool", "MaxPooling2D", x, pool_size=2, strides=2)
    b.chain(x,
            ("flatten", "Flatten", {}),
            ("fc1", "Dense", dict(units=4096, activation="relu")),
            ("fc2", "Dense", dict(units=4096, activation="relu")),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    return b.finish(
        keras_application=f"VGG{depth}",
        year=2014, lecture_order=10,  # the lecture meets VGG before GoogLeNet (same year)
        paper="Simonyan, Zisserman, Very Deep Convolutional Networks for Large-Scale Image "
              "Recognition, ICLR 2015 (arXiv 2014)",
        introduced="depth from stacks of 3x3 convolutions",
        training=dict(optimizer="sgd", learning_rate=0.01, momentum=0.9,
                      lr_schedule=dict(kind="reduce_on_plateau", factor=0.1,
                                       monitor="val_accuracy"),
                      weight_decay=5e-4, batch_size=256, dropout=0.5,
                      source="the VGG paper, section 3.1 (dropout 0.5 in fc1 and fc2 "
                             "during training; keras.applications' graph has no Dropout "
                             "layers, so add them to train from scratch)"))


def vgg16() -> Graph:
    return vgg(16)


def vgg19() -> Graph:
    return vgg(19)
