"""Evaluation the lecture notes' way: 10-crop test-time augmentation and ensembles of runs, each
beside the single model's accuracy with its cost in time, and the most confidently wrong samples.

The notes say both tricks gain 1-2 % and are not for production (ten forward passes per image;
several models to keep); ``compare`` measures both on the run's own held-out images so a student
sees the gain and the price side by side.

Held-out images: a run's test split if its dataset ships one (keras.datasets), else the split
the runner made (same seed, fractions and stratification: ``data.adapt.split_indices``), its
test part when there is one, else its validation part, the same images the run was evaluated on.
A segmentation set (masks) is split as the runner splits it (``training.segmentation.SegFeeds``):
not stratified, since a mask is not a class to stratify by, and its own test set, if any, unused.

10-crop (Krizhevsky et al. 2012, as in the notes): the image is adapted to a size larger by
256/224 than the model's input, and the four corner crops and the centre crop of the input's size
are taken, with their horizontal mirrors; the ten probability vectors are averaged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground.core.errors import PlaygroundError
from playground.inspect.model import LoadedModel, load_model_source, logits_and_probabilities

ENLARGE = 256 / 224            # the notes' 256 -> 224 crops
BATCH = 256


class EvaluationError(PlaygroundError):
    """Runs that cannot be compared (different datasets or classes), or no held-out images."""


@dataclass
class HeldOut:
    """Raw held-out images (uint8), their labels and where they came from."""

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    source: str            # "test" / "validation"
    indices: np.ndarray    # rows of the dataset (x_test when source is the shipped test set)


@dataclass
class Row:
    method: str
    accuracy: float
    seconds: float
    passes: int                    # forward passes per image
    probs: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))

    def to_json(self, single: Row | None) -> dict[str, Any]:
        out = {"method": self.method, "accuracy": self.accuracy, "seconds": self.seconds,
               "passes_per_image": self.passes}
        if single is not None:
            out["gain_points"] = (self.accuracy - single.accuracy) * 100.0
            out["time_factor"] = self.seconds / single.seconds if single.seconds > 0 else None
        return out


def held_out(run_dir: str, loaded: LoadedModel, config: dict[str, Any]) -> HeldOut:
    """The images a run was evaluated on, re-made from its config (see the module docstring).

    For a set of masks, ``y`` holds the held-out masks and the split is the runner's
    unstratified one: stratifying by ``y`` would group pixels, not images."""
    from playground.data.adapt import split_indices
    from playground.data.dataset import load_dataset
    from playground.data.segdata import is_segmentation

    settings = config.get("config") if isinstance(config.get("config"), dict) else {}
    spec = settings.get("dataset")
    if not isinstance(spec, str) or not spec:
        raise EvaluationError(f"{run_dir}: the run does not record its dataset")
    # Loaded as the run loaded it: a run that skipped unreadable files skips them here too.
    bad_images = settings.get("bad_images") if settings.get("bad_images") in ("stop", "skip") \
        else "stop"
    data = load_dataset(spec, loaded.input_shape, bad_images=bad_images)
    masks = is_segmentation(data)
    if getattr(data, "x_test", None) is not None and not masks:
        return HeldOut(data.x_test, data.y_test, data.class_names, "test",
                       np.arange(len(data.x_test)))
    split = split_indices(len(data.y), float(settings.get("val_split", 0.2)),
                          float(settings.get("test_split", 0.0)),
                          seed=int(settings.get("seed", 0)), labels=None if masks else data.y)
    rows, source = (split.test, "test") if len(split.test) else (split.val, "validation")
    if not len(rows):
        raise EvaluationError(f"{run_dir}: the run kept no test or validation images "
                              "(val split 0); nothing to evaluate on")
    return HeldOut(data.x[rows], data.y[rows], data.class_names, source, rows)


def _adapted(raw: np.ndarray, shape) -> np.ndarray:
    from playground.data.adapt import adapt_array

    return adapt_array(raw, shape)


def predict_all(loaded: LoadedModel, x: np.ndarray) -> np.ndarray:
    out = [logits_and_probabilities(loaded, x[i:i + BATCH]) for i in range(0, len(x), BATCH)]
    return np.concatenate(out) if out else np.zeros((0, loaded.num_classes))


def crop_boxes(big: tuple[int, int], size: tuple[int, int]) -> list[tuple[int, int]]:
    """Top-left corners of the four corner crops and the centre crop."""
    (bh, bw), (h, w) = big, size
    return [(0, 0), (0, bw - w), (bh - h, 0), (bh - h, bw - w), ((bh - h) // 2, (bw - w) // 2)]


def ten_crop_probs(loaded: LoadedModel, raw: np.ndarray, mirror: bool = True) -> np.ndarray:
    """Average class probabilities over the 10 crops of each raw image (5 without mirrors:
    digits and text are not mirror-symmetric, photos of objects are)."""
    h, w, c = loaded.input_shape
    bh, bw = max(h + 1, int(round(h * ENLARGE))), max(w + 1, int(round(w * ENLARGE)))
    big = _adapted(raw, (bh, bw, c))
    total = np.zeros((len(raw), loaded.num_classes))
    for y0, x0 in crop_boxes((bh, bw), (h, w)):
        crop = np.ascontiguousarray(big[:, y0:y0 + h, x0:x0 + w])
        total += predict_all(loaded, crop)
        if mirror:
            total += predict_all(loaded, np.ascontiguousarray(crop[:, :, ::-1]))
    return total / (10.0 if mirror else 5.0)


def _accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == y)) if len(y) else float("nan")


def _timed(fn, repeats: int = 3) -> tuple[Any, float]:
    """The result and the best of ``repeats`` wall times after one untimed warm-up call (the
    machine is shared; the minimum is the least disturbed measurement)."""
    best = float("inf")
    out = fn()                                   # warm-up, untimed
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


@dataclass
class Comparison:
    rows: list[Row]
    data: HeldOut
    runs: list[str]
    models: list[LoadedModel] = field(repr=False, default_factory=list)

    @property
    def single(self) -> Row:
        return self.rows[0]

    def to_json(self) -> dict[str, Any]:
        return {"runs": self.runs, "images": int(len(self.data.y)), "split": self.data.source,
                "rows": [r.to_json(self.single if i else None) for i, r in enumerate(self.rows)]}

    def text(self) -> str:
        lines = [f"{len(self.data.y)} {self.data.source} images of the first run's dataset",
                 f"{'method':<28} {'accuracy':>8} {'gain':>10} {'time':>9} {'cost':>7}"]
        for i, r in enumerate(self.rows):
            gain = "" if i == 0 else f"{(r.accuracy - self.single.accuracy) * 100:+.2f} pt"
            cost = "1x" if i == 0 else (f"{r.seconds / self.single.seconds:.1f}x"
                                        if self.single.seconds > 0 else "")
            lines.append(f"{r.method:<28} {r.accuracy:8.2%} {gain:>10} {r.seconds:8.3f}s "
                         f"{cost:>7}")
        return "\n".join(lines)


def compare(run_dirs: list[str], tta: bool = True, limit: int | None = None) -> Comparison:
    """Single model (the first run), its 10-crop TTA, and the ensemble of all runs (with TTA
    too when asked), on the first run's held-out images."""
    from playground.training.runs import read_config

    if not run_dirs:
        raise EvaluationError("give at least one run folder")
    models = [load_model_source(r) for r in run_dirs]
    first = models[0]
    for run, model in zip(run_dirs[1:], models[1:], strict=True):
        if model.input_shape != first.input_shape or model.num_classes != first.num_classes:
            raise EvaluationError(f"{run}: input {model.input_shape} / {model.num_classes} "
                                  f"classes, but {run_dirs[0]} has {first.input_shape} / "
                                  f"{first.num_classes}; an ensemble needs the same task")
        if model.class_names != first.class_names:
            raise EvaluationError(f"{run}: its classes differ from {run_dirs[0]}'s")
    data = held_out(run_dirs[0], first, read_config(run_dirs[0]))
    if limit is not None and limit < len(data.y):
        data = HeldOut(data.x[:limit], data.y[:limit], data.class_names, data.source,
                       data.indices[:limit])
    for model in models:                        # trace once: time the work, not the tracing
        predict_all(model, _adapted(data.x[:2], model.input_shape))
    x = _adapted(data.x, first.input_shape)
    rows = []
    probs, secs = _timed(lambda: predict_all(first, x))
    rows.append(Row("single model", _accuracy(probs, data.y), secs, 1, probs))
    if tta:
        probs, secs = _timed(lambda: ten_crop_probs(first, data.x))
        rows.append(Row("10-crop TTA", _accuracy(probs, data.y), secs, 10, probs))
        probs, secs = _timed(lambda: ten_crop_probs(first, data.x, mirror=False))
        rows.append(Row("5-crop TTA (no mirrors)", _accuracy(probs, data.y), secs, 5, probs))
    if len(models) > 1:
        def ensemble():
            return np.mean([predict_all(m, _adapted(data.x, m.input_shape)) for m in models],
                           axis=0)
        probs, secs = _timed(ensemble)
        rows.append(Row(f"ensemble of {len(models)} runs", _accuracy(probs, data.y), secs,
                        len(models), probs))
        if tta:
            probs, secs = _timed(lambda: np.mean([ten_crop_probs(m, data.x) for m in models],
                                                 axis=0))
            rows.append(Row(f"ensemble of {len(models)} + 10-crop", _accuracy(probs, data.y),
                            secs, 10 * len(models), probs))
    return Comparison(rows, data, list(run_dirs), models)


