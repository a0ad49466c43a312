"""What a training run feeds the model, for both kinds of dataset, behind one interface.

In-memory datasets (digits, keras.datasets, ``.npz``) are adapted once to the model's input and
sliced, as before. File datasets (folders, CSV indexes) are streamed by
:mod:`playground.data.stream`: decoded per epoch or from the cache, never held whole. The runner
asks this object for the split sizes, the training/validation pipelines, a small telemetry probe,
the evaluation inputs and the class weights; it never touches ``dataset.x`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.data.adapt import split_indices

SKIP_HINT = " (to skip such files instead: --bad-images skip, or 'skip unreadable images')"


@dataclass
class Evaluation:
    """The after-training evaluation's inputs; ``predict(model)`` -> (probabilities, labels,
    rows of the source that were evaluated)."""

    split: str                 # "test" or "validation"
    source: str                # "train" (rows of dataset.x) or "test" (rows of dataset.x_test)
    rows: np.ndarray           # rows of the source
    size: int
    predict: Callable[[Any], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _first(out: Any) -> np.ndarray:
    return np.asarray(out[0] if isinstance(out, (list, tuple)) else out)


def class_weights(labels: np.ndarray, num_classes: int) -> dict[int, float]:
    """Balanced weights ``n / (k * count_c)`` (Keras' and scikit-learn's "balanced"); a class
    absent from the training split keeps weight 1."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    present = counts > 0
    k = int(present.sum())
    total = float(counts.sum())
    return {int(c): (total / (k * counts[c]) if present[c] else 1.0) for c in range(num_classes)}


