"""A keras.applications twin with Keras' published ImageNet weights, ready to predict.

A graph that is a twin of a ``keras.applications`` model (``core.twins.identify``:
the presets VGG-16/19, ResNet-50, MobileNet(-v2), DenseNet-121, Inception-v3,
Inception-ResNet-v2, EfficientNet-B0) gets the very weights file Keras itself uses (from the
Keras cache, downloaded once when online), the 1,000 ILSVRC-2012 class names the app ships
(``resources/imagenet_classes.txt``, index order), and its family's own input preprocessing
(``images.imagenet_preprocess``, checked against ``keras.applications.<module>.preprocess_input``
in the tests), so its answers are those of ``keras.applications.<Family>(weights="imagenet")``.

``plan_twin`` needs no TensorFlow (the graph's shapes come from the checker), so the CLI refuses
a graph that is no twin, or whose classifier is not ImageNet's 1,000 classes, before paying for
TensorFlow; ``load_imagenet_twin`` builds the model and loads the weights.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from playground.core.graph import Graph
from playground.core.twins import Twin, TwinError, cache_dir, identify
from playground.inspect.model import RANDOM_NOTE, LoadedModel, ModelLoadError

CLASSES_PATH = Path(__file__).resolve().parents[2] / "resources" / "imagenet_classes.txt"
IMAGENET_CLASSES = 1000

# Each family's keras.applications module and the mode its preprocess_input uses.
FAMILIES: dict[str, tuple[str, str]] = {
    "VGG16": ("vgg16", "caffe"),
    "VGG19": ("vgg19", "caffe"),
    "ResNet50": ("resnet50", "caffe"),
    "MobileNet": ("mobilenet", "tf"),
    "MobileNetV2": ("mobilenet_v2", "tf"),
    "InceptionV3": ("inception_v3", "tf"),
    "InceptionResNetV2": ("inception_resnet_v2", "tf"),
    "DenseNet121": ("densenet", "torch"),
    "EfficientNetB0": ("efficientnet", "raw"),
}


@functools.lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1,000 ILSVRC-2012 class names in the index order of Keras' ImageNet classifiers."""
    try:
        names = CLASSES_PATH.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelLoadError(f"{CLASSES_PATH}: the ImageNet class list cannot be read "
                             f"({exc.strerror or exc}); reinstall the app") from None
    names = [n.strip() for n in names if n.strip()]
    if len(names) != IMAGENET_CLASSES:
        raise ModelLoadError(f"{CLASSES_PATH}: {len(names)} class names, not ImageNet's "
                             f"{IMAGENET_CLASSES}; reinstall the app")
    return tuple(names)


@dataclass(frozen=True)
class TwinPlan:
    """What loading a twin's ImageNet weights will take, known without TensorFlow."""

    twin: Twin
    mode: str                 # keras.applications preprocessing mode (images.IMAGENET_MODES)
    module: str               # keras.applications.<module>
    file_name: str
    md5: str | None
    url: str

    @property
    def cached(self) -> Path:
        """Where Keras keeps (or would keep) the file: $KERAS_HOME/models or ~/.keras/models."""
        return cache_dir() / "models" / self.file_name

    @property
    def pipeline(self) -> str:
        return f"imagenet-{self.mode}"


def plan_twin(graph: Graph) -> TwinPlan:
    """The twin, weights file and preprocessing for predicting with ImageNet weights.

    Raises ``TwinError`` when the graph is no twin, does not check, or its classifier is
    not ImageNet's 1,000 classes (its head would be random: the answers would mean nothing)."""
    from playground.core.shapes import analyze

    twin = identify(graph)
    module, mode = FAMILIES[twin.name]
    analysis = analyze(graph)
    if not analysis.valid:
        first = analysis.errors[0]
        raise TwinError(f"the graph {graph.name!r} does not check ({first}); fix it "
                        "before loading ImageNet weights")
    inputs = [analysis.nodes[i].shape for i in analysis.inputs]
    if len(inputs) != 1 or inputs[0] is None or len(inputs[0]) != 3 or inputs[0][-1] != 3:
        raise TwinError(f"the graph {graph.name!r} needs one RGB image input (H x W x 3) "
                        "for ImageNet weights")
    outputs = analysis.outputs
    shape = analysis.nodes[outputs[0]].shape if outputs else None
    if shape is None or tuple(shape) != (IMAGENET_CLASSES,):
        dims = "x".join(str(d) for d in shape) if shape else "nothing"
        raise TwinError(
            f"the graph {graph.name!r} outputs {dims} at node {outputs[0] if outputs else '?'}, "
            f"not ImageNet's {IMAGENET_CLASSES} classes: with ImageNet weights its classifier "
            "would stay random. Predict with the twin's own 1,000-class head, or train it "
            "(--init-weights imagenet)")
    name = twin.file_name(True, int(inputs[0][0] or 224))
    return TwinPlan(twin, mode, module, name, twin.top_md5, twin.url(name))


def load_imagenet_twin(graph: Graph, source: str = "") -> LoadedModel:
    """The graph's model with Keras' ImageNet weights, the 1,000 class names and its family's
    preprocessing (``LoadedModel.pipeline`` = ``"imagenet-<mode>"``, read by ``images.adapt``).

    ``TwinError`` as ``plan_twin``; offline without the cached file,
    ``keras_build.imagenet.ImagenetError`` naming the file and the folder."""
    from playground.inspect.model import from_graph
    from playground.keras_build.imagenet import fetch, load_twin_weights

    plan = plan_twin(graph)
    names = list(imagenet_class_names())
    where = source or graph.name
    # The file first: offline, the message comes before seconds of building a large model.
    path = fetch(plan.file_name, plan.twin.folder, plan.md5)
    loaded = from_graph(graph, names, where, None, [])
    report = load_twin_weights(loaded.model, plan.twin, path)
    if not report.matched:
        raise ModelLoadError(f"{path}: no layer of {where} found its ImageNet weights (the "
                             f"graph's layers are not {plan.twin.name}'s)")
    loaded.notes = [n for n in loaded.notes if n != RANDOM_NOTE]
    if report.skipped:
        loaded.notes.append(f"{path}: {len(report.skipped)} layer(s) kept random weights: "
                            + "; ".join(str(s) for s in report.skipped[:5]))
    loaded.notes.insert(0, f"ImageNet weights of keras.applications {plan.twin.name} ({path}); "
                           f"{IMAGENET_CLASSES} ILSVRC-2012 classes; input preprocessed like "
                           f"keras.applications.{plan.module}.preprocess_input")
    loaded.weights = str(path)
    loaded.pipeline = plan.pipeline
    loaded.dataset = "ImageNet (ILSVRC-2012)"
    return loaded


def load_twin_file(path: str) -> LoadedModel:
    """``load_imagenet_twin`` for a graph ``.json`` file (the CLI's ``--weights imagenet``)."""
    from playground.core import fileformat

    return load_imagenet_twin(fileformat.load(path), path)
