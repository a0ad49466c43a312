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

from pathlib import Path
from typing import Any

from playground.core.graph import Graph
from playground.core.twins import (  # noqa: F401 - re-exported: the table's old home
    BASE,
    MOBILENET_ROWS,
    TWINS,
    Twin,
    TwinError,
    cache_dir,
    download_url,
)
from playground.core.twins import identify as _identify
from playground.keras_build.weights import LoadReport, WeightsError, apply_weights, read_weights


class ImagenetError(WeightsError):
    """No ImageNet twin, or the weights file cannot be had."""


def identify(graph: Graph) -> Twin:
    """The twin named by the graph's ``keras_application`` key, else by its name."""
    try:
        return _identify(graph)
    except TwinError as exc:
        raise ImagenetError(str(exc)) from None


def weights_file(twin: Twin, model: Any) -> tuple[str, str | None]:
    """(file name, md5) for this model: with the top if it has the 1000-class classifier."""
    with_top = False
    try:
        layer = model.get_layer(twin.top_layer)
        shape = layer.weights[0].shape if layer.weights else ()
        with_top = len(shape) > 0 and int(shape[-1]) == 1000
    except ValueError:
        with_top = False
    md5 = twin.top_md5 if with_top else twin.notop_md5
    return twin.file_name(with_top, int(model.inputs[0].shape[1] or 224)), md5


def fetch(file_name: str, folder: str, md5: str | None) -> Path:
    """The cached file, downloading it with ``keras.utils.get_file`` if needed."""
    root = cache_dir()
    cached = root / "models" / file_name
    url = download_url(folder, file_name)
    if cached.is_file():
        return cached
    import keras

    try:
        path = keras.utils.get_file(file_name, url, cache_subdir="models",
                                    cache_dir=str(root), file_hash=md5)
    except Exception as exc:  # noqa: BLE001 - get_file raises bare Exception when offline
        # Keras' message repeats the URL; the reason (e.g. "[Errno -2] Name or service not
        # known") is its end, so a long one keeps its end, not a cut middle.
        reason = str(exc).replace(f" on {url}", "").replace(url, "the URL")
        reason = reason if len(reason) <= 160 else "..." + reason[-157:]
        from playground.core.twin_download import offline_message

        raise ImagenetError(offline_message(file_name, url, cached,
                                            f"{type(exc).__name__}: {reason}")) from None
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
    return load_twin_weights(model, twin, fetch(file_name, twin.folder, md5))


def load_twin_weights(model: Any, twin: Twin, path: Path) -> LoadReport:
    """Keras' ImageNet file at ``path`` into the twin's model: by layer name, else by order."""
    weights = read_weights(path)
    source = f"imagenet ({twin.name}: {path})"
    from playground.keras_build.weights import _model_layers

    by_name = sum(1 for layer in _model_layers(model) if layer.name in weights)
    if by_name < len(_model_layers(model)):
        report = _order_fallback(model, weights, source)
        if report is not None:
            return report
    return apply_weights(model, weights, source)
