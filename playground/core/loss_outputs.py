"""Which model outputs can feed the classification loss the training bench uses.

The bench trains classifiers: one integer label per image, ``sparse_categorical_crossentropy`` on
every model output. That needs each output to be a vector of class scores (shape ``(classes,)``).
A node left dangling (a conv whose outgoing edge was deleted) silently becomes an extra model
output of shape H x W x C; Keras then fails at Train with an error about shapes that names no
node. The checker warns about such outputs as soon as the graph is a classifier (some output is
a vector), and the bench refuses any output that is not a vector, naming the node, before it
builds anything. Pure Python: shapes come from the checker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playground.blocks.geometry import fmt_shape


def _is_vector(shape: Sequence[Any] | None) -> bool:
    return shape is not None and len(shape) == 1


def non_vector_outputs(shapes: dict[str, Sequence[Any] | None]) -> list[str]:
    """Output ids (``{id: output shape}``) that cannot feed the loss of a classifier.

    Only outputs of a graph that *is* a classifier (at least one vector output): a graph whose
    only output is an image (U-Net's mask) is a dense-prediction model, not a broken classifier.
    Outputs whose shape is unknown (the checker already reports why) are left out.
    """
    if not any(_is_vector(s) for s in shapes.values()):
        return []
    return [nid for nid, s in shapes.items() if s is not None and not _is_vector(s)]


def checker_message(shape: Sequence[Any]) -> str:
    return (f"has no outgoing edge, so it becomes an extra model output of shape "
            f"{fmt_shape(tuple(shape))}, not a vector of class scores, so it cannot feed the "
            "classification loss and Train would fail; connect it onwards (e.g. "
            "GlobalAveragePooling2D -> Dense) or delete it")


def training_output_problems(analysis: Any, task: str = "classification",
                             dataset: str = "the dataset") -> list[str]:
    """One sentence per model output the training bench cannot train (empty when all can).

    ``task``: the dataset's ("classification": one label per image; "segmentation": a mask of
    class indices per image, trained per pixel on one H x W x K output).
    """
    if task == "segmentation":
        return segmentation_output_problems(analysis, dataset)
    problems = []
    for nid in analysis.outputs:
        shape = analysis.nodes[nid].shape
        if shape is None or _is_vector(shape):
            continue
        extra = len(analysis.outputs) > 1
        problems.append(
            f"node {nid}: " + (checker_message(shape) if extra else
                               f"the model output has shape {fmt_shape(tuple(shape))}, not a "
                               "vector of class scores; the training bench trains classifiers "
                               "(one label per image), so end the graph in a Dense layer (e.g. "
                               "after GlobalAveragePooling2D or Flatten)"
                               + ("" if len(shape) != 3 else
                                  f"; {dataset} has one label per image, while this graph "
                                  "predicts a mask per pixel (a segmenter): train it on a "
                                  "segmentation dataset instead, e.g. the built-in 'shapes'")))
    return problems


def segmentation_output_problems(analysis: Any, dataset: str = "the dataset") -> list[str]:
    """A segmentation set trains one output of shape H x W x K (per-pixel class scores)."""
    outputs = list(analysis.outputs)
    problems = []
    for nid in outputs:
        shape = analysis.nodes[nid].shape
        if shape is None:
            continue
        if len(shape) != 3:
            problems.append(
                f"node {nid}: the model output has shape {fmt_shape(tuple(shape))}, one score "
                f"vector per image (a classifier), but {dataset} has a mask per image "
                "(segmentation, one class per pixel): end the graph in an image-shaped output, "
                "e.g. a 1x1 Conv2D with one filter per class after the decoder (as U-Net does)")
        elif len(outputs) > 1:
            problems.append(f"node {nid}: segmentation trains one output, and this graph has "
                            f"{len(outputs)} ({', '.join(outputs)}); connect or delete the "
                            "extra ones")
    return problems
