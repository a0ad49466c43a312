"""10-crop TTA, ensembles and confidently wrong samples, checked against direct computations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playground.cli import main
from playground.core import fileformat

pytest.importorskip("tensorflow")


def tiny_digits_graph():
    return fileformat.from_document({
        "format": "keras-playground-graph", "version": 1, "name": "tiny",
        "nodes": [
            {"id": "input", "type": "Input", "params": {"shape": [8, 8, 1]}},
            {"id": "conv", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 3,
                                                        "padding": "same",
                                                        "activation": "relu"}},
            {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}},
            {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}}],
        "edges": [{"from": "input", "to": "conv"}, {"from": "conv", "to": "gap"},
                  {"from": "gap", "to": "out"}]})


def make_digits_run(root, name, seed):
    from playground.core.fileformat import to_document
    from playground.keras_build.compile import build_model

    graph = tiny_digits_graph()
    model = build_model(graph)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1.0, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    run = root / name
    run.mkdir()
    model.save_weights(str(run / "last.weights.h5"))
    (run / "config.json").write_text(json.dumps({
        "config": {"dataset": "digits", "val_split": 0.2, "test_split": 0.0, "seed": 0},
        "dataset": "digits: 1797 images 8x8x1, 10 classes",
        "classes": [str(i) for i in range(10)], "graph": to_document(graph)}))
    return str(run), model


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    return [make_digits_run(root, f"run{i}", seed=i) for i in (1, 2)]


def test_compare_matches_direct_computation(two_runs):
    from playground.data.adapt import adapt_array, split_indices
    from playground.data.digits import load_digits
    from playground.inspect.evaluate import compare

    (run1, m1), (run2, m2) = two_runs
    result = compare([run1, run2], tta=True, limit=60)
    data = load_digits()
    split = split_indices(len(data.x), 0.2, 0.0, seed=0, labels=data.y)
    rows = split.val[:60]                                  # the run's own validation images
    np.testing.assert_array_equal(result.data.indices, rows)
    raw, y = data.x[rows], data.y[rows]
    x = adapt_array(raw, (8, 8, 1))
    p1, p2 = m1.predict(x, verbose=0), m2.predict(x, verbose=0)
    by_name = {r.method: r for r in result.rows}
    np.testing.assert_allclose(by_name["single model"].probs, p1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(by_name["ensemble of 2 runs"].probs, (p1 + p2) / 2, rtol=1e-4,
                               atol=1e-6)
    # 10 crops written out by hand: 8x8 input, adapted to 9x9 (8 * 256/224 rounded)
    big = adapt_array(raw, (9, 9, 1))
    crops = [big[:, 0:8, 0:8], big[:, 0:8, 1:9], big[:, 1:9, 0:8], big[:, 1:9, 1:9],
             big[:, 0:8, 0:8]]
    tta = np.mean([m1.predict(c, verbose=0) for c in crops]
                  + [m1.predict(c[:, :, ::-1], verbose=0) for c in crops], axis=0)
    np.testing.assert_allclose(by_name["10-crop TTA"].probs, tta, rtol=1e-4, atol=1e-6)
    five = np.mean([m1.predict(c, verbose=0) for c in crops], axis=0)
    np.testing.assert_allclose(by_name["5-crop TTA (no mirrors)"].probs, five, rtol=1e-4,
                               atol=1e-6)
    for row in result.rows:
        assert row.accuracy == pytest.approx(np.mean(np.argmax(row.probs, 1) == y))
        assert row.seconds > 0
    assert [r.passes for r in result.rows] == [1, 10, 5, 2, 20]
    text = result.text()
    assert "60 validation images" in text and "10-crop TTA" in text and "x" in text


def test_confidently_wrong_order():
    from playground.inspect.evaluate import confidently_wrong

    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.99, 0.01], [0.7, 0.3]])
    y = np.array([0, 0, 0, 1, 0])
    assert confidently_wrong(probs, y, 5) == [3, 1, 2]
    assert confidently_wrong(probs, y, 1) == [3]


def test_evaluate_cli(two_runs, tmp_path, capsys):
    (run1, _), (run2, _) = two_runs
    out = tmp_path / "wrong"
    assert main(["evaluate", run1, run2, "--limit", "40", "--wrong", "3", "--out", str(out),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 40 and report["split"] == "validation"
    methods = [r["method"] for r in report["rows"]]
    assert methods[0] == "single model" and "ensemble of 2 runs" in methods
    assert "gain_points" in report["rows"][1] and "time_factor" in report["rows"][1]
    wrong = json.loads((out / "wrong.json").read_text())
    assert len(wrong) == 3 and all(w["true"] != w["predicted"] for w in wrong)
    assert [w["p"] for w in wrong] == sorted((w["p"] for w in wrong), reverse=True)
    assert wrong[0]["gradcam_node"] == "conv"
    assert (out / "wrong.png").stat().st_size > 100
    assert main(["evaluate", str(tmp_path / "nope")]) == 2
    assert main(["evaluate", run1, "--wrong", "2"]) == 2
    assert "needs --out" in capsys.readouterr().err


def test_comparison_table_columns_stay_aligned_with_a_double_digit_loss():
    """A TTA that loses 10 points or more ('-10.03 pt') used to push its row's time and cost
    columns one character right of the header's."""
    from playground.inspect.evaluate import Comparison, HeldOut, Row

    data = HeldOut(np.zeros((4, 8, 8, 1)), np.zeros(4, int), ["a", "b"], "validation",
                   np.arange(4))
    rows = [Row("single model", 0.98, 0.034, 1), Row("10-crop TTA", 0.8797, 0.377, 10),
            Row("ensemble of 2 runs", 0.9805, 0.083, 2)]
    lines = Comparison(rows, data, ["r1", "r2"]).text().splitlines()[1:]
    ends = {len(line) for line in lines}
    assert len(ends) == 1, lines
    time_end = lines[0].index("time") + len("time")
    assert all(line[time_end - 1] == "s" for line in lines[1:]), lines
    assert "-10.03 pt" in lines[2]


