"""Per-pixel training: a small U-Net-like graph learns the generated shapes; task checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from playground.core.graph import Graph
from playground.core.loss_outputs import training_output_problems
from playground.core.shapes import analyze
from playground.data.dataset import load_dataset
from playground.data.segdata import SegDataset, is_segmentation
from playground.presetgen.builder import GraphBuilder
from playground.presetgen.unet import small_unet
from playground.training.config import RunConfig
from playground.training.segmentation import resize_masks


def classifier() -> Graph:
    b = GraphBuilder("clf", "a classifier")
    b.add("head", "Dense", b.add("flat", "Flatten", b.add("input", "Input", shape=[32, 32, 1])),
          units=2, activation="softmax")
    return b.finish()


def test_shapes_is_a_builtin_segmentation_set_at_the_model_size():
    data = load_dataset("shapes", (32, 32, 1))
    assert is_segmentation(data) and isinstance(data, SegDataset)
    assert data.class_names == ["background", "shape"]
    assert data.x.shape[1:] == (32, 32, 1) and data.y.shape[1:] == (32, 32)
    assert set(np.unique(data.y)) == {0, 1}


def test_nearest_resize_keeps_class_indices():
    m = np.zeros((1, 4, 4), np.uint8)
    m[0, :2, :2] = 3
    small = resize_masks(m, (2, 2))
    assert small.tolist() == [[[3, 0], [0, 0]]]


def test_task_mismatch_is_named_before_training():
    seg = analyze(small_unet())
    assert training_output_problems(seg, "segmentation") == []
    problems = training_output_problems(seg, "classification", "digits")
    assert len(problems) == 1 and "node mask" in problems[0] and "segmentation" in problems[0]
    clf = classifier()
    problems = training_output_problems(analyze(clf), "segmentation", "shapes")
    assert len(problems) == 1 and "node head" in problems[0] and "mask" in problems[0]


def _train(graph: Graph, epochs: int, lr: float, **extra):
    from playground.training.runner import run_training

    config = RunConfig.from_dict({"dataset": "shapes", "epochs": epochs, "batch_size": 16,
                                  "optimizer": "adam", "lr": lr, "schedule": "cosine",
                                  "val_split": 0.15, "test_split": 0.15, "seed": 0, **extra})
    data = load_dataset("shapes", (32, 32, 1))
    data.x, data.y = data.x[:800], data.y[:800]
    events: list[dict] = []
    result = run_training(graph, config, dataset=data, sink=events.append, keep_runs=False)
    return result, [e["text"] for e in events if e["kind"] == "log"]


def test_small_unet_learns_shapes_to_mean_iou_above_0_8():
    graph = small_unet()
    result, logs = _train(graph, epochs=15, lr=5e-3)
    assert result.status == "finished", result.message
    ev = result.evaluation
    assert ev["task"] == "segmentation" and ev["split"] == "test"
    assert ev["mean_iou"] > 0.8, ev["mean_iou"]
    assert ev["accuracy"] == ev["pixel_accuracy"] > 0.9
    row = result.history[-1]
    assert "val_mean_iou" in row and row["val_mean_iou"] > 0.8
    assert any("pixel accuracy" in line and "mean IoU" in line for line in logs)
    assert len(ev["worst_pictures"]) == 6 and ev["worst_pictures"][0].shape == (32, 100, 3)
    assert sum(int(np.prod(w.shape)) for w in result.model.weights) < 10_000


def test_softmax_head_is_retargeted_and_masks_resized_to_a_smaller_output():
    b = GraphBuilder("half", "output at half the input's size")
    x = b.add("c1", "Conv2D", b.add("input", "Input", shape=[32, 32, 1]), filters=8,
              kernel_size=3, padding="same", activation="relu")
    b.add("mask", "Conv2D", b.add("pool", "MaxPooling2D", x, pool_size=2), filters=5,
          kernel_size=1, activation="softmax")
    g = b.finish()
    result, logs = _train(g, epochs=1, lr=4e-3)
    assert result.status == "finished", result.message
    assert any("mask head mask (5 -> 2" in line for line in logs), logs
    assert any("nearest neighbour" in line and "32x32 -> 16x16" in line for line in logs)
    assert result.model.output_shape == (None, 16, 16, 2)
    assert 0.0 <= result.evaluation["mean_iou"] <= 1.0


def test_classifier_on_masks_fails_with_a_named_node_not_a_keras_error():
    from playground.training.runner import run_training

    clf = classifier()
    data = load_dataset("shapes", (32, 32, 1))
    result = run_training(clf, RunConfig.from_dict({"dataset": "shapes", "epochs": 1}),
                          dataset=data, keep_runs=False)
    assert result.status == "error" and "node head" in result.message


def test_flip_moves_image_and_mask_together():
    from playground.training.segmentation import SegFeeds

    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(40, 8, 8, 1), dtype=np.uint8)
    masks = (x[..., 0] > 127).astype(np.uint8)
    data = SegDataset("halves", x, masks, ["dark", "bright"])
    config = RunConfig.from_dict({"augment": ["flip"], "val_split": 0.2, "seed": 3})
    logs: list[str] = []
    feeds = SegFeeds(data, (8, 8, 1), (8, 8, 2), config, logs.append)
    assert any("flip (image and mask together" in line for line in logs)
    train, _ = feeds.pipelines(8, None, None)
    flipped = 0
    for xb, yb in train:
        xb, yb = xb.numpy(), yb.numpy()
        assert np.array_equal((xb[..., 0] > 0.5).astype(np.int64), yb)
        flipped += 1
    assert flipped == 4


def test_segmenter_savedmodel_serves_masks_at_the_image_size(tmp_path):
    """Trained 1 epoch on 32x32 shapes: the SavedModel takes raw 48x40 images and returns
    per-pixel probabilities at 48x40; the two class names travel with the 1-channel head."""
    from playground.tfimport import import_tensorflow
    from playground.training.runner import run_training
    from tests.exporters.serving_checks import manifest

    tf = import_tensorflow()
    out = tmp_path / "served"
    config = RunConfig.from_dict({"dataset": "shapes", "epochs": 1, "batch_size": 32})
    data = load_dataset("shapes", (32, 32, 1))
    data.x, data.y = data.x[:200], data.y[:200]
    result = run_training(small_unet(), config, dataset=data, keep_runs=False,
                          export_dir=str(out))
    assert result.status == "finished", result.message
    served = tf.saved_model.load(str(out))
    raw = np.random.default_rng(0).integers(0, 256, size=(2, 48, 40, 1)).astype(np.float32)
    probs = served.serve(tf.constant(raw)).numpy()
    assert probs.shape == (2, 48, 40, 1) and 0.0 <= probs.min() and probs.max() <= 1.0
    same = served.serve(tf.constant(data.x[:2].astype(np.float32))).numpy()
    np.testing.assert_allclose(same, result.model.predict(data.x[:2] / 255.0, verbose=0),
                               atol=1e-5)
    assert [n.decode() for n in served.class_names().numpy()] == ["background", "shape"]
    info = manifest(out)
    assert info["task"] == "segmentation" and info["class_names"] == ["background", "shape"]


def test_unet_preset_recipe_points_at_the_builtin_shapes_and_fits_them():
    from playground.core.presets import load_preset
    from playground.training.config import from_preset
    from playground.training.runner import input_shape_of

    graph = load_preset("unet")
    config, notes = from_preset(graph.extra["training"])
    assert config.dataset == "shapes" and config.optimizer == "adam"
    assert config.augment == ["flip"] and config.test_split > 0
    data = load_dataset(config.dataset, input_shape_of(graph))
    assert data.x.shape[1:] == (32, 32, 1) and data.y.shape[1:] == (32, 32)
    assert config.schedule == "cosine" and config.epochs == 15 and config.lr == 5e-4
    assert training_output_problems(analyze(graph), "segmentation", data.name) == []
    assert graph.node("mask").params["filters"] == 1   # two classes: the sigmoid head stays


def test_evaluation_view_shows_a_segmentation_result(qtbot):
    from playground.training.segmentation import evaluate
    from playground.ui.evaluation_view import EvaluationView

    truth = np.zeros((2, 4, 4), np.int64)
    truth[:, :2] = 1
    probs = np.zeros((2, 4, 4, 1))
    probs[:, :2, :2, 0] = 0.9          # half of the shape found, no false positive
    ev = evaluate(probs, truth, ["background", "shape"], "test")
    assert ev["pixel_accuracy"] == 0.75 and ev["iou"] == [pytest.approx(8 / 12), 0.5]
    from playground.training.segmentation import mask_strips

    images = np.full((2, 4, 4, 1), 90, np.uint8)
    worst = ev["worst"]
    ev["worst_pictures"] = mask_strips(images[worst], probs[worst], truth[worst])
    strip = ev["worst_pictures"][0]
    assert strip.shape == (4, 4 * 3 + 2 * 2, 3)
    assert (strip[:, :4] == 90).all()                         # the image itself
    assert (strip[:2, 6:10] != 90).any(axis=-1).all()          # the true mask: top half
    assert (strip[2:, 12:16] == 90).all() and (strip[:2, 12:14] != 90).any(axis=-1).all()
    view = EvaluationView()
    qtbot.addWidget(view)
    view.set_result(ev, None)
    assert "pixel accuracy 75.00%, mean IoU 0.583" in view.summary.text()
    assert "IoU/Dice per class: background 0.667/0.800, shape 0.500/0.667" in \
        view.summary.text()
    assert [label.text() for label in view.wrong_labels] == ["#0: IoU 0.583", "#1: IoU 0.583"]


def test_plots_draw_mean_iou_of_a_segmentation_run(qtbot):
    from playground.ui.plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.add_epoch({"epoch": 1, "loss": 0.4, "accuracy": 0.9, "val_loss": 0.5,
                     "val_accuracy": 0.88, "mean_iou": 0.7, "val_mean_iou": 0.65,
                     "val_mean_dice": 0.75, "val_iou_0": 0.9, "val_iou_1": 0.4})
    plots.add_epoch({"epoch": 2, "val_mean_iou": 0.7, "val_iou_0": 0.92,
                     "val_iou_1": float("nan")})
    plots.redraw()
    x, y = plots.curves["val_mean_iou"].getData()
    assert list(x) == [1.0, 2.0] and list(y) == [0.65, 0.7]
    assert list(plots.curves["val_mean_dice"].getData()[1]) == [0.75]
    assert list(plots.curves["val_iou_0"].getData()[1]) == [0.9, 0.92]
    assert list(plots.curves["val_iou_1"].getData()[1]) == [0.4]   # NaN: class absent
    plots.clear()
    plots.redraw()
    assert plots.points("val_iou_0") == 0


def test_overlay_tints_only_the_masked_pixels():
    from playground.data.segdata import mask_caption, overlay_masks

    images = np.full((1, 4, 4, 1), 100, np.uint8)
    masks = np.zeros((1, 2, 2), np.uint8)
    masks[0, 0, 0] = 1                       # the top-left quarter, once resized to 4x4
    out = overlay_masks(images, masks)
    assert out.shape == (1, 4, 4, 3)
    assert (out[0, :2, :2] != 100).any(axis=-1).all() and (out[0, 2:, :] == 100).all()
    assert mask_caption(masks[0], ["background", "shape"]) == "shape 25%"


def test_panel_preview_of_shapes_overlays_the_masks(qtbot, tmp_path, monkeypatch):
    from playground.ui.training_panel import TrainingPanel

    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    graph = small_unet()
    panel = TrainingPanel(lambda: graph)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_config(RunConfig.from_dict({"dataset": "shapes"}))
    assert panel.dataset_spec() == "shapes"
    _previews_sixteen_masked_cells(panel, qtbot)


def test_train_cli_on_shapes_and_a_bad_mask_folder(tmp_path, capsys):
    from PIL import Image

    from playground import cli
    from playground.core.fileformat import save as save_graph

    path = tmp_path / "unet.json"
    save_graph(small_unet(16), path)
    code = cli.main(["train", str(path), "--dataset", "shapes", "--epochs", "1", "--no-run"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "mean_iou" in out and "validation_mean_iou" in out
    assert "mean IoU" in err and "Traceback" not in err
    (tmp_path / "set" / "images").mkdir(parents=True)
    (tmp_path / "set" / "masks").mkdir()
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "set" / "images" / "a.png")
    code = cli.main(["train", str(path), "--dataset", str(tmp_path / "set"), "--no-run"])
    out, err = capsys.readouterr()
    assert code == 2 and "a.png: no mask for this image" in err and "Traceback" not in err


@pytest.mark.parametrize("k_out", [1, 2])
def test_zoom_crops_image_and_mask_with_the_same_box(k_out):
    from playground.training.segmentation import SegFeeds

    # Blocks of 4x4 pixels, bright or dark at random; the mask marks the bright ones.
    rng = np.random.default_rng(2)
    blocks = rng.integers(0, 2, size=(32, 4, 4)).astype(np.uint8)
    masks = blocks.repeat(4, axis=1).repeat(4, axis=2)
    x = (masks * 200 + 20)[..., None].astype(np.uint8)
    data = SegDataset("blocks", x, masks, ["dark", "bright"])
    config = RunConfig.from_dict({"augment": ["zoom"], "val_split": 0.25, "seed": 0})
    feeds = SegFeeds(data, (16, 16, 1), (16, 16, k_out), config, lambda text: None)
    train, _ = feeds.pipelines(8, None, None)
    changed, agree = 0, []
    for xb, yb in train:
        xb, yb = xb.numpy(), yb.numpy()
        if k_out == 1:   # one sigmoid channel: float targets N x H x W x 1
            assert yb.shape[-1] == 1 and yb.dtype == np.float32
            yb = yb[..., 0].astype(np.int64)
        assert yb.dtype == np.int64 and set(np.unique(yb)) <= {0, 1}
        agree.append(np.mean((xb[..., 0] > 0.47) == (yb == 1)))
        changed += int(not np.isin(np.round(xb * 255), [20, 220]).all())
    assert min(agree) > 0.9 and changed > 0


def test_predict_bars_of_a_segmenter_are_pixel_shares():
    from playground.inspect.model import mask_shares

    probs = np.zeros((4, 4, 1))
    probs[:1, :, 0] = 0.8                       # one row of four predicted "shape"
    rows = mask_shares(probs, ["background", "shape"])
    assert [(r["class"], r["p"]) for r in rows] == [("background", 0.75), ("shape", 0.25)]
    soft = np.zeros((2, 2, 3))
    soft[..., 2] = 1.0
    assert mask_shares(soft, ["a", "b", "c"])[0] == {"class": "c", "index": 2, "p": 1.0}


def test_an_output_that_cannot_score_the_classes_is_named():
    from playground.training.segmentation import check_output

    b = GraphBuilder("act head", "the head's width hides behind a transposed conv")
    b.add("mask", "Conv2DTranspose", b.add("input", "Input", shape=[8, 8, 1]), filters=3,
          kernel_size=1, activation="softmax")
    analysis = analyze(b.finish())
    assert check_output(analysis, 3) == (8, 8, 3)
    with pytest.raises(Exception, match=r"node mask: the output has 3 channel\(s\) per pixel but "
                                        r"the dataset has 2 classes"):
        check_output(analysis, 2)


def test_a_segmentation_run_in_the_child_process_sends_its_worst_pictures(tmp_path):
    """The panel's path: a TrainingSession child trains on shapes; the outcome carries the
    per-epoch mean IoU and the evaluation's worst images (pictures pickled through the pipe);
    the run folder's history.csv has the mean IoU columns."""
    from playground.training.session import TrainingSession

    session = TrainingSession(small_unet(16), {"dataset": "shapes", "epochs": 1,
                                               "batch_size": 64, "telemetry": False},
                              run_dir=tmp_path / "run")
    session.start()
    assert session.wait(180)
    result = session.result
    assert result.ok, result
    assert "val_mean_iou" in result.history[-1]
    ev = result.evaluation
    assert ev["task"] == "segmentation" and len(ev["worst_pictures"]) == 6
    assert np.asarray(ev["worst_pictures"][0]).shape == (16, 52, 3)
    header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0].split(",")
    assert {"mean_iou", "val_mean_iou", "val_mean_dice", "iou_1", "val_dice_0"} <= set(header)
    assert 0.0 <= result.history[-1]["val_iou_0"] <= 1.0


