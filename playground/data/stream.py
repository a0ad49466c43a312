"""The ``tf.data`` pipeline of a file dataset: read -> decode -> resize in parallel, cache within a
memory budget (else a file in the run folder, else none), shuffle, batch, rescale, augment,
prefetch to the device.

Decoding uses TensorFlow's own decoders (PNG, JPEG, BMP, GIF first frame, WebP), never an
external program; every file was already identified by its content when the folder or CSV was
scanned. A file that fails to decode during an epoch (changed, truncated or corrupt past its
header) is caught per element: with ``bad_images="stop"`` the run stops with an error naming the
file (:func:`find_bad_files`), with ``"skip"`` it is dropped and named in the log.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground.data.base import DatasetError
from playground.data.memory import available_memory

CACHE_MODES = ("auto", "memory", "file", "none")
# "auto" keeps an in-memory cache small so that peak memory stays flat as the folder grows; the
# file cache in the run folder is read back from the OS page cache, which is nearly as fast and
# is not the process's memory.
AUTO_MEMORY_CAP = 256 * 1024 ** 2
DISK_MARGIN = 1024 ** 3
SHUFFLE_BYTES = 64 * 1024 ** 2  # shuffle buffer after a file cache
PREFETCH_BATCHES = 2
LUMA = (0.2989, 0.5870, 0.1140)


def _tf():
    from playground.tfimport import import_tensorflow

    return import_tensorflow()


def decode_resize(contents, shape):
    """Encoded bytes -> uint8 H x W x C (bilinear resize, luma for 1 channel). Graph-safe."""
    tf = _tf()
    h, w, c = (int(d) for d in shape)
    img = tf.io.decode_image(contents, channels=3, expand_animations=False, dtype=tf.uint8)
    img.set_shape([None, None, 3])
    x = tf.image.resize(img, (h, w), method="bilinear")
    if c == 1:
        x = tf.reduce_sum(x * tf.constant(LUMA, tf.float32), axis=-1, keepdims=True)
    return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)


def decode_files(paths: list[str], shape, skip: bool = False) -> np.ndarray:
    """Eagerly decode a few files (preview, evaluation view, telemetry probe); an undecodable
    file raises a DatasetError naming it, or with ``skip`` is left out."""
    from playground.data.sniff import BadImage, NotAnImage, corrupt, identify, refusal

    tf = _tf()
    out = []
    for path in paths:
        try:
            identify(path)
            out.append(decode_resize(tf.io.read_file(os.fsencode(path)), shape).numpy())
        except (NotAnImage, BadImage) as exc:
            if not skip:
                raise DatasetError(f"{path}: {refusal(exc)}") from None
        except (tf.errors.OpError, ValueError) as exc:
            if not skip:
                raise DatasetError(f"{path}: {corrupt(tf_reason(exc))}") from None
    if not out:
        return np.zeros((0, *(int(d) for d in shape)), dtype=np.uint8)
    return np.stack(out)


def decode_many(paths: list[str], shape, skip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Decode a sample of files in parallel through the pipeline's own decoder (the telemetry
    probe, the PCA sample): (uint8 images, indices into ``paths`` that decoded). Without
    ``skip`` an undecodable file raises a DatasetError naming it."""
    h, w, c = (int(d) for d in shape)
    if not paths:
        return np.zeros((0, h, w, c), np.uint8), np.zeros(0, np.int64)
    ds = _decoded(_file_list(paths, np.arange(len(paths))), shape, "skip", lambda p: None)
    images, rows = [], []
    for img, row in ds.batch(256):
        images.append(img.numpy())
        rows.append(row.numpy())
    got = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    if not skip and len(got) < len(paths):
        missing = sorted(set(range(len(paths))) - set(got.tolist()))
        decode_files([paths[missing[0]]], shape)  # raises, naming the file
    if not images:
        return np.zeros((0, h, w, c), np.uint8), got
    return np.concatenate(images), got


def tf_reason(exc: BaseException) -> str:
    """The readable part of a TensorFlow op error ("Invalid PNG data, size 79")."""
    text = getattr(exc, "message", None) or str(exc)
    text = re.sub(r"\{\{[^}]*\}\}", "", text)
    text = re.sub(r"\[Op:[^\]]*\].*", "", text, flags=re.DOTALL)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[0][:200] if lines else type(exc).__name__).rstrip(" .")


