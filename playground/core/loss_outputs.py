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


# A classifier's output must be probabilities: the loss is sparse categorical cross-entropy on
# probabilities (Keras clips them to [1e-7, 1 - 1e-7] and takes the log), so a head whose
# scores are not squashed by a softmax trains silently badly (the digits: ~40 % accuracy after
# 5 epochs where the same graph with a softmax reaches ~90 %).
SOFTMAX_FIX = "softmax_head"


def head_without_softmax(graph: Any, output: str, values: dict[str, dict[str, Any]],
                         specs: dict[str, Any]) -> tuple[str, str] | None:
    """(head node, its activation) when the vector ``output`` gets no softmax on its way from
    the head layer (a Dense or 1x1 Conv2D: ``head_width_param``), through pass-through blocks
    (Dropout, Reshape, activations); None when a softmax is found or the output's way is not
    a plain head (a merge of several heads, a pooling: nothing to say)."""
    current = output
    for _ in range(len(specs) + 1):   # never more steps than nodes, whatever the wiring
        spec = specs.get(current)
        if spec is None:
            return None
        node_values = values.get(current) or {}
        if spec.type == "Softmax" or node_values.get("activation") == "softmax":
            return None
        if spec.head_width_param is not None:
            return current, str(node_values.get("activation") or "linear")
        sources = graph.inputs_of(current)
        if not spec.pass_through or len(sources) != 1:
            return None
        current = sources[0]
    return None


HEAD_FIX = "classifier_head"
FEATURE_CATEGORIES = ("pooling", "reshape")   # a backbone's end: Global*Pooling2D, Flatten


def headless_output(graph: Any, output: str, values: dict[str, dict[str, Any]],
                    specs: dict[str, Any]) -> str | None:
    """The node whose features the vector ``output`` is when no classifier head follows them
    (a keras.applications model imported with ``include_top=False, pooling="avg"``, a
    backbone whose Dense was deleted), else None."""
    current = output
    for _ in range(len(specs) + 1):   # never more steps than nodes, whatever the wiring
        spec = specs.get(current)
        if spec is None or spec.head_width_param is not None or spec.type == "Softmax" \
                or (values.get(current) or {}).get("activation") == "softmax":
            return None   # a head, or probabilities made on purpose (MobileNetV3's Flatten)
        sources = graph.inputs_of(current)
        if spec.pass_through and len(sources) == 1:
            current = sources[0]
            continue
        return current if spec.category in FEATURE_CATEGORIES else None
    return None


def headless_message(output: str, features: str, width: int) -> str:
    where = "this model output" if features == output else f"the model output {output}"
    return (f"{where} is a vector of {width:,} features with no classifier head: training "
            f"would read them as the probabilities of {width:,} classes; add a Dense layer "
            "after it with one unit per class and activation softmax")


def softmax_message(output: str, head: str, activation: str) -> str:
    where = "this model output" if head == output else f"the model output {output}"
    return (f"{where} gets no softmax (activation {activation!r}): its values are scores, not "
            "class probabilities, and training's loss (sparse categorical cross-entropy) "
            "expects probabilities, so the model would learn badly; set this layer's "
            "activation to softmax")