def _mask_folder(root, n=64, size=16):
    from PIL import Image

    from playground.data.shapes import generate_shapes

    x, m = generate_shapes(n, size=size, seed=5)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        Image.fromarray(x[i, ..., 0]).save(root / "images" / f"p{i:03d}.png")
        Image.fromarray(m[i]).save(root / "masks" / f"p{i:03d}.png")
    (root / "classes.txt").write_text("background\nshape\n")
    return x, m


def test_a_mask_folder_streams_and_logs_iou_and_dice_per_class_each_epoch(tmp_path):
    """A folder of image/mask files trains through the streamed pipeline (cache plan, joint
    rotate/shear, colour on the image): every epoch's history row has IoU and Dice per class
    for training and validation, the log names them per class, and the evaluation (batch by
    batch) agrees with the history's figures' form."""
    from playground.training.runner import run_training
    from playground.training.segkeras import per_class_keys

    _mask_folder(tmp_path / "set")
    config = RunConfig.from_dict({"dataset": str(tmp_path / "set"), "epochs": 2,
                                  "batch_size": 16, "optimizer": "adam", "lr": 5e-3,
                                  "val_split": 0.25, "test_split": 0.25, "seed": 0,
                                  "augment": ["rotate", "shear", "contrast"],
                                  "telemetry": False})
    events: list[dict] = []
    result = run_training(small_unet(16), config, sink=events.append, keep_runs=False)
    logs = [e["text"] for e in events if e["kind"] == "log"]
    assert result.status == "finished", result.message
    assert getattr(result.dataset, "streamed", False)
    assert any(line.startswith("cache: decoded images cached in memory") for line in logs), logs
    assert any("rotate, shear (image and mask together" in line for line in logs)
    assert any("contrast (the image only)" in line for line in logs)
    for row in result.history:
        for key in ["mean_iou", "mean_dice", *per_class_keys(2)]:
            assert key in row and f"val_{key}" in row, (key, row)
        assert 0.0 <= row["val_iou_0"] <= 1.0
    per_epoch = [line for line in logs if "validation IoU/Dice per class: background" in line]
    assert [line.split()[1] for line in per_epoch] == ["1", "2"]
    ev = result.evaluation
    assert ev["split"] == "test" and ev["samples"] == 16 and len(ev["dice"]) == 2
    assert len(result.eval_indices) == 16 and len(ev["worst_pictures"]) == 6
    assert ev["worst_pictures"][0].shape == (16, 52, 3)


