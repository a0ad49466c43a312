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


def test_mask_scores_batch_by_batch_equal_the_whole_array_at_once():
    from playground.training.segmetrics import MaskScores

    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, size=(7, 6, 5))
    probs = rng.random(size=(7, 6, 5, 3))
    whole = evaluate_masks(probs, truth, ["a", "b", "c"], worst=3)
    scores = MaskScores(3)
    for start in (0, 2, 5):
        scores.add(probs[start:start + [2, 3, 2][(0, 2, 5).index(start)]],
                   truth[start:start + [2, 3, 2][(0, 2, 5).index(start)]])
    parts = scores.result(["a", "b", "c"], worst=3)
    assert parts["confusion"] == whole["confusion"] and parts["worst"] == whole["worst"]
    assert parts["loss"] == pytest.approx(whole["loss"])
    picked = np.take_along_axis(probs, truth[..., None], axis=-1)
    assert whole["loss"] == pytest.approx(float(np.mean(-np.log(picked))))


@pytest.mark.parametrize("k_out", [1, 3])
def test_epoch_metrics_per_class_iou_and_dice_agree_with_keras(k_out):
    """The per-epoch metrics (one confusion matrix, views for the figures) against Keras'
    own IoU per class and MeanIoU, over two batches, and against our evaluation's Dice."""
    keras = pytest.importorskip("keras")
    from playground.training.segkeras import epoch_metrics

    k = 2 if k_out == 1 else 3
    rng = np.random.default_rng(11)
    truth = rng.integers(0, k, size=(6, 9, 7))
    truth[..., :2] = 0                                   # class 0 commoner than the others
    probs = rng.random(size=(6, 9, 7, k_out)).astype("float32")
    metrics = {m.name: m for m in epoch_metrics(k_out, k)}
    assert sorted(metrics) == sorted(["mean_iou", "mean_dice"]
                                     + [f"{kind}_{c}" for kind in ("iou", "dice")
                                        for c in range(k)])
    y_true = truth[..., None].astype("float32") if k_out == 1 else truth
    for half in (slice(0, 3), slice(3, 6)):
        for m in metrics.values():
            m.update_state(y_true[half], probs[half])
    ours = evaluate_masks(probs, truth, [str(c) for c in range(k)])
    if k_out == 1:
        keras_mean = keras.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.5)
        keras_mean.update_state(truth, probs[..., 0])
    else:
        keras_mean = keras.metrics.MeanIoU(num_classes=k, sparse_y_pred=False)
        keras_mean.update_state(truth, probs)
    assert float(metrics["mean_iou"].result()) == pytest.approx(float(keras_mean.result()),
                                                                abs=1e-6)
    for c in range(k):
        if k_out == 1:
            one = keras.metrics.BinaryIoU(target_class_ids=[c], threshold=0.5)
            one.update_state(truth, probs[..., 0])
        else:
            one = keras.metrics.IoU(num_classes=k, target_class_ids=[c], sparse_y_pred=False)
            one.update_state(truth, probs)
        assert float(metrics[f"iou_{c}"].result()) == pytest.approx(float(one.result()),
                                                                    abs=1e-6)
        assert float(metrics[f"dice_{c}"].result()) == pytest.approx(ours["dice"][c], abs=1e-6)
    assert float(metrics["mean_dice"].result()) == pytest.approx(ours["mean_dice"], abs=1e-6)
    metrics["mean_iou"].reset_state()                   # the views read the reset matrix
    assert np.isnan(float(metrics["iou_0"].result()))


def test_epoch_line_names_the_classes_and_prefers_validation():
    from playground.training.segkeras import epoch_line, per_class_keys

    row = {"epoch": 3.0, "iou_0": 0.5, "iou_1": 0.25, "dice_0": 0.6, "dice_1": 0.4,
           "val_iou_0": 0.9, "val_iou_1": float("nan"), "val_dice_0": 0.95,
           "val_dice_1": float("nan"), "val_mean_dice": 0.95}
    assert epoch_line(row, ["background", "shape"]) == (
        "epoch 3 validation IoU/Dice per class: background 0.900/0.950, shape - "
        "(mean Dice 0.950)")
    train_only = {k: v for k, v in row.items() if not k.startswith("val_")}
    assert epoch_line(train_only, ["bg", "fg"]).startswith("epoch 3 training IoU/Dice per "
                                                           "class: bg 0.500/0.600, fg 0.250")
    assert epoch_line({"epoch": 1}, ["a", "b"]) is None
    assert per_class_keys(2) == ["iou_0", "iou_1", "dice_0", "dice_1"] and per_class_keys(99) == []
