"""Evaluation math on a known confusion."""

from __future__ import annotations

import math

import numpy as np

from playground.training.evaluation import (
    confusion_matrix,
    evaluate_predictions,
    most_confident_wrong,
    per_class_accuracy,
    top_k_accuracy,
)

# 3 classes; true labels and predicted probabilities chosen by hand.
Y = np.array([0, 0, 0, 1, 1, 2, 2, 2])
P = np.array([
    [0.9, 0.05, 0.05],   # 0 -> 0
    [0.6, 0.3, 0.1],     # 0 -> 0
    [0.2, 0.7, 0.1],     # 0 -> 1 (wrong, conf 0.7)
    [0.1, 0.8, 0.1],     # 1 -> 1
    [0.05, 0.05, 0.9],   # 1 -> 2 (wrong, conf 0.9)
    [0.1, 0.1, 0.8],     # 2 -> 2
    [0.5, 0.1, 0.4],     # 2 -> 0 (wrong, conf 0.5)
    [0.2, 0.2, 0.6],     # 2 -> 2
])


def test_confusion_and_per_class():
    cm = confusion_matrix(Y, P.argmax(1), 3)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    np.testing.assert_allclose(per_class_accuracy(cm), [2 / 3, 1 / 2, 2 / 3])
    empty = per_class_accuracy(np.array([[1, 0], [0, 0]]))
    assert empty[0] == 1.0 and math.isnan(empty[1])


def test_top_k_and_most_confident_wrong():
    assert top_k_accuracy(P, Y, 1) == 5 / 8
    # Second choices: sample 2 (0.2 for class 0 -> no: [0.7 c1, 0.2 c0] yes), 4 (c0/c1 tie 0.05,
    # stable order picks class 0 -> no), 6 (0.4 c2 -> yes).
    assert top_k_accuracy(P, Y, 2) == 7 / 8
    assert top_k_accuracy(P, Y, 3) == 1.0
    assert most_confident_wrong(P, Y) == [4, 2, 6]
    assert most_confident_wrong(P, Y, 2) == [4, 2]


def test_evaluate_predictions_bundle():
    ev = evaluate_predictions(P, Y, ["a", "b", "c"], "test")
    assert ev["accuracy"] == 5 / 8 and ev["samples"] == 8 and ev["split"] == "test"
    expected_loss = -np.mean(np.log([0.9, 0.6, 0.2, 0.8, 0.05, 0.8, 0.4, 0.6]))
    assert abs(ev["loss"] - expected_loss) < 1e-9
    assert ev["wrong"] == [4, 2, 6] and "top5" not in ev
    assert ev["wrong_true"] == [1, 0, 2] and ev["wrong_pred"] == [2, 1, 0]
    assert ev["wrong_conf"] == [0.9, 0.7, 0.5]
    many = evaluate_predictions(np.eye(12)[[0, 1, 2]], np.array([0, 1, 3]),
                                [str(i) for i in range(12)])
    assert many["top5"] == 1.0 and many["accuracy"] == 2 / 3