def test_a_mask_that_breaks_after_the_scan_is_named_or_skipped(tmp_path):
    """A mask file truncated between the scan and the epoch stops the run naming it; with
    bad_images skip the pair is dropped, named in the log, and the run finishes."""
    from playground.data.dataset import load_dataset
    from playground.training.runner import run_training

    _mask_folder(tmp_path / "set", n=32)
    for policy in ("stop", "skip"):
        data = load_dataset(str(tmp_path / "set"), (16, 16, 1), bad_images=policy)
        broken = data.mask_paths[5]
        original = Path(broken).read_bytes()
        Path(broken).write_bytes(original[:40])
        config = RunConfig.from_dict({"dataset": str(tmp_path / "set"), "epochs": 1,
                                      "batch_size": 8, "val_split": 0.25, "seed": 0,
                                      "bad_images": policy, "telemetry": False})
        events: list[dict] = []
        result = run_training(small_unet(16), config, dataset=data, sink=events.append,
                              keep_runs=False)
        logs = [e["text"] for e in events if e["kind"] == "log"]
        if policy == "stop":
            assert result.status == "error" and broken in result.message, result.message
            assert "Traceback" not in result.message
        else:
            assert result.status == "finished", result.message
            assert any("skipped unreadable image or mask" in line and "p005" in line
                       for line in logs), logs
        Path(broken).write_bytes(original)


