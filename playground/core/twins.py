"""keras.applications twins: which graphs have Keras' published ImageNet weights, in which files.

Pure Python (no TensorFlow), so a command can refuse a graph that is no twin before paying for
TensorFlow's import; ``keras_build.imagenet`` loads the weights, ``inspect.twin`` predicts with
them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from playground.core.errors import PlaygroundError
from playground.core.graph import Graph

BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Twin:
    name: str
    top_file: str
    notop_file: str
    folder: str                       # URL folder under BASE
    top_layer: str                    # the ImageNet classifier's layer name
    top_md5: str | None = None
    notop_md5: str | None = None

    def file_name(self, with_top: bool, rows: int | None = None) -> str:
        """The file for a model with (or without) ImageNet's classifier; the MobileNets publish
        one per input size (``rows``; 224 for a size they do not publish)."""
        name = self.top_file if with_top else self.notop_file
        if "{rows}" not in name:
            return name
        return name.format(rows=rows if rows in MOBILENET_ROWS else 224)

    def url(self, file_name: str) -> str:
        """Where Keras downloads ``file_name`` of this twin from."""
        return download_url(self.folder, file_name)


def download_url(folder: str, file_name: str) -> str:
    """A weights file's URL: ``folder`` is a full URL or a folder under :data:`BASE`."""
    return (folder if folder.startswith("https://") else BASE + folder) + file_name


TWINS: dict[str, Twin] = {t.name.lower(): t for t in (
    Twin("VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
         "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg16/", "predictions",
         "64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
    Twin("VGG19", "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
         "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg19/", "predictions",
         "cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"),
    Twin("ResNet50", "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
         "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "resnet/", "predictions",
         "2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    Twin("MobileNet", "mobilenet_1_0_{rows}_tf.h5", "mobilenet_1_0_{rows}_tf_no_top.h5",
         "mobilenet/", "conv_preds"),
    Twin("DenseNet121", "densenet121_weights_tf_dim_ordering_tf_kernels.h5",
         "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", "densenet/", "predictions",
         "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    Twin("InceptionV3", "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
         "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "inception_v3/",
         "predictions", "9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63"),
    Twin("InceptionResNetV2", "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
         "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
         "inception_resnet_v2/", "predictions", "e693bd0210a403b3192acc6073ad2e96",
         "d19885ff4a710c122648d3b5c3b684e4"),
    Twin("MobileNetV2", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}.h5",
         "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5",
         "mobilenet_v2/", "predictions"),
    # EfficientNet's files live outside BASE: the folder is a full URL.
    Twin("EfficientNetB0", "efficientnetb0.h5", "efficientnetb0_notop.h5",
         "https://storage.googleapis.com/keras-applications/", "predictions",
         "902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
)}
MOBILENET_ROWS = (128, 160, 192, 224)


class TwinError(PlaygroundError):
    """The graph is no keras.applications twin (``keras_build.imagenet.ImagenetError`` is the
    weights loader's own kind of it)."""


def identify(graph: Graph) -> Twin:
    """The twin named by the graph's ``keras_application`` key, else by its name."""
    explicit = graph.extra.get("keras_application")
    if isinstance(explicit, str):
        twin = TWINS.get(explicit.lower())
        if twin is None:
            raise TwinError(f"keras_application {explicit!r} has no ImageNet weights here "
                                f"(known: {', '.join(t.name for t in TWINS.values())})")
        return twin
    key = re.sub(r"[^a-z0-9]", "", graph.name.lower())
    for twin_key, twin in TWINS.items():
        rest = key[len(twin_key):] if key.startswith(twin_key) else None
        # "VGG-16 (ImageNet)" matches VGG16; "ResNet50V2" or "VGG161" do not.
        if rest is not None and not (rest[:1].isdigit() or rest[:1] == "v"):
            return twin
    raise TwinError(
        f"ImageNet weights: the graph {graph.name!r} is not a keras.applications twin "
        f"({', '.join(t.name for t in TWINS.values())}); name it so, or set "
        '"keras_application": "VGG16" (etc.) at the top of the graph file')


def cache_dir() -> Path:
    """Keras' cache root, read at call time (``keras.config`` fixes it at import)."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return Path(home)
    return Path(os.path.expanduser("~")) / ".keras"