def confidently_wrong(probs: np.ndarray, y: np.ndarray, n: int) -> list[int]:
    """Positions of the ``n`` wrong predictions with the highest confidence, most sure first."""
    pred = np.argmax(probs, axis=1)
    wrong = np.flatnonzero(pred != y)
    conf = probs[wrong, pred[wrong]]
    return [int(i) for i in wrong[np.argsort(-conf, kind="stable")][:n]]


def last_spatial_node(loaded: LoadedModel) -> str | None:
    """The last node (in build order) with a spatial output: Grad-CAM's usual choice."""
    best = None
    for node_id, tensor in loaded.node_tensors.items():
        if len(tuple(tensor.shape)) == 4 and loaded.graph.node(node_id).type != "Input":
            best = node_id
    return best


def wrong_samples(result: Comparison, n: int) -> tuple[np.ndarray | None, list[dict[str, Any]]]:
    """The single model's ``n`` most confidently wrong held-out samples, each drawn beside
    Grad-CAM of the last spatial node for the (wrong) predicted class, labelled
    ``true 3 -> 5 (99%)``; and one row per sample for JSON. No samples: (None, [])."""
    from playground.inspect import render
    from playground.inspect.images import adapt
    from playground.inspect.maps import Inspector

    loaded, data, probs = result.models[0], result.data, result.single.probs
    picks = confidently_wrong(probs, data.y, n)
    node = last_spatial_node(loaded)
    inspector = Inspector(loaded) if node is not None and picks else None
    tiles, rows = [], []
    for pos in picks:
        x = adapt(data.x[pos], loaded.input_shape)
        pred = int(np.argmax(probs[pos]))
        panel = [render.model_view(x[0], 112)]
        if inspector is not None:
            maps = inspector.run(x, node, pred)
            panel.append(render.overlay(x[0], maps.gradcam, min_side=112))
        row = {"row": int(data.indices[pos]), "split": data.source,
               "true": data.class_names[int(data.y[pos])], "predicted": data.class_names[pred],
               "p": float(probs[pos, pred]), "gradcam_node": node}
        tiles.append(render.captioned(np.concatenate(panel, axis=1),
                                      f"true {row['true']} -> {row['predicted']} "
                                      f"({row['p']:.0%})"))
        rows.append(row)
    return (render.tile_grid(tiles, gap=4) if tiles else None), rows
