"""Adapting raw images to a model and feeding them: resize, colour, rescale, split, tf.data.

``preprocess`` is the one definition of "raw uint8 image -> model input" used for training data
and inside the exported SavedModel, so a served model sees exactly what training saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playground.data.base import Dataset, DatasetError

# ITU-R 601 luma, the weights tf.image.rgb_to_grayscale uses.
LUMA = (0.2989, 0.5870, 0.1140)


def preprocess(images, target_shape):
    """Raw images (any dtype, 0..255) -> float32 in [0, 1] at ``target_shape`` (H, W, C).

    Works on TensorFlow tensors (imports TF lazily); grayscale <-> RGB by tiling or luma weights.
    """
    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()

    h, w, c = (int(d) for d in target_shape)
    x = tf.cast(images, tf.float32)
    src_c = x.shape[-1]
    if src_c != c:
        if src_c == 1 and c == 3:
            x = tf.tile(x, [1, 1, 1, 3])
        elif src_c == 3 and c == 1:
            x = tf.reduce_sum(x * tf.constant(LUMA, tf.float32), axis=-1, keepdims=True)
        else:
            raise DatasetError(f"cannot convert {src_c}-channel images to the model's {c} "
                               "channels")
    if tuple(x.shape[1:3]) != (h, w):
        x = tf.image.resize(x, (h, w), method="bilinear")
    return x / 255.0


def adapt_array(x: np.ndarray, target_shape, chunk: int = 4096) -> np.ndarray:
    """``preprocess`` over a whole uint8 array in chunks (bounded memory), as float32 numpy."""
    h, w, c = (int(d) for d in target_shape)
    out = np.empty((len(x), h, w, c), dtype=np.float32)
    for start in range(0, len(x), chunk):
        out[start:start + chunk] = preprocess(x[start:start + chunk], (h, w, c)).numpy()
    return out


@dataclass
class Split:
    """Indices into the dataset for train/val/test, chosen with a seeded permutation."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_indices(n: int, val_split: float, test_split: float = 0.0, seed: int = 0,
                  labels: np.ndarray | None = None) -> Split:
    """Seeded split; with ``labels`` it is stratified so small sets keep every class in val."""
    if not 0.0 <= val_split < 1.0 or not 0.0 <= test_split < 1.0 or val_split + test_split >= 1:
        raise DatasetError(f"val split {val_split} + test split {test_split} must be in [0, 1)")
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c)
                                                   for c in np.unique(labels)]
    train, val, test = [], [], []
    for group in groups:
        perm = rng.permutation(group)
        n_val = int(round(len(perm) * val_split))
        n_test = int(round(len(perm) * test_split))
        val.append(perm[:n_val])
        test.append(perm[n_val:n_val + n_test])
        train.append(perm[n_val + n_test:])
    out = [np.sort(np.concatenate(g)).astype(np.int64) for g in (train, val, test)]
    if len(out[0]) == 0:
        raise DatasetError("the training split is empty; lower the validation/test split")
    return Split(*out)


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool, seed: int,
                 augment=None):
    """tf.data: slices -> cache -> (shuffle) -> batch -> (augment) -> prefetch.

    ``x`` is already adapted float32; augmentation layers run in the pipeline, so they are never
    part of the trained or exported model.
    """
    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()

    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if shuffle:
        ds = ds.shuffle(min(len(x), 10_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is not None:
        # One call at a time: the random layers draw from a seed generator whose state advances
        # per call, so a parallel map would make a seeded run unrepeatable (and can hand two
        # batches the same draw). Prefetch still overlaps it with the training step.
        ds = ds.map(lambda a, b: (augment(a, training=True), b))
    return ds.prefetch(tf.data.AUTOTUNE)


def dataset_summary(data: Dataset, target_shape) -> str:
    th, tw, tc = (int(d) for d in target_shape)
    if getattr(data, "streamed", False):
        return (f"{data.name}: streamed from disk: decode, resize to {th}x{tw}x{tc} (in "
                "parallel, cached), rescale 0..255 -> [0, 1]")
    h, w, c = data.image_shape
    steps = []
    if (h, w) != (th, tw):
        steps.append(f"resize {h}x{w} -> {th}x{tw}")
    if c != tc:
        steps.append("grayscale -> RGB" if c == 1 else "RGB -> grayscale")
    steps.append("rescale 0..255 -> [0, 1]")
    return f"{data.name}: " + ", ".join(steps)