# ---------------------------------------------------------------------------------- cache
@dataclass
class CachePlan:
    mode: str                 # "memory", "file" or "none"
    reason: str
    folder: str | None = None
    files: list[str] = field(default_factory=list)

    def prefix(self, split: str) -> str | None:
        if self.mode != "file" or self.folder is None:
            return None
        path = os.path.join(self.folder, f".cache-{split}-{os.getpid()}")
        self.files.append(path)
        return path

    def cleanup(self) -> None:
        """Remove this run's cache files (TF writes PREFIX.index, PREFIX_*.data*, .lockfile)."""
        for prefix in self.files:
            folder, base = os.path.split(prefix)
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                if name.startswith(base):
                    try:
                        os.remove(os.path.join(folder, name))
                    except OSError:
                        pass


def plan_cache(n_images: int, shape, mode: str = "auto", run_dir: str | None = None,
               memory: int | None = None) -> CachePlan:
    """Where the decoded, resized uint8 images are kept between epochs, and why."""
    if mode not in CACHE_MODES:
        raise DatasetError(f"cache {mode!r}: choose one of {', '.join(CACHE_MODES)}")
    h, w, c = (int(d) for d in shape)
    need = n_images * (h * w * c + 64)
    mib = need / 1024 ** 2
    if mode == "none":
        return CachePlan("none", "cache off (decoded every epoch)")
    budget = (memory if memory is not None else available_memory()) // 4
    limit = budget if mode == "memory" else min(budget, AUTO_MEMORY_CAP)
    if mode in ("auto", "memory") and need <= limit:
        return CachePlan("memory", f"decoded images cached in memory ({mib:.0f} MiB, budget "
                                   f"{limit / 1024 ** 2:.0f} MiB)")
    over = f"{mib:.0f} MiB over the memory budget of {limit / 1024 ** 2:.0f} MiB"
    if run_dir is None:
        return CachePlan("none", f"no cache ({over}; no run folder for a cache file)")
    try:
        free = shutil.disk_usage(run_dir).free
    except OSError:
        free = 0
    if free < need + DISK_MARGIN:
        return CachePlan("none", f"no cache ({over}; {free / 1024 ** 3:.1f} GiB free on disk)")
    remove_stale_caches(str(run_dir))
    why = f"{mib:.0f} MiB" if mode == "file" else over
    return CachePlan("file", f"decoded images cached in a file in the run folder ({why})",
                     folder=str(run_dir))


