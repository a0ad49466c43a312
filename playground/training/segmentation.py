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
    for one sigmoid channel, sparse categorical cross-entropy per pixel otherwise; pixel
    accuracy (as ``accuracy``), mean IoU, mean Dice and IoU and Dice per class
    (:func:`playground.training.segkeras.epoch_metrics`)."""
    import keras

    from playground.training.segkeras import epoch_metrics

    scores = epoch_metrics(k_out, num_classes)
    if is_binary_head(k_out):
        return ("binary_crossentropy", [keras.metrics.BinaryAccuracy(name="accuracy"), *scores])
    return ("sparse_categorical_crossentropy",
            [keras.metrics.SparseCategoricalAccuracy(name="accuracy"), *scores])


def epoch_log(sink: Callable[[dict], None], class_names: list[str], progress: Any) -> Any:
    """A Keras callback placed after the progress callback: one log line per epoch with IoU and
    Dice per class (the CLI's stderr and the panel's log both show log events)."""
    import keras

    from playground.training.segkeras import epoch_line

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if not progress.history or progress.history[-1].get("epoch") != epoch + 1:
                return
            line = epoch_line(progress.history[-1], class_names)
            if line:
                sink({"kind": "log", "text": line})
    return EpochLog()


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
    """The segmentation twin of :class:`playground.data.feeds.DataFeeds` (same interface),
    for in-memory sets (``shapes``) and streamed image/mask files alike: the pipelines are
    :mod:`playground.data.segstream`'s, the evaluation is computed batch by batch."""

    def __init__(self, dataset: Any, model_shape, out_shape: tuple[int, int, int], config: Any,
                 log: Callable[[str], None]):
        from playground.data.joint_augment import split_options

        if getattr(config, "strategy", "default") == "multiworker":
            raise PlaygroundError("strategy multiworker trains classifiers only; train a "
                                  "segmentation set with the default or mirrored strategy")
        self.data, self.shape, self.config, self.log = dataset, tuple(model_shape), config, log
        self.k_out = out_shape[2]
        self.input_hw = (int(model_shape[0]), int(model_shape[1]))
        self.output_hw = (int(out_shape[0]), int(out_shape[1]))
        self.streamed = bool(getattr(dataset, "streamed", False))
        self.skipped: list[str] = []
        self.cache = None
        self.split = split_indices(len(dataset.y), config.val_split, config.test_split,
                                   seed=config.seed)
        self.n_train, self.n_val = len(self.split.train), len(self.split.val)
        self.n_test = len(self.split.test)
        if self.output_hw != self.input_hw:
            log(f"masks: resized {self.input_hw[0]}x{self.input_hw[1]} -> "
                f"{self.output_hw[0]}x{self.output_hw[1]} (nearest neighbour) to the model "
                "output's size")
        if not self.streamed:
            from playground.data.adapt import adapt_array

            masks = np.asarray(dataset.y)
            if masks.shape[1:3] != self.input_hw:    # the images are resized to the input
                masks = resize_masks(masks, self.input_hw)
            self.x_all, self.masks = adapt_array(dataset.x, self.shape), masks
        names = list(getattr(config, "augment", []))
        self.joint, self.colour, ignored = split_options(names)
        if ignored:
            log(f"augmentation: {', '.join(ignored)} not applied to a segmentation set")
        if self.joint:
            log(f"augmentation: {', '.join(self.joint)} (image and mask together: one "
                "transform, the image bilinear, the mask nearest neighbour)")
        if self.colour:
            log(f"augmentation: {', '.join(self.colour)} (the image only)")

    # ------------------------------------------------------------------ reporting
    def describe_split(self) -> list[str]:
        lines = [f"split: {self.n_train} train, {self.n_val} validation, {self.n_test} test "
                 f"(seed {self.config.seed})"]
        names = self.data.class_names
        if len(names) > 20 or not self.n_train:
            return lines
        if self.streamed:   # counted by the scan, over every mask at its own size
            counts = getattr(self.data, "pixel_counts", None)
            label = "pixels per class (all masks)"
        else:
            counts = np.bincount(self.masks[self.split.train].ravel(), minlength=len(names))
            label = "train pixels per class"
        if counts is not None:
            share = np.asarray(counts, np.float64) / max(1, int(np.sum(counts)))
            lines.append(f"{label}: " + ", ".join(
                f"{n} {s:.1%}" for n, s in zip(names, share.tolist(), strict=True)))
        return lines

    def class_weight(self) -> None:
        return None

    # ------------------------------------------------------------------ pipelines
    def _pairs(self, rows: np.ndarray, *, train: bool, split: str) -> Any:
        """(image, uint8 mask at the input's size, row) elements of ``rows``: slices of the
        arrays, or the files decoded (cached and shuffled as a classification folder's)."""
        from playground.tfimport import import_tensorflow

        tf = import_tensorflow()
        seed = self.config.seed
        rows = np.asarray(rows, np.int64)
        if not self.streamed:
            ds = tf.data.Dataset.from_tensor_slices((self.x_all[rows], self.masks[rows],
                                                     rows)).cache()
            return ds.shuffle(max(1, len(rows)), seed=seed, reshuffle_each_iteration=True) \
                if train else ds
        from playground.data.segstream import decoded_pairs, file_pairs
        from playground.data.stream import SHUFFLE_BYTES

        if train:
            rows = rows[np.random.default_rng(seed).permutation(len(rows))]
        data = self.data
        files = file_pairs([data.paths[i] for i in rows], [data.mask_paths[i] for i in rows],
                           rows)
        mode = self.cache.mode if self.cache is not None and split != "eval" else "none"
        if train and mode == "none":
            # Shuffle names, not pixels: the whole list, every epoch, for a few bytes a pair.
            files = files.shuffle(max(1, len(rows)), seed=seed, reshuffle_each_iteration=True)
        ds = decoded_pairs(files, self.shape, data.num_classes, data.bad_images, self._skipped)
        if mode == "memory":
            ds = ds.cache()
        elif mode == "file":
            ds = ds.cache(self.cache.prefix(split))
        if train and mode != "none":
            h, w, c = self.shape
            per_pair = h * w * (c + 1) + 64
            buffer = len(rows) if mode == "memory" else max(
                1, min(len(rows), SHUFFLE_BYTES // per_pair))
            ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        return ds

    def _batches(self, rows, batch_size: int, *, train: bool, split: str,
                 image_augment: Any = None, keep_rows: bool = False) -> Any:
        from playground.data.segstream import batches

        return batches(self._pairs(rows, train=train, split=split), batch_size,
                       input_hw=self.input_hw, output_hw=self.output_hw, k_out=self.k_out,
                       joint=self.joint if train else None,
                       image_augment=image_augment if train else None, seed=self.config.seed,
                       keep_rows=keep_rows)

    def image_augmenter(self, pca: Any = None) -> Any:
        """The colour options as Keras layers for the image alone (None without any)."""
        from playground.data.augment import build_augmenter

        return build_augmenter(self.colour, self.shape, seed=self.config.seed, pca=pca)

    def pipelines(self, batch_size: int, augment, run_dir: str | None) -> tuple[Any, Any]:
        """(train, validation or None) of (float32 [0, 1] images, targets). ``augment``: the
        colour layers for the image (the run builds them; geometric ones are joint, here)."""
        from playground.data.stream import plan_cache, prefetch_to_device

        if self.streamed:
            h, w, c = self.shape
            # A cached element is the image and its mask: one more channel's worth of bytes.
            self.cache = plan_cache(self.n_train + self.n_val, (h, w, c + 1),
                                    getattr(self.config, "cache", "auto"),
                                    str(run_dir) if run_dir is not None else None)
            self.log(f"cache: {self.cache.reason}")
            if self.cache.mode == "memory":
                from playground.data.segstream import hold_mmap_threshold

                hold_mmap_threshold()   # decode temporaries must not pin heap around the cache
        if augment is None and self.colour:
            augment = self.image_augmenter()
        to_device = getattr(self.config, "strategy", "default") == "default"

        def finish(ds):
            return prefetch_to_device(ds) if to_device else ds.prefetch(2)

        train = finish(self._batches(self.split.train, batch_size, train=True, split="train",
                                     image_augment=augment))
        val = (finish(self._batches(self.split.val, batch_size, train=False, split="val"))
               if self.n_val else None)
        return train, val

    def ordered(self, batch_size: int):
        """Fixed order, no augmentation: arrays for an in-memory set, else pipelines."""
        if not self.streamed:
            def xy(rows):
                return self.x_all[rows], self._targets(self._masks_out(self.masks[rows]))
            x_tr, y_tr = xy(self.split.train)
            x_va, y_va = xy(self.split.val)
            return x_tr, y_tr, x_va, y_va
        val = (self._batches(self.split.val, batch_size, train=False, split="val")
               if self.n_val else None)
        return (self._batches(self.split.train, batch_size, train=False, split="ordered"),
                None, val, None)

    def _masks_out(self, masks: np.ndarray) -> np.ndarray:
        return resize_masks(np.asarray(masks), self.output_hw)

    def _targets(self, masks: np.ndarray) -> np.ndarray:
        return masks[..., None].astype(np.float32) if is_binary_head(self.k_out) else \
            masks.astype(np.int64)

    def probe(self, k: int):
        rows = (self.split.val if self.n_val else self.split.train)[:k]
        if not self.streamed:
            return self.x_all[rows], self._targets(self._masks_out(self.masks[rows]))
        x = self.data.decode(rows).astype(np.float32) / 255.0
        return x, self._targets(self._masks_out(self.data.decode_masks(rows)))

    def _skipped(self, path: str) -> None:
        if path not in self.skipped:
            self.skipped.append(path)
            if len(self.skipped) <= 5:
                self.log(f"skipped unreadable image or mask {path}")

    # ------------------------------------------------------------------ evaluation
    def evaluation(self, batch_size: int) -> Evaluation | None:
        """The held-out split (test, else validation). ``predict(model)`` returns whole
        arrays (small sets, callers of the classifier's interface); the run itself calls
        :meth:`evaluate`, which never holds more than a batch of probabilities."""
        if self.n_test:
            split, rows = "test", self.split.test
        elif self.n_val:
            split, rows = "validation", self.split.val
        else:
            return None

        def predict(model):
            probs, masks, seen = [], [], []
            for xb, mb, rb in self._eval_batches(rows, batch_size):
                probs.append(_first(model(xb, training=False)))
                masks.append(mb.numpy())
                seen.append(rb.numpy())
            return np.concatenate(probs), np.concatenate(masks), np.concatenate(seen)
        return Evaluation(split, "train", rows, len(rows), predict)

    def _eval_batches(self, rows, batch_size: int) -> Any:
        return self._batches(rows, batch_size, train=False, split="eval", keep_rows=True)

    def evaluate(self, model: Any, plan: Evaluation, batch_size: int) -> dict[str, Any]:
        """:func:`evaluate`'s figures gathered batch by batch over ``plan``'s rows, plus the
        worst images' pictures; ``evaluated_rows``: the rows that were read (a skipped file
        leaves its row out)."""
        from playground.tfimport import import_tensorflow
        from playground.training.segmetrics import MaskScores

        tf = import_tensorflow()
        # A batch's probabilities stay within EVAL_BYTES (K channels per pixel add up fast).
        per_image = self.output_hw[0] * self.output_hw[1] * max(1, self.k_out) * 4
        batch_size = max(1, min(batch_size, EVAL_BYTES // per_image))
        scores = MaskScores(self.data.num_classes)
        step = tf.function(lambda xb: model(xb, training=False), reduce_retracing=True)
        seen: list[np.ndarray] = []
        try:
            for xb, mb, rb in self._eval_batches(plan.rows, batch_size):
                scores.add(_first(step(xb)), mb.numpy())
                seen.append(rb.numpy())
        except tf.errors.OpError as exc:   # a held-out file that fails to decode: name it
            culprit = self.name_bad_file(exc, plan.rows)
            if culprit is None:
                raise
            from playground.data.base import DatasetError

            raise DatasetError(culprit) from None
        ev = scores.result(self.data.class_names, plan.split)
        ev.update(accuracy=ev["pixel_accuracy"], per_class=ev["iou"], wrong=[])
        rows = np.concatenate(seen) if seen else np.zeros(0, np.int64)
        ev["evaluated_rows"] = rows
        worst = rows[np.asarray(ev["worst"][:WORST_PICTURES], np.int64)]
        ev["worst_pictures"] = self.pictures(model, worst)
        return ev

    def pictures(self, model: Any, rows: np.ndarray) -> list[np.ndarray]:
        """Image | true mask | predicted mask strips of ``rows`` (a second, small pass)."""
        if not len(rows):
            return []
        if self.streamed:
            images = self.data.decode(rows)
            x = images.astype(np.float32) / 255.0
            masks = self.data.decode_masks(rows)
        else:
            images, x, masks = np.asarray(self.data.x[rows]), self.x_all[rows], self.masks[rows]
        probs = _first(model(x, training=False))
        return mask_strips(images, probs, self._masks_out(masks))

    def name_bad_file(self, exc: BaseException, rows=None) -> str | None:
        """After a decode error (in ``fit`` or the evaluation): "FILE: why; training stopped",
        found by a decode-only pass over the pairs (``rows`` to look in; default all)."""
        if not self.streamed:
            return None
        from playground.data.feeds import SKIP_HINT
        from playground.data.segstream import find_bad_pair

        self.log("an image or mask failed to decode; looking for it...")
        rows = np.arange(len(self.data.paths)) if rows is None else np.asarray(rows)
        found = find_bad_pair([self.data.paths[i] for i in rows],
                              [self.data.mask_paths[i] for i in rows], self.shape,
                              self.data.num_classes)
        if found is None:
            return None
        path, why = found
        return f"{path}: {why}; training stopped{SKIP_HINT}"

    def cleanup(self) -> None:
        if self.cache is not None:
            self.cache.cleanup()


def _first(out: Any) -> np.ndarray:
    return np.asarray(out[0] if isinstance(out, (list, tuple)) else out)


def evaluate(probs: np.ndarray, masks: np.ndarray, class_names: list[str],
             split: str) -> dict[str, Any]:
    """:func:`segmetrics.evaluate_masks` plus the keys every evaluation view reads
    (``accuracy`` = pixel accuracy, ``loss`` = mean per-pixel cross-entropy, ``per_class`` =
    IoU per class, ``wrong`` empty: the worst images are ``worst``, by IoU)."""
    from playground.training.segmetrics import evaluate_masks

    ev = evaluate_masks(np.asarray(probs, np.float64), masks, class_names, split)
    ev.update(accuracy=ev["pixel_accuracy"], per_class=ev["iou"], wrong=[])
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
EVAL_BYTES = 64 * 1024 ** 2   # per evaluation batch of per-pixel probabilities (float32)


def mask_strips(images: np.ndarray, probs: np.ndarray, masks: np.ndarray) -> list[np.ndarray]:
    """For the evaluation view: per image, one RGB uint8 strip of the image, the true mask
    over it and the predicted mask over it, side by side (a 2-pixel gap between)."""
    from playground.data.segdata import overlay_masks
    from playground.training.segmetrics import predicted_classes

    pred = predicted_classes(probs)
    strips = []
    for i in range(len(images)):
        image = np.asarray(images[i])[None]
        plain = overlay_masks(image, np.zeros(image.shape[:3], np.int64))[0]
        truth = overlay_masks(image, np.asarray(masks[i])[None])[0]
        guess = overlay_masks(image, pred[i][None])[0]
        gap = np.full((plain.shape[0], 2, 3), 255, np.uint8)
        strips.append(np.concatenate([plain, gap, truth, gap, guess], axis=1))
    return strips
