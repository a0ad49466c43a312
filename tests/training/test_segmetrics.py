"""Segmentation metrics against hand counts and Keras' own MeanIoU; the generated shapes set."""

from __future__ import annotations

import numpy as np
import pytest

from playground.data.shapes import CLASS_NAMES, KIND_NAMES, generate_shapes
from playground.training.segmetrics import (
    dice_per_class,
    evaluate_masks,
    iou_per_class,
    mean_ignoring_nan,
    pixel_accuracy,
    pixel_confusion,
)


def test_hand_counted_confusion_iou_and_dice():
    truth = np.array([[0, 0, 1, 1], [0, 2, 2, 1]])
    pred = np.array([[0, 1, 1, 1], [0, 2, 0, 1]])
    cm = pixel_confusion(truth, pred, 4)
    assert cm.tolist() == [[2, 1, 0, 0], [0, 3, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    iou = iou_per_class(cm)
    # class 0: 2 / (3 + 3 - 2); class 1: 3 / (3 + 4 - 3); class 2: 1 / (2 + 1 - 1); 3: nowhere
    np.testing.assert_allclose(iou[:3], [2 / 4, 3 / 4, 1 / 2])
    assert np.isnan(iou[3])
    np.testing.assert_allclose(dice_per_class(cm)[:3], [4 / 6, 6 / 7, 2 / 3])
    assert mean_ignoring_nan(iou) == pytest.approx((0.5 + 0.75 + 0.5) / 3)
    assert pixel_accuracy(cm) == pytest.approx(6 / 8)


def test_mean_iou_agrees_with_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, size=(4, 9, 7))
    probs = rng.random(size=(4, 9, 7, 3)).astype("float32")
    ours = evaluate_masks(probs, truth, ["a", "b", "c"])
    metric = keras.metrics.MeanIoU(num_classes=3, sparse_y_true=True, sparse_y_pred=False)
    metric.update_state(truth, probs)
    assert ours["mean_iou"] == pytest.approx(float(metric.result()), abs=1e-6)


def test_binary_sigmoid_output_and_the_worst_images():
    truth = np.zeros((3, 4, 4), np.int64)
    truth[:, :2] = 1
    probs = np.zeros((3, 4, 4, 1), np.float32)
    probs[0, :2] = 0.9            # perfect
    probs[1, :1] = 0.9            # half the object
    probs[2] = 0.1                # nothing found
    result = evaluate_masks(probs, truth, ["background", "object"], worst=2)
    assert result["worst"] == [2, 1]
    assert result["worst_iou"][0] == pytest.approx(0.25)   # background 8/16, object 0
    assert 0 < result["mean_iou"] < 1 and result["task"] == "segmentation"


def test_generated_shapes_repeat_with_their_seed_and_masks_match_the_pictures():
    x, y = generate_shapes(40, size=32, seed=7, kinds=True)
    x2, y2 = generate_shapes(40, size=32, seed=7, kinds=True)
    assert x.shape == (40, 32, 32, 1) and y.shape == (40, 32, 32)
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert set(np.unique(y)) == set(range(len(KIND_NAMES)))
    binary = generate_shapes(40, size=32, seed=7)[1]
    np.testing.assert_array_equal(binary, (y > 0).astype(np.uint8))
    assert len(CLASS_NAMES) == 2
    assert not np.array_equal(x, generate_shapes(40, size=32, seed=8)[0])
    # A shape's pixels stand out from the noise around it (brighter or darker, by 45-90).
    for img, mask in zip(x[..., 0].astype(float), y, strict=True):
        background = img[mask == 0].mean()
        assert np.abs(img[mask > 0] - background).mean() > 30
    with pytest.raises(ValueError):
        generate_shapes(0)
