"""Every bundled preset: file key -> the function that builds it, in gallery order."""

from __future__ import annotations

from collections.abc import Callable

from playground.core.graph import Graph
from playground.presetgen import (
    classic,
    densenet,
    efficientnet,
    googlenet,
    inception_resnet,
    inception_v3,
    mobilenet,
    mobilenet_v2,
    resnet,
    shufflenet,
    unet,
)

PRESETS: dict[str, Callable[[], Graph]] = {
    "lenet5": classic.lenet5,
    "alexnet": classic.alexnet,
    "vgg16": classic.vgg16,
    "vgg19": classic.vgg19,
    "googlenet": googlenet.googlenet,
    "googlenet_aux": googlenet.googlenet_aux,
    "inception_naive_vs_bottleneck": googlenet.inception_naive_vs_bottleneck,
    "resnet18": resnet.resnet18,
    "resnet34": resnet.resnet34,
    "resnet50": resnet.resnet50,
    "unet": unet.unet,
    "densenet121": densenet.densenet121,
    "mobilenet": mobilenet.mobilenet,
    "inception_v3": inception_v3.inception_v3,
    "inception_resnet_v2": inception_resnet.inception_resnet_v2,
    "mobilenet_v2": mobilenet_v2.mobilenet_v2,
    "shufflenet": shufflenet.shufflenet,
    "efficientnet_b0": efficientnet.efficientnet_b0,
}