def test_batch_by_batch_evaluation_equals_the_whole_split_at_once():
    """SegFeeds.evaluate (a batch at a time, never the split's probabilities at once) gives the
    figures of the whole-array evaluation, and pictures of its worst images."""
    from playground.keras_build.compile import build
    from playground.training.segmentation import SegFeeds, evaluate

    data = load_dataset("shapes", (16, 16, 1))
    data.x, data.y = data.x[:60], data.y[:60]
    graph = small_unet(16)
    model = build(graph, analyze(graph)).model
    config = RunConfig.from_dict({"val_split": 0.2, "test_split": 0.3, "seed": 1})
    feeds = SegFeeds(data, (16, 16, 1), (16, 16, 1), config, lambda text: None)
    plan = feeds.evaluation(7)
    ev = feeds.evaluate(model, plan, 7)
    probs = model.predict(data.x[plan.rows] / 255.0, verbose=0)
    whole = evaluate(probs, data.y[plan.rows], data.class_names, "test")
    assert ev["split"] == "test" and ev["samples"] == 18 == len(ev["evaluated_rows"])
    assert ev["confusion"] == whole["confusion"] and ev["worst"] == whole["worst"]
    assert ev["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    assert ev["mean_iou"] == pytest.approx(whole["mean_iou"])
    assert len(ev["worst_pictures"]) == 6 and ev["worst_pictures"][0].shape == (16, 52, 3)


def test_panel_preview_of_a_streamed_mask_folder_overlays_its_masks(qtbot, tmp_path,
                                                                     monkeypatch):
    """The panel's preview of an images/ + masks/ folder decodes only the 16 pairs it shows
    (the lazy x and y views) and tints each mask over its image."""
    from playground.ui.training_panel import TrainingPanel

    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    _mask_folder(tmp_path / "set", n=24, size=16)
    graph = small_unet(16)
    panel = TrainingPanel(lambda: graph)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_config(RunConfig.from_dict({"dataset": str(tmp_path / "set")}))
    _previews_sixteen_masked_cells(panel, qtbot)


def _previews_sixteen_masked_cells(panel, qtbot) -> None:
    """The panel's preview shows 16 pictures, each captioned by its mask's largest class."""
    panel.preview()
    qtbot.waitUntil(lambda: not panel.jobs, timeout=60_000)
    assert len(panel.preview_cells) == 16, panel.status_text
    assert not panel.preview_cells[0].pixmap().isNull()
    assert all(cell.toolTip().startswith(("shape ", "background"))
               for cell in panel.preview_cells)
    assert panel.stop_and_wait(60_000)