def remove_stale_caches(folder: str) -> list[str]:
    """Cache files (``.cache-SPLIT-PID*``) a killed run left in its run folder: removed when
    that process is gone (TensorFlow would refuse a cache whose lock file remains)."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = re.match(r"\.cache-\w+-(\d+)", name)
        if not match or _alive(int(match.group(1))):
            continue
        try:
            os.remove(os.path.join(folder, name))
            removed.append(name)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


# ------------------------------------------------------------------------------ pipeline
@dataclass
class Feed:
    """One split as a ``tf.data`` pipeline of (float32 [0, 1] batches, labels)."""

    dataset: Any
    size: int
    labels: np.ndarray


def path_values(paths: list[str]) -> np.ndarray:
    """File names as TensorFlow string values: the bytes the file system holds. A name that is
    not UTF-8 (``caf\xe9.jpg`` from a Latin-1 archive; Python lists it with a surrogate escape)
    cannot be converted by TensorFlow as ``str`` and failed the whole run."""
    values = [os.fsencode(p) for p in paths]
    return np.array(values, dtype=object) if values else np.zeros(0, dtype="S1")


def _file_list(paths: list[str], labels: np.ndarray):
    tf = _tf()
    return tf.data.Dataset.from_tensor_slices((path_values(paths),
                                               np.asarray(labels, dtype=np.int64)))


def _decoded(files, shape, policy: str, on_skip: Callable[[str], None]):
    """(path, label) -> (uint8 image, label), in order, decoded in parallel (AUTOTUNE).

    ``stop``: a plain parallel map, as fast as Keras' own loader; a file that fails raises, and
    the runner names it with :func:`find_bad_files`. ``skip``: each file is decoded in its own
    one-element dataset so that a failure is dropped and its name reported as it happens.
    """
    tf = _tf()
    if policy == "skip":
        return files.interleave(lambda p, y: _decoded_one(p, y, shape, on_skip),
                                cycle_length=tf.data.AUTOTUNE, block_length=1,
                                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return files.map(lambda p, y: (decode_resize(tf.io.read_file(p), shape), y),
                     num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def find_bad_files(paths: list[str], shape, limit: int = 5) -> list[tuple[str, str]]:
    """After a decode error in an epoch: which files fail, and why (a decode-only pass)."""
    found: list[str] = []
    files = _file_list(paths, np.zeros(len(paths), np.int64))
    for _ in _decoded(files, shape, "skip", found.append):
        if len(found) >= limit:
            break
    out = []
    for path in found[:limit]:
        try:
            decode_files([path], shape)
            out.append((path, "could not be decoded"))
        except DatasetError as exc:
            out.append((path, str(exc)[len(path) + 2:]))
    return out


def _to_float(images, labels):
    tf = _tf()
    return tf.cast(images, tf.float32) / 255.0, labels


def prefetch_to_device(ds, device: str | None = None):
    """Last step: prefetch onto the GPU when there is one (or onto ``device``), else on host."""
    tf = _tf()
    if device is None:
        gpus = tf.config.list_logical_devices("GPU")
        device = gpus[0].name if gpus else None
    if device is None:
        return ds.prefetch(PREFETCH_BATCHES)
    return ds.apply(tf.data.experimental.prefetch_to_device(device,
                                                            buffer_size=PREFETCH_BATCHES))


def make_feed(paths: list[str], labels: np.ndarray, shape, batch_size: int, *, train: bool,
              seed: int, policy: str = "stop", cache: CachePlan | None = None,
              split: str = "train", augment=None, on_skip: Callable[[str], None] | None = None,
              device: str | None = None, to_device: bool = True) -> Feed:
    """A split's pipeline. Training: files in a seeded order -> decode -> cache -> shuffle ->
    batch -> rescale -> augment -> prefetch; without a cache the file list itself is reshuffled
    every epoch (a full shuffle at no memory cost)."""
    h, w, c = (int(d) for d in shape)
    labels = np.asarray(labels, dtype=np.int64)
    skip = on_skip or (lambda path: None)
    order = np.arange(len(paths))
    mode = cache.mode if cache is not None else "none"
    if train:
        order = np.random.default_rng(seed).permutation(len(paths))
    paths = [paths[i] for i in order]
    labels = labels[order]
    files = _file_list(paths, labels)
    if train and mode == "none":
        # Shuffle names, not pixels: the whole list, every epoch, for a few bytes per file.
        files = files.shuffle(max(1, len(paths)), seed=seed, reshuffle_each_iteration=True)
    ds = _decoded(files, shape, policy, skip)
    if not (train and mode == "none"):
        if mode == "memory":
            ds = ds.cache()
        elif mode == "file":
            ds = ds.cache(cache.prefix(split))
        if train:
            per_image = h * w * c + 64
            buffer = len(paths) if mode == "memory" else max(
                batch_size, min(len(paths), SHUFFLE_BYTES // per_image))
            ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    # Float batches are big (64 x 224 x 224 x 3 x 4 bytes = 38 MB): one cheap map and a fixed
    # prefetch keep their number fixed, so memory does not drift with the length of the run.
    ds = ds.batch(batch_size).map(_to_float)
    if augment is not None:
        # One call at a time: the random layers' seed generator advances per call (see adapt).
        ds = ds.map(lambda a, b: (augment(a, training=True), b))
    ds = prefetch_to_device(ds, device) if to_device else ds.prefetch(PREFETCH_BATCHES)
    return Feed(ds, len(paths), labels)


def _decoded_one(path, label, shape, on_skip):
    """One file as a one-element dataset whose decode error is dropped (``ignore_errors`` on
    this file alone) and its path handed to ``on_skip``."""
    tf = _tf()
    h, w, c = (int(d) for d in shape)
    good = tf.data.Dataset.from_tensors(path).map(
        lambda p: (decode_resize(tf.io.read_file(p), shape), True)).ignore_errors()
    bad = tf.data.Dataset.from_tensors((tf.zeros((h, w, c), tf.uint8), False))

    def record(p):
        on_skip(os.fsdecode(p.numpy()))   # the name as os.walk gave it
        return False

    ds = good.concatenate(bad).take(1).filter(lambda img, ok: tf.cond(
        ok, lambda: tf.constant(True), lambda: tf.py_function(record, [path], tf.bool)))
    return ds.map(lambda img, ok: (img, label))


def sample_rows(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Up to ``k`` rows, seeded, spread over the classes (preview, telemetry probe)."""
    rng = np.random.default_rng(seed)
    if len(labels) <= k:
        return np.arange(len(labels))
    return np.sort(rng.choice(len(labels), size=k, replace=False))
