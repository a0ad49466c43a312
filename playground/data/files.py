"""A dataset of image files on disk (a class folder or a CSV index), read lazily.

The scan (this module, :mod:`playground.data.folder`, :mod:`playground.data.csv_index`) only
lists files and checks their headers; images are decoded later, in the ``tf.data`` pipeline
(:mod:`playground.data.stream`), so memory does not grow with the number of files. The object
keeps the interface of :class:`playground.data.dataset.Dataset` that the app relies on:
``name``, ``class_names`` (the export puts them into the SavedModel), ``num_classes``, ``y``,
``x`` (a lazy view: ``x[rows]`` and ``x[i]`` decode only those images), ``image_shape``,
``x_test``/``y_test`` (None), ``notes``, ``skipped``, ``describe()``, ``subset()``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from playground.data.base import DatasetError
from playground.data.sniff import BadImage, ImageInfo, NotAnImage, identify, refusal

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")
BAD_IMAGE_POLICIES = ("stop", "skip")
NAMES_IN_LOG = 5  # first names listed per kind of skipped file

Progress = Callable[[str], None]


@dataclass
class Problems:
    """Files passed over during a scan, by reason, for the run log."""

    by_reason: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, path: str) -> None:
        self.by_reason.setdefault(reason, []).append(path)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_reason.values())

    def notes(self, root: str) -> list[str]:
        lines = []
        for reason, paths in self.by_reason.items():
            shown = ", ".join(paths[:NAMES_IN_LOG]) + (", ..." if len(paths) > NAMES_IN_LOG
                                                        else "")
            lines.append(f"{root}: skipped {len(paths)} {reason}: {shown}")
        return lines


MACOS_FOLDER = "__MACOSX"   # a zip made on a Mac: the resource forks of its files, no class


def macos_metadata(name: str) -> bool:
    """Whether a folder entry is macOS bookkeeping, never a picture: an AppleDouble file
    (``._photo.jpg``, the resource fork a Mac writes beside each file on other disks and into
    zips) or the ``__MACOSX`` folder of an unzipped archive."""
    return name.startswith("._") or name == MACOS_FOLDER


def check_image(path: str, policy: str, problems: Problems, where: str = "") -> ImageInfo | None:
    """Header check of one listed image: its info, or None when skipped (policy ``skip``);
    policy ``stop`` raises a DatasetError naming the file (and ``where``, e.g. a CSV line)."""
    try:
        return identify(path)
    except (NotAnImage, BadImage) as exc:
        if policy == "skip":
            problems.add("unreadable or non-image file(s)", f"{path} ({exc})")
            return None
        hint = " (to skip such files instead: --bad-images skip, or 'skip unreadable images')"
        raise DatasetError(f"{path}{where}: {refusal(exc)}{hint}") from None


def inside(path: str, root_real: str) -> bool:
    """Whether ``path`` resolves to a place inside ``root_real`` (symlinks followed)."""
    real = os.path.realpath(path)
    try:
        return os.path.commonpath([real, root_real]) == root_real
    except ValueError:
        return False


class LazyImages:
    """``x`` of a file dataset: indexing decodes only the rows asked for (uint8 H x W x C).

    ``x[rows]`` with an array of rows returns another lazy view (nothing decoded), ``x[i]`` one
    image, ``np.asarray(view)`` the view's images; ``len``, ``shape`` and ``dtype`` work without
    decoding. The preview and the evaluation view use it to show a few samples of a big set.
    """

    def __init__(self, data: FileDataset, rows: np.ndarray | None = None) -> None:
        self._data = data
        self._rows = np.arange(len(data.paths)) if rows is None else rows

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self._rows), *self._data.image_shape)

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            row = int(self._rows[key])
            return self._data.decode([row])[0]
        return LazyImages(self._data, self._rows[key])

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        out = self._data.decode(self._rows)
        return out if dtype is None else out.astype(dtype)


class ImageFiles:
    """What a dataset of image files decoded at one size offers besides its labels (shared by
    :class:`FileDataset` and :class:`playground.data.segfiles.SegFileDataset`). Needs
    ``paths``, ``class_names``, ``image_size``, ``channels`` and a ``_kept`` dict."""

    paths: list[str]
    class_names: list[str]
    image_size: tuple[int, int]
    channels: int
    _kept: dict

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (int(self.image_size[0]), int(self.image_size[1]), int(self.channels))

    def decode(self, rows) -> np.ndarray:
        """The images at ``rows`` as one uint8 array (eager TensorFlow, same ops as training);
        rows kept by :meth:`keep_decoded` come from memory."""
        rows = [int(r) for r in rows]
        todo = [r for r in rows if r not in self._kept]
        if todo:
            from playground.data.stream import decode_files

            fresh = dict(zip(todo, decode_files([self.paths[r] for r in todo],
                                                self.image_shape), strict=True))
        else:
            fresh = {}
        if not rows:
            return np.zeros((0, *self.image_shape), np.uint8)
        return np.stack([self._kept[r] if r in self._kept else fresh[r] for r in rows])

    def keep_decoded(self, rows, limit: int = 64) -> None:
        """Decode a few rows now (the worker thread, after a run) so that the evaluation view
        shows them without decoding on the UI thread; at most ``limit`` are kept."""
        rows = [int(r) for r in rows][:limit]
        images = self.decode(rows) if rows else []
        self._kept = dict(zip(rows, images, strict=True))


@dataclass
class FileDataset(ImageFiles):
    """Image files with integer labels; decoded at ``image_size`` with ``channels`` channels."""

    name: str
    source: str                      # the folder or CSV file
    paths: list[str]
    y: np.ndarray
    class_names: list[str]
    image_size: tuple[int, int] = (224, 224)
    channels: int = 3
    notes: list[str] = field(default_factory=list)
    skipped: int = 0
    bad_images: str = "stop"
    x_test: None = None
    y_test: None = None
    _kept: dict = field(default_factory=dict, repr=False)
    streamed = True                  # runner: feed through playground.data.stream

    @property
    def x(self) -> LazyImages:
        return LazyImages(self)

    def class_counts(self, rows: np.ndarray | None = None) -> list[int]:
        labels = self.y if rows is None else self.y[rows]
        return np.bincount(labels, minlength=self.num_classes).tolist()

    def counts_line(self, rows: np.ndarray | None = None) -> str:
        counts = self.class_counts(rows)
        return ", ".join(f"{n} {c}" for n, c in zip(self.class_names, counts, strict=True))

    def describe(self) -> str:
        h, w, c = self.image_shape
        return (f"{self.name}: {len(self.paths)} images (decoded at {h}x{w}x{c}), "
                f"{self.num_classes} classes")

    def subset(self, classes: list[int], name: str | None = None) -> FileDataset:
        """Only the files of ``classes``, relabelled 0..len(classes)-1."""
        lookup = {c: i for i, c in enumerate(classes)}
        keep = np.flatnonzero(np.isin(self.y, classes))
        return FileDataset(name or f"{self.name}[{','.join(map(str, classes))}]", self.source,
                           [self.paths[i] for i in keep],
                           np.array([lookup[int(self.y[i])] for i in keep], dtype=np.int64),
                           [self.class_names[c] for c in classes], self.image_size,
                           self.channels, list(self.notes), 0, self.bad_images)


def check_classes(source: str, class_names: list[str], labels: list[int]) -> None:
    """At least two classes, none of them empty; errors name the source and the classes."""
    if not labels:
        raise DatasetError(f"{source}: no images found ({', '.join(IMAGE_EXTENSIONS)})")
    if len(class_names) < 2:
        raise DatasetError(f"{source}: only one class ({class_names[0]}); a classifier needs "
                           "at least two")
    counts = Counter(labels)
    empty = [c for i, c in enumerate(class_names) if counts[i] == 0]
    if empty:
        raise DatasetError(f"{source}: class(es) {', '.join(empty)} hold no images")
