"""GoogLeNet (Inception v1) per the paper's Table 1, with and without the auxiliary
classifiers, and the lecture's naive-versus-bottleneck inception module comparison."""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder

PAPER = ("Szegedy et al., Going Deeper with Convolutions, CVPR 2015 (arXiv 2014)")

# Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
KEYS = ("f1x1", "f3x3_reduce", "f3x3", "f5x5_reduce", "f5x5", "pool_proj")
# Caffe's bvlc_googlenet LRN: local_size 5, alpha 1e-4 (divided by the size in Caffe), k 1.
LRN = dict(depth_radius=2, bias=1.0, alpha=2e-5, beta=0.75)
AUX_AFTER = {"4a": "aux1", "4d": "aux2"}

TRAINING = dict(
    optimizer="sgd", learning_rate=0.01, momentum=0.9,
    lr_schedule=dict(kind="exponential", factor=0.96, every_epochs=8),
    weight_decay=2e-4, batch_size=32, dropout=0.4,
    source="the GoogLeNet paper, section 6 (SGD, momentum 0.9, learning rate down 4% every "
           "8 epochs); the paper gives no initial rate, batch size or weight decay, these "
           "are Caffe's bvlc_googlenet reference settings")


def _googlenet(aux: bool) -> tuple[Graph, list[str]]:
    name = "GoogLeNet + aux classifiers" if aux else "GoogLeNet"
    text = (
        f"GoogLeNet / Inception v1 ({PAPER}) per the paper's Table 1: 7x7/2 stem, LRN, nine "
        "inception modules 3a-5b (parallel 1x1, 3x3 and 5x5 convolutions and 3x3 max pooling, "
        "with 1x1 'reduce' convolutions in front of the expensive branches), convolutions with "
        "biases and no batch normalization, average pooling over the final 7x7 maps (as "
        "global average pooling, so other input sizes work), dropout 0.4 and a 1000-way "
        "softmax. It introduced the inception module: 22 layers deep with 12x fewer "
        "parameters than AlexNet.")
    if aux:
        text += (" This variant adds the two auxiliary classifiers used during training "
                 "(after 4a and 4d: 5x5/3 average pooling, 1x1 conv 128, FC 1024, dropout 0.7, "
                 "FC 1000 softmax) as extra outputs; their losses count 0.3 each "
                 "(top-level loss_weights). At inference the paper discards them. Needs at "
                 "least a 65x65 input (the 5x5 pool of the auxiliary heads).")
    b = GraphBuilder(name, text)
    x = b.add("input", "Input", shape=[224, 224, 3])
    x = b.chain(x,
                ("conv1", "Conv2D", dict(filters=64, kernel_size=7, strides=2, padding="same",
                                         activation="relu")),
                ("pool1", "MaxPooling2D", dict(pool_size=3, strides=2, padding="same")),
                ("norm1", "LocalResponseNormalization", LRN),
                ("conv2_reduce", "Conv2D", dict(filters=64, kernel_size=1, activation="relu")),
                ("conv2", "Conv2D", dict(filters=192, kernel_size=3, padding="same",
                                         activation="relu")),
                ("norm2", "LocalResponseNormalization", LRN),
                ("pool2", "MaxPooling2D", dict(pool_size=3, strides=2, padding="same")))
    taps: dict[str, str] = {}
    for module, widths in MODULES.items():
        if module in ("4a", "5a"):
            x = b.add(f"pool{int(module[0]) - 1}", "MaxPooling2D", x, pool_size=3, strides=2,
                      padding="same")
        x = b.add(f"inception_{module}", "InceptionModule", x, **dict(zip(KEYS, widths,
                                                                           strict=True)))
        if aux and module in AUX_AFTER:
            taps[AUX_AFTER[module]] = x
    b.chain(x,
            ("avg_pool", "GlobalAveragePooling2D", {}),
            ("dropout", "Dropout", dict(rate=0.4)),
            ("predictions", "Dense", dict(units=1000, activation="softmax")))
    outputs = ["predictions"]
    for head, tap in taps.items():
        b.chain(tap,
                (f"{head}_pool", "AveragePooling2D", dict(pool_size=5, strides=3)),
                (f"{head}_conv", "Conv2D", dict(filters=128, kernel_size=1, activation="relu")),
                (f"{head}_flatten", "Flatten", {}),
                (f"{head}_fc", "Dense", dict(units=1024, activation="relu")),
                (f"{head}_dropout", "Dropout", dict(rate=0.7)),
                (f"{head}_predictions", "Dense", dict(units=1000, activation="softmax")))
        outputs.append(f"{head}_predictions")
    loss_weights = {o: (1.0 if o == "predictions" else 0.3) for o in outputs} if aux else None
    graph = b.finish(year=2014, lecture_order=20, paper=PAPER,
                     introduced="inception modules: parallel 1x1/3x3/5x5 with 1x1 bottlenecks",
                     loss_weights=loss_weights, training=dict(TRAINING))
    return graph, outputs


def googlenet() -> Graph:
    return _googlenet(aux=False)[0]


def googlenet_aux() -> Graph:
    return _googlenet(aux=True)[0]


def inception_naive_vs_bottleneck() -> Graph:
    naive = dict(f1x1=128, f3x3_reduce=0, f3x3=192, f5x5_reduce=0, f5x5=96, pool_proj=0)
    bottleneck = dict(f1x1=128, f3x3_reduce=64, f3x3=192, f5x5_reduce=64, f5x5=96,
                      pool_proj=64)
    b = GraphBuilder(
        "Inception: naive/bottleneck",
        "The lecture's example of why GoogLeNet's inception module has 1x1 'bottleneck' "
        "convolutions (Szegedy et al. 2014, figure 2). One 28x28x256 input feeds two modules "
        "with the same 1x1 (128), 3x3 (192) and 5x5 (96) branches. The naive module "
        "convolves all 256 channels: 28*28*(128*1*1*256 + 192*3*3*256 + 96*5*5*256) = "
        "854,196,224 multiply-accumulates, and its pool branch passes all 256 channels through "
        "(output 28x28x672). The bottleneck module first reduces to 64 channels before the "
        "3x3 and the 5x5 and projects the pool branch to 64: 28*28*(128*256 + 64*256 + "
        "192*9*64 + 64*256 + 96*25*64 + 64*256) = 271,351,808 MACs (the slides' '358M' is an "
        "arithmetic slip), output 28x28x480: about a third of the work. Compare the two "
        "nodes' MACs in the summary.")
    x = b.add("input", "Input", shape=[28, 28, 256])
    b.add("naive", "InceptionModule", x, **naive)
    b.add("bottleneck", "InceptionModule", x, **bottleneck)
    return b.finish(year=2014, lecture_order=30, paper=PAPER,
                    introduced="1x1 bottlenecks cut an inception module's cost to a third")
