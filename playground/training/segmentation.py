"""Per-pixel training: what a run does differently when its dataset holds masks.

The runner stays one path; for a :class:`~playground.data.segdata.SegDataset` it asks this module
for the head (retargeted to the dataset's classes like a classifier's, a 1-channel sigmoid head
kept for two classes), the loss and metrics (per-pixel cross-entropy; pixel accuracy under the
name ``accuracy`` so the plots and history need nothing new, plus mean IoU), the data feeds
(masks resized to the output's size with nearest neighbour, flips applied to image and mask
together) and the evaluation (:func:`playground.training.segmetrics.evaluate_masks`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from playground.core.errors import PlaygroundError
from playground.core.graph import Graph
from playground.data.adapt import split_indices
from playground.data.feeds import Evaluation

# Augmentations applied to image and mask together; the others are refused for masks (a colour
# change would be harmless, a crop/rotation applied to the image alone would misalign the mask).
JOINT_AUGMENT = ("flip", "crop", "zoom")
ZOOM_RANGE = (0.75, 1.0)  # crop/zoom: side of the random crop, as a share of the image's


def output_shape(analysis: Any) -> tuple[int, int, int] | None:
    """(H, W, K) of the graph's single image output, or None when it has none."""
    if len(analysis.outputs) != 1:
        return None
    shape = analysis.nodes[analysis.outputs[0]].shape
    if shape is None or len(shape) != 3 or any(d is None for d in shape):
        return None
    return tuple(int(d) for d in shape)  # type: ignore[return-value]


def retarget_head(graph: Graph, num_classes: int, log: Callable[[str], None]) -> None:
    """The mask head's width follows the dataset's classes. Two classes with a 1-channel head
    stay binary (sigmoid); more classes get K channels with softmax (a sigmoid head's
    activation is switched, since independent sigmoids do not make one class per pixel)."""
    from playground.core.retarget import find_heads, set_classes

    heads = [h for h in find_heads(graph) if graph.node(h).type == "Conv2D"]
    for head in heads:
        node = graph.node(head)
        width = node.params.get("filters")
        if num_classes == 2 and width == 1:
            continue
        if width != num_classes:
            set_classes(graph, num_classes)
            log(f"classes: {num_classes}; mask head {head} ({width} -> {num_classes} "
                "channels) retargeted")
        if num_classes > 1 and node.params.get("activation") == "sigmoid":
            graph.set_param(head, "activation", "softmax")
            log(f"mask head {head}: sigmoid -> softmax (one class per pixel)")


def is_binary_head(k_out: int) -> bool:
    return k_out == 1


def compile_args(k_out: int, num_classes: int) -> tuple[Any, list[Any]]:
    """(loss, metrics) for an output of ``k_out`` channels: binary cross-entropy on the mask
    for one sigmoid channel, sparse categorical cross-entropy per pixel otherwise."""
    import keras

    if is_binary_head(k_out):
        return ("binary_crossentropy",
                [keras.metrics.BinaryAccuracy(name="accuracy"),
                 keras.metrics.BinaryIoU(target_class_ids=[0, 1], name="mean_iou")])
    return ("sparse_categorical_crossentropy",
            [keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
             keras.metrics.MeanIoU(num_classes=num_classes, sparse_y_pred=False,
                                   name="mean_iou")])


