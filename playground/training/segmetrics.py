"""Segmentation metrics as pure numpy: pixel accuracy, IoU per class and mean, Dice.

Everything starts from a pixel confusion matrix (rows: true class, columns: predicted class), so
the per-epoch figures, the evaluation table and the "worst images by IoU" view agree by
construction. A class absent from both the truth and the prediction has no IoU (NaN) and is left
out of the mean, as Keras' MeanIoU and the segmentation papers do.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def pixel_confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    t = np.asarray(y_true, np.int64).ravel()
    p = np.asarray(y_pred, np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"masks differ in size: {np.shape(y_true)} and {np.shape(y_pred)}")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """|true and predicted| / |true or predicted| per class; NaN where the class is nowhere."""
    cm = np.asarray(cm, np.float64)
    inter = np.diag(cm)
    union = cm.sum(axis=0) + cm.sum(axis=1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), np.nan)


def dice_per_class(cm: np.ndarray) -> np.ndarray:
    """2 |true and predicted| / (|true| + |predicted|) per class; NaN where the class is nowhere."""
    cm = np.asarray(cm, np.float64)
    inter = np.diag(cm)
    total = cm.sum(axis=0) + cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2 * inter / np.where(total > 0, total, 1), np.nan)


def mean_ignoring_nan(values: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    present = values[~np.isnan(values)]
    return float(present.mean()) if present.size else float("nan")


def pixel_accuracy(cm: np.ndarray) -> float:
    total = np.asarray(cm).sum()
    return float(np.trace(cm) / total) if total else float("nan")


def per_image_iou(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Mean IoU of each image on its own (for "the worst images")."""
    return np.array([mean_ignoring_nan(iou_per_class(pixel_confusion(t, p, num_classes)))
                     for t, p in zip(y_true, y_pred, strict=True)])


def predicted_classes(probs: np.ndarray) -> np.ndarray:
    """Class per pixel: a sigmoid channel's probability >= 0.5, else the arg max."""
    probs = np.asarray(probs)
    return (probs[..., 0] >= 0.5).astype(np.int64) if probs.shape[-1] == 1 else probs.argmax(-1)


def pixel_loss_sum(probs: np.ndarray, masks: np.ndarray) -> float:
    """Summed per-pixel cross-entropy (binary for one sigmoid channel), clipped like Keras."""
    eps = 1e-7
    probs = np.asarray(probs, np.float64)
    if probs.shape[-1] == 1:
        p = np.clip(probs[..., 0], eps, 1 - eps)
        t = np.asarray(masks, np.float64)
        return float(np.sum(-(t * np.log(p) + (1 - t) * np.log(1 - p))))
    picked = np.take_along_axis(probs, np.asarray(masks, np.int64)[..., None], axis=-1)
    return float(np.sum(-np.log(np.clip(picked, eps, 1.0))))


class MaskScores:
    """Evaluation figures gathered batch by batch, so a big test split never has to sit in
    memory as one N x H x W x K probability array: the pixel confusion matrix, each image's own
    IoU (for "the worst images") and the summed cross-entropy."""

    def __init__(self, num_classes: int):
        self.k = num_classes
        self.cm = np.zeros((num_classes, num_classes), np.int64)
        self.image_iou: list[float] = []
        self.loss_sum = 0.0
        self.pixels = 0

    def add(self, probs: np.ndarray, masks: np.ndarray) -> None:
        """One batch: ``probs`` N x H x W x K (K = 1: sigmoid), ``masks`` N x H x W."""
        pred = predicted_classes(probs)
        masks = np.asarray(masks, np.int64)
        self.cm += pixel_confusion(masks, pred, self.k)
        self.image_iou += per_image_iou(masks, pred, self.k).tolist()
        self.loss_sum += pixel_loss_sum(probs, masks)
        self.pixels += int(masks.size)

    def result(self, class_names: list[str], split: str = "validation",
               worst: int = 8) -> dict[str, Any]:
        """Everything the segmentation evaluation shows, as plain data (JSON-friendly)."""
        ious = iou_per_class(self.cm)
        dice = dice_per_class(self.cm)
        images = np.asarray(self.image_iou, np.float64)
        order = np.argsort(np.nan_to_num(images, nan=-1.0), kind="stable")[:worst]
        return {
            "task": "segmentation",
            "split": split,
            "samples": int(len(images)),
            "pixel_accuracy": pixel_accuracy(self.cm),
            "mean_iou": mean_ignoring_nan(ious),
            "iou": [None if np.isnan(v) else float(v) for v in ious],
            "dice": [None if np.isnan(v) else float(v) for v in dice],
            "mean_dice": mean_ignoring_nan(dice),
            "class_names": list(class_names),
            "confusion": self.cm.tolist(),
            "worst": [int(i) for i in order],
            "worst_iou": [float(images[i]) for i in order],
            "loss": self.loss_sum / self.pixels if self.pixels else float("nan"),
        }


def evaluate_masks(probs: np.ndarray, y_true: np.ndarray, class_names: list[str],
                   split: str = "validation", worst: int = 8) -> dict[str, Any]:
    """Everything the segmentation evaluation shows, as plain data (JSON-friendly).

    ``probs``: N x H x W x K class probabilities (K = 1: a sigmoid's probability of class 1);
    ``y_true``: N x H x W class indices at the same size. (:class:`MaskScores` batch by batch.)
    """
    scores = MaskScores(len(class_names))
    if np.shape(probs)[:-1] != np.shape(y_true):
        raise ValueError(f"masks differ in size: {np.shape(y_true)} and {np.shape(probs)[:-1]}")
    scores.add(probs, y_true)
    return scores.result(class_names, split, worst)
