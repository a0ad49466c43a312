"""The ``tf.data`` pipelines of a segmentation set: (image, mask) pairs in, batches out.

Pairs come from arrays (the built-in ``shapes``) or from files (:class:`~playground.data.
segfiles.SegFileDataset`), where they are read, decoded and resized in parallel, cached within
the run's budget (:func:`playground.data.stream.plan_cache`: memory, else a file in the run
folder, else none) and shuffled exactly as classification folders are; images through
TensorFlow's decoders (:func:`playground.data.stream.decode_resize`), masks through
:func:`playground.data.segfiles.decode_mask` (nearest neighbour). Batches are then rescaled,
augmented (geometric options on image and mask together, colour ones on the image only), the
masks brought to the model output's size (nearest neighbour) and given the loss's form.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from playground.data.segfiles import nearest_rows_cols


def _tf():
    from playground.tfimport import import_tensorflow

    return import_tensorflow()


M_MMAP_THRESHOLD = -3        # glibc's mallopt parameter
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, then held fixed


def hold_mmap_threshold() -> bool:
    """Keep glibc's mmap threshold at 128 KiB for the rest of the process (Linux/glibc; else
    nothing). Why: by default glibc raises the threshold as large blocks are freed, so the
    decoders' large temporaries (a 500x375 RGB image, its float resize) then come from the heap,
    between the small decoded pairs the in-memory cache keeps; the heap cannot shrink around
    them, and the process grew ~2.3x the cache's size (6,000 pairs: a 188 MiB cache cost
    433 MiB). With the threshold held, those temporaries are mapped and unmapped on their own
    (measured: 1,031 -> 832 MiB for the same pipeline). Returns whether it was applied."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False


def decode_mask_op(path: Any, size: tuple[int, int], num_classes: int) -> Any:
    """Graph op: a mask file's class indices (uint8 H x W) at ``size``; a bad file raises an
    op error whose text names it (found again by :func:`find_bad_pair`)."""
    tf = _tf()
    from playground.data.segfiles import decode_mask

    def decode(raw: bytes) -> np.ndarray:
        return decode_mask(raw.decode("utf-8", "surrogateescape"), size, num_classes)

    mask = tf.numpy_function(decode, [path], tf.uint8, stateful=False)
    mask.set_shape(size)
    return mask


def file_pairs(images: list[str], masks: list[str], rows: np.ndarray) -> Any:
    from playground.data.stream import path_values

    tf = _tf()
    return tf.data.Dataset.from_tensor_slices((path_values(images), path_values(masks),
                                               np.asarray(rows, np.int64)))


def decoded_pairs(files: Any, shape, num_classes: int, policy: str = "stop",
                  on_skip: Callable[[str], None] | None = None) -> Any:
    """(image path, mask path, row) -> (uint8 image, uint8 mask, row), in order, in parallel.

    ``stop``: a plain parallel map; a pair that fails raises (the run names it with
    :func:`find_bad_pair`). ``skip``: each pair is decoded in its own one-element dataset, so a
    failure is dropped and its image named to ``on_skip`` as it happens.
    """
    tf = _tf()
    from playground.data.stream import decode_resize

    h, w, c = (int(d) for d in shape)

    def both(image, mask):
        return decode_resize(tf.io.read_file(image), shape), decode_mask_op(mask, (h, w),
                                                                              num_classes)

    if policy != "skip":
        return files.map(lambda p, m, r: (*both(p, m), r), num_parallel_calls=tf.data.AUTOTUNE,
                         deterministic=True)
    report = on_skip or (lambda path: None)

    def one(image, mask, row):
        good = tf.data.Dataset.from_tensors((image, mask)).map(
            lambda p, m: (*both(p, m), True)).ignore_errors()
        bad = tf.data.Dataset.from_tensors((tf.zeros((h, w, c), tf.uint8),
                                            tf.zeros((h, w), tf.uint8), False))

        def record(p):
            report(os.fsdecode(p.numpy()))   # the name as the scan listed it
            return False

        ds = good.concatenate(bad).take(1).filter(lambda a, b, ok: tf.cond(
            ok, lambda: tf.constant(True), lambda: tf.py_function(record, [image], tf.bool)))
        return ds.map(lambda a, b, ok: (a, b, row))

    return files.interleave(one, cycle_length=tf.data.AUTOTUNE, block_length=1,
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def find_bad_pair(images: list[str], masks: list[str], shape, num_classes: int
                  ) -> tuple[str, str] | None:
    """After a decode error: the first pair that fails, as (file, why), by a decode-only pass."""
    from playground.data.base import DatasetError
    from playground.data.segfiles import decode_mask
    from playground.data.stream import decode_files

    size = (int(shape[0]), int(shape[1]))
    for image, mask in zip(images, masks, strict=True):
        for path, decode in ((image, lambda p: decode_files([p], shape)),
                             (mask, lambda p: decode_mask(p, size, num_classes))):
            try:
                decode(path)
            except DatasetError as exc:
                text = str(exc)
                return path, text[len(path) + 2:] if text.startswith(path) else text
    return None


def target_form(masks: Any, k_out: int) -> Any:
    """Masks as the loss wants them: N x H x W x 1 floats for one sigmoid channel, else int64."""
    tf = _tf()
    return tf.cast(masks[..., None], tf.float32) if k_out == 1 else tf.cast(masks, tf.int64)


def batches(pairs: Any, batch_size: int, *, input_hw: tuple[int, int],
            output_hw: tuple[int, int], k_out: int | None, joint: list[str] | None = None,
            image_augment: Any = None, seed: int = 0, keep_rows: bool = False) -> Any:
    """Batched pairs -> (float32 [0, 1] images, targets) (or with ``keep_rows`` (images, uint8
    masks, rows) for the evaluation): rescale, joint geometric augmentation, colour
    augmentation of the image, masks to the output's size, the loss's form (``k_out``)."""
    tf = _tf()
    from playground.data.joint_augment import apply_joint

    rows_idx, cols_idx = nearest_rows_cols(input_hw, output_hw)
    resize = tuple(input_hw) != tuple(output_hw)

    def step(x, m, r):
        x = tf.cast(x, tf.float32) / 255.0 if x.dtype == tf.uint8 else x
        if joint:
            x, m = apply_joint(x, m, joint, seed)
        if image_augment is not None:
            x = image_augment(x, training=True)
        if resize:
            m = tf.gather(tf.gather(m, rows_idx, axis=1), cols_idx, axis=2)
        if keep_rows:
            return x, m, r
        return x, target_form(m, k_out or 2)

    return pairs.batch(batch_size).map(step)
