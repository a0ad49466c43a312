"""U-Net with 'same' padding (so the output mask has the input's size)."""

from __future__ import annotations

from playground.core.graph import Graph
from playground.presetgen.builder import GraphBuilder

PAPER = ("Ronneberger, Fischer, Brox, U-Net: Convolutional Networks for Biomedical Image "
         "Segmentation, MICCAI 2015")
WIDTHS = (64, 128, 256, 512)
BOTTOM = 1024
INPUT = 32   # a multiple of 16; small enough that the recipe converges on a CPU (issue 16)
ROW_STEP = 1.5


def _double_conv(b: GraphBuilder, x: str, name: str, filters: int, row: float) -> str:
    for i in (1, 2):
        x = b.add(f"{name}_conv{i}", "Conv2D", x, row=row, filters=filters, kernel_size=3,
                  padding="same", activation="relu")
    return x


def unet() -> Graph:
    b = GraphBuilder(
        "U-Net",
        f"U-Net ({PAPER}) with 'same' padding: an encoder of two 3x3 convolutions + ReLU per "
        "level and 2x2 max pooling (64-128-256-512, 1024 at the bottom), a decoder that "
        "upsamples with 2x2/2 transposed convolutions, concatenates the encoder's maps of the "
        "same level (the skip connections) and applies two 3x3 convolutions, and a 1x1 "
        "convolution to a 1-channel sigmoid mask. The paper uses 'valid' convolutions and "
        "crops the skips (572x572 in, 388x388 out); with 'same' the mask has the input's size, "
        "which must be a multiple of 16 (32x32 here, so the 31M parameters train on a laptop's "
        "CPU; the weights do not depend on the input size: set a larger Input for larger "
        "images). It "
        "introduced the encoder-decoder with concatenated skips, precise segmentation from few "
        "training images.")
    x = b.add("input", "Input", row=0, shape=[INPUT, INPUT, 1])
    skips = []
    for level, width in enumerate(WIDTHS, start=1):
        row = (level - 1) * ROW_STEP
        x = _double_conv(b, x, f"enc{level}", width, row)
        skips.append(x)
        x = b.add(f"enc{level}_pool", "MaxPooling2D", x, row=row + ROW_STEP / 2, pool_size=2)
    x = _double_conv(b, x, "bottleneck", BOTTOM, len(WIDTHS) * ROW_STEP)
    for level in range(len(WIDTHS), 0, -1):
        width, row = WIDTHS[level - 1], (level - 1) * ROW_STEP
        up = b.add(f"dec{level}_up", "Conv2DTranspose", x, row=row + ROW_STEP / 2,
                   filters=width, kernel_size=2, strides=2, padding="same")
        x = b.add(f"dec{level}_concat", "Concatenate", [skips[level - 1], up], row=row)
        x = _double_conv(b, x, f"dec{level}", width, row)
    b.add("mask", "Conv2D", x, row=0, filters=1, kernel_size=1, activation="sigmoid")
    return b.finish(
        year=2015, paper=PAPER,
        introduced="encoder-decoder with concatenated skip connections (segmentation)",
        task="segmentation",
        training=dict(dataset="shapes", optimizer="adam", learning_rate=5e-4,
                      lr_schedule={"kind": "cosine"}, batch_size=8, epochs=15,
                      val_split=0.15, test_split=0.15, augmentation=["horizontal_flip"],
                      source="trains out of the box on the built-in 'shapes' set (generated "
                             "offline: shapes on noise with their masks) with binary "
                             "cross-entropy on the 1-channel sigmoid mask; measured on 2 shared "
                             "CPU cores (docs/PERFORMANCE.md, issue 16); the paper used SGD "
                             "with momentum 0.99 and one 572x572 image per batch"))


def small_unet(size: int = 32, channels: int = 1, width: int = 8, classes: int = 1) -> Graph:
    """A U-Net with one level (a few thousand parameters) for the fast test and the bench:
    two 3x3 convolutions, 2x2 pooling, two convolutions at twice the width, a 2x2/2 transposed
    convolution back up, the skip concatenated, one convolution and a 1x1 head (1-channel
    sigmoid for ``classes`` = 1, else a softmax over ``classes``)."""
    b = GraphBuilder("small U-Net", "A one-level U-Net: the encoder-decoder with a "
                                    "concatenated skip connection, small enough for a CPU.")
    conv = dict(kernel_size=3, padding="same", activation="relu")
    x = b.add("input", "Input", shape=[size, size, channels])
    x = b.add("enc_conv1", "Conv2D", x, filters=width, **conv)
    skip = b.add("enc_conv2", "Conv2D", x, filters=width, **conv)
    x = b.add("enc_pool", "MaxPooling2D", skip, pool_size=2)
    x = b.add("bottom_conv1", "Conv2D", x, filters=2 * width, **conv)
    x = b.add("bottom_conv2", "Conv2D", x, filters=2 * width, **conv)
    up = b.add("dec_up", "Conv2DTranspose", x, filters=width, kernel_size=2, strides=2,
               padding="same")
    x = b.add("dec_concat", "Concatenate", [skip, up])
    x = b.add("dec_conv", "Conv2D", x, filters=width, **conv)
    b.add("mask", "Conv2D", x, filters=classes, kernel_size=1,
          activation="sigmoid" if classes == 1 else "softmax")
    return b.finish(task="segmentation")
