"""Per-epoch segmentation metrics inside Keras' train and test steps: mean IoU, mean Dice and
IoU and Dice per class, from one pixel confusion matrix.

Keras reports one number per metric, so the figures are several metric objects: one
:class:`PixelConfusion` (named ``mean_iou``) holds the confusion matrix and updates it per batch;
the others (``mean_dice``, ``iou_<c>``, ``dice_<c>``) are views without state of their own that
read that matrix when Keras asks for the epoch's results. One matrix per step, whatever the
number of figures, and every figure agrees with :mod:`playground.training.segmetrics` (the
evaluation) by construction. A class absent from both truth and prediction is left out of the
means, as Keras' ``MeanIoU`` does, and its own IoU and Dice read NaN (no figure, not zero).
The history keys use class indices (``iou_0``); the names are in the run's ``classes``.
"""

from __future__ import annotations

import math
from typing import Any

# More classes than this: only the means per epoch (a column per class and figure would swamp
# the history and the log); the evaluation still lists every class.
PER_CLASS_LIMIT = 32


def per_class_keys(num_classes: int) -> list[str]:
    """The per-class history keys of a run with ``num_classes`` classes (none above the limit)."""
    if num_classes > PER_CLASS_LIMIT:
        return []
    return [f"{kind}_{c}" for kind in ("iou", "dice") for c in range(num_classes)]


def epoch_metrics(k_out: int, num_classes: int) -> list[Any]:
    """Keras metrics for a mask output of ``k_out`` channels (1: sigmoid) and ``num_classes``
    classes: ``mean_iou``, ``mean_dice`` and, up to :data:`PER_CLASS_LIMIT` classes, ``iou_<c>``
    and ``dice_<c>``."""
    import keras
    from keras import ops

    class PixelConfusion(keras.metrics.Metric):
        """The pixel confusion matrix (rows: true class); its result is the mean IoU."""

        def __init__(self, name: str = "mean_iou"):
            super().__init__(name=name)
            self.k = num_classes
            self.matrix = self.add_variable(shape=(num_classes, num_classes),
                                            initializer="zeros", dtype="float64",
                                            name="confusion")

        def update_state(self, y_true, y_pred, sample_weight=None):
            if k_out == 1:
                pred = ops.cast(ops.greater_equal(y_pred[..., 0], 0.5), "int32")
            else:
                pred = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
            true = ops.cast(ops.reshape(y_true, ops.shape(pred)), "int32")
            # One-hot products rather than a bincount: XLA and every backend compile them.
            t = ops.one_hot(ops.reshape(true, (-1,)), self.k, dtype="float32")
            p = ops.one_hot(ops.reshape(pred, (-1,)), self.k, dtype="float32")
            self.matrix.assign_add(ops.cast(ops.matmul(ops.transpose(t), p), "float64"))

        def scores(self):
            cm = ops.convert_to_tensor(self.matrix)
            inter = ops.diagonal(cm)
            true, pred = ops.sum(cm, axis=1), ops.sum(cm, axis=0)
            union = true + pred - inter
            present = ops.greater(union, 0)
            iou = ops.where(present, inter / ops.maximum(union, 1.0), 0.0)
            dice = ops.where(present, 2 * inter / ops.maximum(true + pred, 1.0), 0.0)
            n = ops.maximum(ops.sum(ops.cast(present, "float64")), 1.0)
            absent = ops.cast(ops.where(present, 0.0, float("nan")), "float64")  # no IoU, not 0
            return iou + absent, dice + absent, ops.sum(iou) / n, ops.sum(dice) / n

        def result(self):
            return ops.cast(self.scores()[2], "float32")

    class View(keras.metrics.Metric):
        """One figure read from the confusion matrix (no state: updates and resets are the
        matrix's)."""

        def __init__(self, name: str, pick):
            super().__init__(name=name)
            self._pick = pick   # a closure, so Keras does not track the owner a second time

        def update_state(self, y_true, y_pred, sample_weight=None):
            return None

        def reset_state(self):
            return None

        def result(self):
            return ops.cast(self._pick(), "float32")

    owner = PixelConfusion()
    metrics: list[Any] = [owner, View("mean_dice", lambda: owner.scores()[3])]
    if num_classes <= PER_CLASS_LIMIT:
        for kind, at in (("iou", 0), ("dice", 1)):
            for c in range(num_classes):
                metrics.append(View(f"{kind}_{c}",
                                    lambda at=at, c=c: owner.scores()[at][c]))
    return metrics


def epoch_line(row: dict[str, Any], class_names: list[str]) -> str | None:
    """The log's per-class line of one epoch's history row: validation figures when there are,
    else training ones; None when the row has none (more classes than the limit)."""
    prefix = "val_" if row.get("val_iou_0") is not None else ""
    if row.get(f"{prefix}iou_0") is None:
        return None
    parts = []
    for c, name in enumerate(class_names):
        iou, dice = row.get(f"{prefix}iou_{c}"), row.get(f"{prefix}dice_{c}")
        if iou is None or dice is None:
            return None
        parts.append(f"{name} -" if math.isnan(iou) else f"{name} {iou:.3f}/{dice:.3f}")
    split = "validation" if prefix else "training"
    mean = row.get(f"{prefix}mean_dice")
    head = f"epoch {int(row['epoch'])} {split} IoU/Dice per class: "
    tail = f" (mean Dice {mean:.3f})" if mean is not None else ""
    return head + ", ".join(parts) + tail
