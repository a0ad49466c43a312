"""``--init-weights imagenet``: Keras' published ImageNet weights for graphs that are twins of a
``keras.applications`` model (VGG16, VGG19, ResNet50, MobileNet, DenseNet121, InceptionV3,
InceptionResNetV2, MobileNetV2, EfficientNetB0).

The files are the ones ``keras.applications`` itself downloads (same URLs, same file names, same
cache folder ``$KERAS_HOME/models`` or ``~/.keras/models``), fetched with ``keras.utils.get_file``
so a file Keras already cached is reused and vice versa. A cached file is used as it is; a fresh
download is checked against Keras' published MD5 where Keras has one. Offline, the error names
the exact file and the folder to put it in.

The weights load by layer name and shape, like any other ``--init-weights`` file: the presets name
their nodes after Keras' layers (``block1_conv1``, ``conv2_block1``...). When names do not match
but the graph has exactly the twin's weighted layers in the same order and shapes, the weights load
in that order instead (how Keras itself reads these legacy files).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.core.graph import Graph
from playground.keras_build.weights import LoadReport, WeightsError, apply_weights, read_weights

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


class ImagenetError(WeightsError):
    """No ImageNet twin, or the weights file cannot be had."""


def identify(graph: Graph) -> Twin:
    """The twin named by the graph's ``keras_application`` key, else by its name."""
    explicit = graph.extra.get("keras_application")
    if isinstance(explicit, str):
        twin = TWINS.get(explicit.lower())
        if twin is None:
            raise ImagenetError(f"keras_application {explicit!r} has no ImageNet weights here "
                                f"(known: {', '.join(t.name for t in TWINS.values())})")
        return twin
    key = re.sub(r"[^a-z0-9]", "", graph.name.lower())
    for twin_key, twin in TWINS.items():
        rest = key[len(twin_key):] if key.startswith(twin_key) else None
        # "VGG-16 (ImageNet)" matches VGG16; "ResNet50V2" or "VGG161" do not.
        if rest is not None and not (rest[:1].isdigit() or rest[:1] == "v"):
            return twin
    raise ImagenetError(
        f"--init-weights imagenet: the graph {graph.name!r} is not a keras.applications twin "
        f"({', '.join(t.name for t in TWINS.values())}); name it so, or set "
        '"keras_application": "VGG16" (etc.) at the top of the graph file')


def cache_dir() -> Path:
    """Keras' cache root, read at call time (``keras.config`` fixes it at import)."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return Path(home)
    return Path(os.path.expanduser("~")) / ".keras"


def weights_file(twin: Twin, model: Any) -> tuple[str, str | None]:
    """(file name, md5) for this model: with the top if it has the 1000-class classifier."""
    with_top = False
    try:
        layer = model.get_layer(twin.top_layer)
        shape = layer.weights[0].shape if layer.weights else ()
        with_top = len(shape) > 0 and int(shape[-1]) == 1000
    except ValueError:
        with_top = False
    name = twin.top_file if with_top else twin.notop_file
    md5 = twin.top_md5 if with_top else twin.notop_md5
    if "{rows}" in name:
        rows = int(model.inputs[0].shape[1] or 224)
        name = name.format(rows=rows if rows in MOBILENET_ROWS else 224)
    return name, md5


def fetch(file_name: str, folder: str, md5: str | None) -> Path:
    """The cached file, downloading it with ``keras.utils.get_file`` if needed."""
    root = cache_dir()
    cached = root / "models" / file_name
    url = (folder if folder.startswith("https://") else BASE + folder) + file_name
    if cached.is_file():
        return cached
    import keras

    try:
        path = keras.utils.get_file(file_name, url, cache_subdir="models",
                                    cache_dir=str(root), file_hash=md5)
    except Exception as exc:  # noqa: BLE001 - get_file raises bare Exception when offline
        raise ImagenetError(
            f"cannot download the ImageNet weights {file_name} ({type(exc).__name__}: "
            f"{str(exc)[:160]}). Offline? Download {url} elsewhere and "
            f"place it as {cached} (the folder is $KERAS_HOME/models, or ~/.keras/models "
            "without KERAS_HOME)") from None
    return Path(path)


def _order_fallback(model: Any, weights: dict[str, list[Any]], source: str
                    ) -> LoadReport | None:
    """Load by order when the graph has the twin's weighted layers, in order, shape for shape."""
    from playground.keras_build.weights import _model_layers

    layers = _model_layers(model)
    arrays = list(weights.values())
    if len(layers) != len(arrays):
        return None
    for layer, values in zip(layers, arrays, strict=True):
        if [tuple(v.shape) for v in layer.weights] != [tuple(a.shape) for a in values]:
            return None
    renamed = {layer.name: values for layer, values in zip(layers, arrays, strict=True)}
    return apply_weights(model, renamed, source + " (matched by layer order)")


def load_imagenet(model: Any, graph: Graph) -> LoadReport:
    twin = identify(graph)
    file_name, md5 = weights_file(twin, model)
    path = fetch(file_name, twin.folder, md5)
    weights = read_weights(path)
    source = f"imagenet ({twin.name}: {path})"
    from playground.keras_build.weights import _model_layers

    by_name = sum(1 for layer in _model_layers(model) if layer.name in weights)
    if by_name < len(_model_layers(model)):
        report = _order_fallback(model, weights, source)
        if report is not None:
            return report
    return apply_weights(model, weights, source)