def _mask_folder(root, count: int = 20, size: int = 16):
    """``images/`` + ``masks/`` of ``count`` pairs: pair i's mask is a square of side i % 9 + 3
    of class 1 or 2 at a place of its own, so every mask tells which pair it is."""
    from tests.predict.helpers import write_png

    rng = np.random.default_rng(7)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    masks = []
    for i in range(count):
        mask = np.zeros((size, size), np.uint8)
        side, top, left = i % 9 + 3, i % 4, (i * 3) % 5
        mask[top:top + side, left:left + side] = 1 + i % 2
        image = (rng.random((size, size, 1)) * 80).astype(np.uint8) + 100 * (mask > 0)[..., None]
        write_png(root / "images" / f"{i:03d}.png", image)
        write_png(root / "masks" / f"{i:03d}.png", mask)
        masks.append(mask)
    return np.stack(masks)


@pytest.mark.parametrize("split", [(0.25, 0.25), (0.3, 0.0)], ids=["test", "validation"])
def test_held_out_masks_are_the_images_the_segmentation_run_held_out(tmp_path, split):
    """A mask is not a class: a segmentation run's held-out images are the runner's own
    unstratified split (SegFeeds), with their masks; stratifying by ``y`` grouped pixels."""
    from types import SimpleNamespace

    from playground.data.dataset import load_dataset
    from playground.inspect.evaluate import held_out
    from playground.training.segmentation import SegFeeds

    masks = _mask_folder(tmp_path / "set")
    val, test = split
    settings = {"dataset": str(tmp_path / "set"), "val_split": val, "test_split": test,
                "seed": 3}
    loaded = SimpleNamespace(input_shape=(16, 16, 1))
    held = held_out("runs/seg", loaded, {"config": settings})
    config = SimpleNamespace(val_split=val, test_split=test, seed=3, augment=[],
                             strategy="default")
    feeds = SegFeeds(load_dataset(settings["dataset"], (16, 16, 1)), (16, 16, 1), (16, 16, 3),
                     config, lambda _line: None)
    expected = feeds.split.test if test else feeds.split.val
    assert held.source == ("test" if test else "validation")
    np.testing.assert_array_equal(held.indices, expected)
    assert len(expected) == round(20 * (test or val))
    np.testing.assert_array_equal(np.asarray(held.y), masks[expected])      # masks, by pair
    assert np.asarray(held.x).shape == (len(expected), 16, 16, 1)
    assert held.class_names[0] and len(held.class_names) == 3


def test_held_out_of_the_generated_shapes_follows_the_runners_split():
    """The built-in mask set (in memory) too: the validation rows of a run on ``shapes``."""
    from types import SimpleNamespace

    from playground.data.adapt import split_indices
    from playground.data.dataset import load_dataset
    from playground.inspect.evaluate import held_out

    settings = {"dataset": "shapes", "val_split": 0.2, "seed": 5}
    held = held_out("runs/shapes", SimpleNamespace(input_shape=(16, 16, 1)),
                    {"config": settings})
    data = load_dataset("shapes", (16, 16, 1))
    rows = split_indices(len(data.y), 0.2, 0.0, seed=5).val
    assert held.source == "validation" and len(held.indices) == len(rows) == 200
    np.testing.assert_array_equal(held.indices, rows)
    np.testing.assert_array_equal(held.y, data.y[rows])
    np.testing.assert_array_equal(held.x, data.x[rows])


def test_held_out_images_of_a_run_that_skipped_unreadable_files(tmp_path):
    """A run trained with ``bad_images: skip`` is evaluated on its held-out images; the
    unreadable file does not stop the evaluation (it did: load_dataset stopped at it)."""
    from types import SimpleNamespace

    from playground.data.dataset import DatasetError
    from playground.inspect.evaluate import held_out
    from tests.data.test_datasets import make_folder

    root = make_folder(tmp_path / "photos", per_class=10)
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    loaded = SimpleNamespace(input_shape=(8, 8, 3))
    run = {"config": {"dataset": str(root), "val_split": 0.25, "seed": 0,
                      "bad_images": "skip"}}
    held = held_out(str(tmp_path / "run"), loaded, run)
    assert held.source == "validation" and held.class_names == ["cat", "dog"]
    assert len(held.indices) == 4          # 2 of each class's 10 readable files (stratified)
    assert all(np.asarray(held.x[i]).shape[-1] == 3 for i in range(len(held.indices)))
    run["config"]["bad_images"] = "stop"      # a run that stopped at it: said, as training did
    try:
        held_out(str(tmp_path / "run"), loaded, run)
    except DatasetError as exc:
        assert "broken.png" in str(exc)
    else:
        raise AssertionError("the unreadable file went unnoticed")