class DataFeeds:
    """Split + pipelines of one run. ``log`` receives the split and per-class counts."""

    def __init__(self, dataset: Any, model_shape, config: Any, log: Callable[[str], None]):
        self.data, self.shape, self.config, self.log = dataset, tuple(model_shape), config, log
        self.streamed = bool(getattr(dataset, "streamed", False))
        has_test = getattr(dataset, "x_test", None) is not None
        self.split = split_indices(len(dataset.y), config.val_split,
                                   config.test_split if not has_test else 0.0,
                                   seed=config.seed, labels=dataset.y)
        self.has_own_test = has_test
        self.n_train, self.n_val = len(self.split.train), len(self.split.val)
        self.n_test = len(dataset.y_test) if has_test else len(self.split.test)
        self.cache = None
        self.skipped: list[str] = []
        if not self.streamed:
            from playground.data.adapt import adapt_array

            x_all = adapt_array(dataset.x, self.shape)
            self.x_train, self.x_val = x_all[self.split.train], x_all[self.split.val]
            self.x_test = (adapt_array(dataset.x_test, self.shape) if has_test
                           else x_all[self.split.test])
        y = dataset.y
        self.y_train, self.y_val = y[self.split.train], y[self.split.val]
        self.y_test = dataset.y_test if has_test else y[self.split.test]

    # ------------------------------------------------------------------ reporting
    def describe_split(self) -> list[str]:
        lines = [f"split: {self.n_train} train, {self.n_val} validation, {self.n_test} test "
                 f"(seed {self.config.seed})"]
        names = self.data.class_names
        if len(names) <= 20:
            for label, rows in (("train", self.y_train), ("validation", self.y_val)):
                if len(rows):
                    counts = np.bincount(rows, minlength=len(names))
                    lines.append(f"{label} per class: " + ", ".join(
                        f"{n} {c}" for n, c in zip(names, counts.tolist(), strict=True)))
        return lines

    def class_weight(self) -> dict[int, float]:
        return class_weights(self.y_train, self.data.num_classes)

    # ------------------------------------------------------------------ pipelines
    def pipelines(self, batch_size: int, augment, run_dir: str | None) -> tuple[Any, Any]:
        """(train dataset, validation dataset or None) of (float32 [0, 1] x, int labels)."""
        if not self.streamed:
            from playground.data.adapt import make_dataset

            train = make_dataset(self.x_train, self.y_train, batch_size, shuffle=True,
                                 seed=self.config.seed, augment=augment)
            val = (make_dataset(self.x_val, self.y_val, batch_size, shuffle=False,
                                seed=self.config.seed) if self.n_val else None)
            return train, val
        from playground.data.stream import make_feed, plan_cache

        self.cache = plan_cache(self.n_train + self.n_val, self.shape,
                                getattr(self.config, "cache", "auto"),
                                str(run_dir) if run_dir is not None else None)
        self.log(f"cache: {self.cache.reason}")
        policy = self.data.bad_images
        paths = self.data.paths
        # Distribution strategies place batches on their replicas themselves.
        to_device = getattr(self.config, "strategy", "default") == "default"
        train = make_feed([paths[i] for i in self.split.train], self.y_train, self.shape,
                          batch_size, train=True, seed=self.config.seed, policy=policy,
                          cache=self.cache, split="train", augment=augment,
                          on_skip=self._skipped, to_device=to_device).dataset
        val = None
        if self.n_val:
            val = make_feed([paths[i] for i in self.split.val], self.y_val, self.shape,
                            batch_size, train=False, seed=self.config.seed, policy=policy,
                            cache=self.cache, split="val", on_skip=self._skipped,
                            to_device=to_device).dataset
        return train, val

    def ordered(self, batch_size: int) -> tuple[Any, Any, Any, Any]:
        """``(x_train, y_train, x_val, y_val)`` in a fixed order, without augmentation, for one
        pass over the images (the feature cache): arrays, or for a streamed set ``tf.data``
        pipelines of (images, labels) batches with ``y_*`` None."""
        if not self.streamed:
            return self.x_train, self.y_train, self.x_val, self.y_val
        from playground.data.stream import make_feed

        paths = self.data.paths

        def feed(rows: np.ndarray, labels: np.ndarray, split: str) -> Any:
            return make_feed([paths[i] for i in rows], labels, self.shape, batch_size,
                             train=False, seed=self.config.seed, policy=self.data.bad_images,
                             split=split, on_skip=self._skipped, to_device=False).dataset

        val = feed(self.split.val, self.y_val, "val") if self.n_val else None
        return feed(self.split.train, self.y_train, "train"), None, val, None

    def _skipped(self, path: str) -> None:
        if path not in self.skipped:
            self.skipped.append(path)
            if len(self.skipped) <= 5:
                self.log(f"skipped unreadable image {path}")

    def probe(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` adapted validation (else training) samples for the telemetry."""
        rows, labels = ((self.split.val, self.y_val) if self.n_val
                        else (self.split.train, self.y_train))
        pick = np.arange(min(k, len(rows)))
        if not self.streamed:
            x = self.x_val if self.n_val else self.x_train
            return x[pick], labels[pick]
        from playground.data.base import DatasetError
        from playground.data.stream import decode_many

        paths = [self.data.paths[int(r)] for r in rows[pick]]
        try:
            raw, kept = decode_many(paths, self.shape, skip=self.data.bad_images == "skip")
        except DatasetError as exc:
            raise DatasetError(f"{exc}{SKIP_HINT}") from None
        pick = pick[kept]
        return raw.astype(np.float32) / 255.0, labels[pick]

    def evaluation(self, batch_size: int) -> Evaluation | None:
        if self.n_test:
            split, x, y = "test", (None if self.streamed else self.x_test), self.y_test
            source = "test" if self.has_own_test else "train"
            rows = np.arange(self.n_test) if self.has_own_test else self.split.test
        elif self.n_val:
            split, x, y, source, rows = ("validation", None if self.streamed else self.x_val,
                                         self.y_val, "train", self.split.val)
        else:
            return None
        if not self.streamed:
            def predict(model):
                probs = _first(model.predict(x, batch_size=batch_size, verbose=0))
                return probs, y, rows
            return Evaluation(split, source, rows, len(y), predict)

        def predict_stream(model):
            from playground.data.stream import make_feed
            from playground.tfimport import import_tensorflow

            tf = import_tensorflow()
            # Rows travel as the "labels" so that a skipped file cannot shift the others.
            feed = make_feed([self.data.paths[i] for i in rows], np.arange(len(rows)),
                             self.shape, batch_size, train=False, seed=0,
                             policy=self.data.bad_images, on_skip=self._skipped)
            step = tf.function(lambda xb: model(xb, training=False), reduce_retracing=True)
            probs, seen = [], []
            try:
                for xb, rb in feed.dataset:
                    probs.append(_first(step(xb)))
                    seen.append(rb.numpy())
            except tf.errors.OpError as exc:  # a test image that fails to decode: name it
                culprit = self.name_bad_file(exc, [self.data.paths[i] for i in rows])
                if culprit is None:
                    raise
                from playground.data.base import DatasetError

                raise DatasetError(culprit) from None
            got = np.concatenate(seen) if seen else np.zeros(0, np.int64)
            return (np.concatenate(probs) if probs else np.zeros((0, self.data.num_classes)),
                    y[got], rows[got])
        return Evaluation(split, source, rows, len(rows), predict_stream)

    def name_bad_file(self, exc: BaseException, paths: list[str] | None = None) -> str | None:
        """After a decode error inside ``fit`` (or the evaluation): "FILE: why", found by a
        decode-only pass over ``paths`` (default: the whole dataset)."""
        if not self.streamed:
            return None
        from playground.data.stream import find_bad_files

        self.log("an image failed to decode; looking for it...")
        found = find_bad_files(paths if paths is not None else self.data.paths, self.shape,
                               limit=1)
        if not found:
            return None
        path, why = found[0]
        return f"{path}: {why}; training stopped{SKIP_HINT}"

    def cleanup(self) -> None:
        if self.cache is not None:
            self.cache.cleanup()
