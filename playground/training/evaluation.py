"""Evaluation math as pure numpy functions (tested on a known confusion, drawn by the UI).

Rows of a confusion matrix are true classes, columns predicted classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class (diagonal / row sum); NaN for a class with no samples."""
    totals = cm.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.where(totals > 0, totals, 1), np.nan)


def accuracy(cm: np.ndarray) -> float:
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")


def top_k_accuracy(probs: np.ndarray, y_true: np.ndarray, k: int) -> float:
    """Share of samples whose true class is among the k most probable (ties: by class index)."""
    probs = np.asarray(probs)
    k = min(k, probs.shape[1])
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return float(np.mean((top == np.asarray(y_true)[:, None]).any(axis=1))) if len(probs) else \
        float("nan")


def cross_entropy(probs: np.ndarray, y_true: np.ndarray) -> float:
    p = np.clip(np.asarray(probs, np.float64)[np.arange(len(y_true)), y_true], 1e-7, 1.0)
    return float(-np.mean(np.log(p)))


def most_confident_wrong(probs: np.ndarray, y_true: np.ndarray, n: int = 16) -> list[int]:
    """Indices of the misclassified samples with the highest predicted probability, worst first."""
    probs = np.asarray(probs)
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != np.asarray(y_true))
    confidence = probs[wrong, pred[wrong]]
    order = np.argsort(-confidence, kind="stable")
    return [int(i) for i in wrong[order][:n]]


def evaluate_predictions(probs: np.ndarray, y_true: np.ndarray, class_names: list[str],
                         split: str = "validation", wrong: int = 16) -> dict[str, Any]:
    """Everything the evaluation view shows, as plain data (JSON-friendly)."""
    num_classes = len(class_names)
    pred = np.asarray(probs).argmax(axis=1)
    cm = confusion_matrix(y_true, pred, num_classes)
    result: dict[str, Any] = {
        "split": split,
        "samples": int(len(y_true)),
        "accuracy": accuracy(cm),
        "loss": cross_entropy(probs, y_true),
        "confusion": cm.tolist(),
        "per_class": [None if np.isnan(v) else float(v) for v in per_class_accuracy(cm)],
        "class_names": list(class_names),
        "wrong": most_confident_wrong(probs, y_true, wrong),
    }
    result["wrong_true"] = [int(np.asarray(y_true)[i]) for i in result["wrong"]]
    result["wrong_pred"] = [int(pred[i]) for i in result["wrong"]]
    result["wrong_conf"] = [float(np.asarray(probs)[i, pred[i]]) for i in result["wrong"]]
    if num_classes > 10:
        result["top5"] = top_k_accuracy(probs, y_true, 5)
    return result
