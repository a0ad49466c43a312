"""The in-memory dataset every loader returns, and the dispatcher from a ``--dataset`` value.

Raw images stay uint8 at their own size: adapting them to a model (resize, colour, rescale) is a
separate step so the exported model can carry that step inside its serving signature.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from playground.core.errors import PlaygroundError

BUILTIN = ("digits", "mnist", "fashion_mnist", "cifar10", "shapes")


class DatasetError(PlaygroundError):
    """A dataset that cannot be used; the message names the file, folder or array at fault."""


@dataclass
class Dataset:
    """Images ``x`` (uint8, N x H x W x C), labels ``y`` (int64, N), and where they came from.

    ``x_test``/``y_test`` hold a test split the source ships (keras.datasets) or None.
    ``notes`` are lines for the run log (files skipped, conversions made).
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    skipped: int = 0  # stray non-image files passed over (folders)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x.shape[1:])  # type: ignore[return-value]

    def describe(self) -> str:
        h, w, c = self.image_shape
        test = f", {len(self.x_test)} test" if self.x_test is not None else ""
        return (f"{self.name}: {len(self.x)} images {h}x{w}x{c}{test}, "
                f"{self.num_classes} classes")

    def subset(self, classes: list[int], name: str | None = None) -> Dataset:
        """Only the samples of ``classes``, relabelled 0..len(classes)-1 (transfer experiments)."""
        lookup = {c: i for i, c in enumerate(classes)}

        def pick(x: np.ndarray | None, y: np.ndarray | None):
            if x is None or y is None:
                return None, None
            mask = np.isin(y, classes)
            return x[mask], np.array([lookup[int(v)] for v in y[mask]], dtype=np.int64)

        x, y = pick(self.x, self.y)
        xt, yt = pick(self.x_test, self.y_test)
        return Dataset(name or f"{self.name}[{','.join(map(str, classes))}]", x, y,
                       [self.class_names[c] for c in classes], xt, yt, list(self.notes))


def validate_arrays(x: np.ndarray, y: np.ndarray, source: str,
                    num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Check and normalise image/label arrays; errors name ``source`` and the offending index."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise DatasetError(f"{source}: x must be images N x H x W (x C with C = 1, 3 or 4), "
                           f"got shape {tuple(x.shape)}")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise DatasetError(f"{source}: y must hold one label per image ({len(x)}), "
                           f"got shape {tuple(y.shape)}")
    if len(x) == 0:
        raise DatasetError(f"{source}: the dataset is empty")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y)) \
                or not np.all(y == np.round(y)):
            bad = _first_bad_label(y)
            raise DatasetError(f"{source}: labels must be whole numbers; y[{bad}] = {y[bad]!r}")
    y = y.astype(np.int64)
    if np.issubdtype(x.dtype, np.floating):
        finite = np.isfinite(x).reshape(len(x), -1).all(axis=1)
        if not finite.all():
            bad = int(np.argmin(finite))
            raise DatasetError(f"{source}: image x[{bad}] contains NaN or infinite values")
        hi = float(x.max())
        if float(x.min()) < 0:
            raise DatasetError(f"{source}: pixel values must be 0..255 or 0..1; the minimum is "
                               f"{float(x.min())}")
        scale = 255.0 if hi <= 1.0 else 1.0
        x = np.clip(np.rint(x * scale), 0, 255).astype(np.uint8)
    elif x.dtype != np.uint8:
        if x.min() < 0 or x.max() > 255:
            raise DatasetError(f"{source}: pixel values must lie in 0..255, found "
                               f"{int(x.min())}..{int(x.max())}")
        x = x.astype(np.uint8)
    if x.shape[-1] == 4:
        x = x[..., :3]
    if y.min() < 0 or (num_classes is not None and y.max() >= num_classes):
        bad = int(np.argmax((y < 0) | (y >= (num_classes or np.iinfo(np.int64).max))))
        limit = f"0..{num_classes - 1}" if num_classes is not None else "0 or more"
        raise DatasetError(f"{source}: label y[{bad}] = {int(y[bad])} is out of range "
                           f"(expected {limit})")
    return x, y


def _first_bad_label(y: np.ndarray) -> int:
    bad = ~np.isfinite(y) | (y != np.round(np.nan_to_num(y)))
    return int(np.argmax(bad))


def load_dataset(spec: str, target_shape: tuple[int, int, int] | list[int] | None = None,
                 bad_images: str = "stop", progress=None):
    """``digits|mnist|fashion_mnist|cifar10|FOLDER|FILE.csv|FILE.npz`` -> a dataset.

    Folders and CSV indexes are only listed and checked here (no image is decoded): they return
    a :class:`playground.data.files.FileDataset` that the ``tf.data`` pipeline decodes at
    ``target_shape`` (the model's Input, H x W x C). ``bad_images`` (``stop``/``skip``): what
    an unreadable or non-image file does. ``progress(text)`` hears about long scans. The other
    sources return an in-memory :class:`Dataset` at their own size.
    """
    if spec == "digits":
        from playground.data.digits import load_digits
        return load_digits()
    if spec == "shapes":  # generated offline: images of shapes on noise with their masks
        from playground.data.segdata import load_shapes
        return load_shapes(target_shape)
    if spec in BUILTIN:
        from playground.data.keras_sets import load_keras_dataset
        return load_keras_dataset(spec)
    size = tuple(int(d) for d in target_shape[:2]) if target_shape is not None else None
    channels = int(target_shape[2]) if target_shape is not None else 3
    if spec.lower().endswith(".npz"):
        from playground.data.npz import load_npz
        return load_npz(spec)
    if spec.lower().endswith(".csv") and not os.path.isdir(spec):
        if not os.path.lexists(spec):
            raise DatasetError(f"{spec}: file not found")
        from playground.data.segfolder import is_seg_csv, load_segmentation
        if is_seg_csv(spec):  # image,mask columns: a segmentation set
            return load_segmentation(spec, size, channels)
        from playground.data.csv_index import load_csv
        return load_csv(spec, size, channels, bad_images, progress)  # type: ignore[arg-type]
    if os.path.isdir(spec):
        from playground.data.segfolder import is_seg_folder, load_segmentation
        if is_seg_folder(spec):  # images/ + masks/: a segmentation set
            return load_segmentation(spec, size, channels)
        from playground.data.folder import load_folder
        return load_folder(spec, size, channels, bad_images, progress)  # type: ignore[arg-type]
    if os.path.exists(spec):
        raise DatasetError(f"{spec}: not a dataset (expected a folder of class subfolders, a "
                           "CSV index with path,label or an .npz file with x and y arrays)")
    raise DatasetError(f"dataset {spec!r} not found: use one of {', '.join(BUILTIN)}, a folder "
                       "with one subfolder per class, a CSV index (path,label) or an .npz file")