def resize_masks(masks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of N x H x W masks (class indices stay class indices)."""
    h, w = masks.shape[1:3]
    oh, ow = size
    if (h, w) == (oh, ow):
        return masks
    rows = np.minimum(((np.arange(oh) + 0.5) * h / oh).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(ow) + 0.5) * w / ow).astype(np.int64), w - 1)
    return masks[:, rows][:, :, cols]


class SegFeeds:
    """The segmentation twin of :class:`playground.data.feeds.DataFeeds` (same interface)."""

    def __init__(self, dataset: Any, model_shape, out_shape: tuple[int, int, int], config: Any,
                 log: Callable[[str], None]):
        from playground.data.adapt import adapt_array

        if getattr(config, "strategy", "default") == "multiworker":
            raise PlaygroundError("strategy multiworker trains classifiers only; train a "
                                  "segmentation set with the default or mirrored strategy")
        self.data, self.shape, self.config, self.log = dataset, tuple(model_shape), config, log
        self.k_out = out_shape[2]
        self.streamed = False
        self.skipped: list[str] = []
        self.split = split_indices(len(dataset.y), config.val_split, config.test_split,
                                   seed=config.seed)
        self.n_train, self.n_val = len(self.split.train), len(self.split.val)
        self.n_test = len(self.split.test)
        masks = np.asarray(dataset.y)
        size = tuple(out_shape[:2])
        if masks.shape[1:3] != size:
            log(f"masks: resized {masks.shape[1]}x{masks.shape[2]} -> {size[0]}x{size[1]} "
                "(nearest neighbour) to the model output's size")
            masks = resize_masks(masks, size)  # type: ignore[arg-type]
        self.masks = masks
        x_all = adapt_array(dataset.x, self.shape)
        self.x_train, self.x_val = x_all[self.split.train], x_all[self.split.val]
        self.x_test = x_all[self.split.test]
        self.y_train, self.y_val = masks[self.split.train], masks[self.split.val]
        self.y_test = masks[self.split.test]
        self.augment = [a for a in getattr(config, "augment", []) if a in JOINT_AUGMENT]
        ignored = [a for a in getattr(config, "augment", []) if a not in JOINT_AUGMENT]
        if ignored:
            log(f"augmentation: {', '.join(ignored)} not applied to a segmentation set (only "
                f"{', '.join(JOINT_AUGMENT)} moves image and mask together)")
        if self.augment:
            log(f"augmentation: {', '.join(self.augment)} (image and mask together)")

    def targets(self, masks: np.ndarray) -> np.ndarray:
        """Masks as the loss wants them: N x H x W x 1 floats for one sigmoid channel."""
        return masks[..., None].astype(np.float32) if is_binary_head(self.k_out) else \
            masks.astype(np.int64)

    def describe_split(self) -> list[str]:
        lines = [f"split: {self.n_train} train, {self.n_val} validation, {self.n_test} test "
                 f"(seed {self.config.seed})"]
        names = self.data.class_names
        if len(names) <= 20 and self.n_train:
            counts = np.bincount(self.y_train.ravel(), minlength=len(names))
            share = counts / max(1, counts.sum())
            lines.append("train pixels per class: " + ", ".join(
                f"{n} {s:.1%}" for n, s in zip(names, share.tolist(), strict=True)))
        return lines

    def class_weight(self) -> None:
        return None

    def pipelines(self, batch_size: int, augment, run_dir: str | None) -> tuple[Any, Any]:
        from playground.tfimport import import_tensorflow

        tf = import_tensorflow()
        seed = self.config.seed

        def make(x, y, train):
            ds = tf.data.Dataset.from_tensor_slices((x, self.targets(y))).cache()
            if train:
                ds = ds.shuffle(min(len(x), 10_000), seed=seed, reshuffle_each_iteration=True)
                if "flip" in self.augment:
                    def flip(a, b):
                        # One draw decides for both: the mask mirrors with its image.
                        go = tf.random.uniform([], seed=seed) < 0.5
                        return (tf.cond(go, lambda: tf.reverse(a, [1]), lambda: a),
                                tf.cond(go, lambda: tf.reverse(b, [1]), lambda: b))
                    ds = ds.map(flip)
            ds = ds.batch(batch_size)
            if train and ("crop" in self.augment or "zoom" in self.augment):
                ds = ds.map(self._joint_zoom(tf, seed))
            return ds.prefetch(tf.data.AUTOTUNE)

        val = make(self.x_val, self.y_val, False) if self.n_val else None
        return make(self.x_train, self.y_train, True), val

    def _joint_zoom(self, tf, seed: int):
        """A random crop of each image resized back to its size (zooming in), the same box on
        its mask: the image bilinear, the mask nearest neighbour (class indices stay)."""
        image_size = [int(d) for d in self.shape[:2]]
        mask_size = [int(d) for d in self.y_train.shape[1:3]]
        lo, hi = ZOOM_RANGE

        def zoom(a, b):
            n = tf.shape(a)[0]
            side = tf.random.uniform([n, 1], lo, hi, seed=seed + 1)
            start = tf.random.uniform([n, 2], 0.0, 1.0, seed=seed + 2) * (1.0 - side)
            boxes = tf.concat([start, start + side], axis=1)       # y1, x1, y2, x2
            rows = tf.range(n)
            a = tf.image.crop_and_resize(a, boxes, rows, image_size, method="bilinear")
            m = tf.cast(b if b.shape.rank == 4 else b[..., None], tf.float32)
            m = tf.image.crop_and_resize(m, boxes, rows, mask_size, method="nearest")
            m = m if b.shape.rank == 4 else m[..., 0]
            return a, tf.cast(m, b.dtype)
        return zoom

    def ordered(self, batch_size: int):
        return self.x_train, self.targets(self.y_train), self.x_val, self.targets(self.y_val)

    def probe(self, k: int):
        x, y = (self.x_val, self.y_val) if self.n_val else (self.x_train, self.y_train)
        return x[:k], self.targets(y[:k])

    def evaluation(self, batch_size: int) -> Evaluation | None:
        if self.n_test:
            split, x, y, rows = "test", self.x_test, self.y_test, self.split.test
        elif self.n_val:
            split, x, y, rows = "validation", self.x_val, self.y_val, self.split.val
        else:
            return None

        def predict(model):
            out = model.predict(x, batch_size=batch_size, verbose=0)
            return np.asarray(out[0] if isinstance(out, (list, tuple)) else out), y, rows
        return Evaluation(split, "train", rows, len(y), predict)

    def name_bad_file(self, exc: BaseException, paths=None) -> None:
        return None

    def cleanup(self) -> None:
        pass


def evaluate(probs: np.ndarray, masks: np.ndarray, class_names: list[str],
             split: str) -> dict[str, Any]:
    """:func:`segmetrics.evaluate_masks` plus the keys every evaluation view reads
    (``accuracy`` = pixel accuracy, ``loss`` = mean per-pixel cross-entropy, ``per_class`` =
    IoU per class, ``wrong`` empty: the worst images are ``worst``, by IoU)."""
    from playground.training.segmetrics import evaluate_masks

    probs = np.asarray(probs, np.float64)
    ev = evaluate_masks(probs, masks, class_names, split)
    eps = 1e-7
    if probs.shape[-1] == 1:
        p = np.clip(probs[..., 0], eps, 1 - eps)
        t = np.asarray(masks, np.float64)
        loss = float(np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))))
    else:
        picked = np.take_along_axis(probs, np.asarray(masks, np.int64)[..., None], axis=-1)
        loss = float(np.mean(-np.log(np.clip(picked, eps, 1.0))))
    ev.update(accuracy=ev["pixel_accuracy"], loss=loss, per_class=ev["iou"], wrong=[])
    return ev


def summary_line(ev: dict[str, Any]) -> str:
    ious = ", ".join(f"{n} {v:.3f}" for n, v in zip(ev["class_names"], ev["iou"], strict=True)
                     if v is not None)
    return (f"{ev['split']}: pixel accuracy {ev['pixel_accuracy']:.4f}, mean IoU "
            f"{ev['mean_iou']:.4f}, mean Dice {ev['mean_dice']:.4f}, loss {ev['loss']:.4f}; "
            f"IoU per class: {ious}")


def check_output(analysis: Any, num_classes: int | None = None) -> tuple[int, int, int]:
    """The output's (H, W, K), refused by name when K cannot score the dataset's classes
    (a head the retargeting could not reach: not a Conv2D, or behind other layers)."""
    out = output_shape(analysis)
    if out is None:
        raise PlaygroundError("a segmentation run needs one image output H x W x K")
    k = out[2]
    if num_classes is not None and not (k == num_classes or (k == 1 and num_classes == 2)):
        node = analysis.outputs[0]
        raise PlaygroundError(
            f"node {node}: the output has {k} channel(s) per pixel but the dataset has "
            f"{num_classes} classes; end the graph in a 1x1 Conv2D with {num_classes} filters "
            "(softmax)" + (" or 1 filter (sigmoid)" if num_classes == 2 else ""))
    return out


WORST_PICTURES = 6


def worst_pictures(ev: dict[str, Any], images: np.ndarray, probs: np.ndarray,
                   masks: np.ndarray, count: int = WORST_PICTURES) -> list[np.ndarray]:
    """For the evaluation view: per worst image (by IoU), one RGB uint8 strip of the image, the
    true mask over it and the predicted mask over it, side by side (a 2-pixel gap between)."""
    from playground.data.segdata import overlay_masks

    probs = np.asarray(probs)
    pred = (probs[..., 0] >= 0.5).astype(np.int64) if probs.shape[-1] == 1 else \
        probs.argmax(-1)
    strips = []
    for i in ev.get("worst", [])[:count]:
        image = np.asarray(images[i])[None]
        plain = overlay_masks(image, np.zeros(image.shape[:3], np.int64))[0]
        truth = overlay_masks(image, np.asarray(masks[i])[None])[0]
        guess = overlay_masks(image, pred[i][None])[0]
        gap = np.full((plain.shape[0], 2, 3), 255, np.uint8)
        strips.append(np.concatenate([plain, gap, truth, gap, guess], axis=1))
    return strips
