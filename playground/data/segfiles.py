"""A segmentation set of image and mask files, read lazily (the twin of
:class:`playground.data.files.FileDataset` for masks).

The scan (:mod:`playground.data.segfolder`) lists the pairs, checks every header and reads each
mask once for its classes; nothing is kept. Training decodes the pairs in the ``tf.data``
pipeline (:mod:`playground.data.segstream`): images through TensorFlow's own decoders exactly
as classification folders, masks through :func:`decode_mask` (Pillow, opened only with the
decoder the file's content identifies, since TensorFlow's PNG decoder turns a palette mask's
indices into colours). ``x`` and ``y`` are lazy views: ``x[rows]``/``y[rows]`` decode only those
rows, so the preview and the evaluation view show a few samples of a big set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from playground.data.base import DatasetError
from playground.data.files import ImageFiles
from playground.data.sniff import BadImage, NotAnImage, identify

MASK_MODES = ("P", "L", "1", "I", "I;16")
# sniff's format name -> the one Pillow decoder that may open the file (never Pillow's own
# guess, which hands PostScript to Ghostscript).
PILLOW_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "BMP": "BMP", "WebP": "WEBP"}


def open_image(path: str):
    """The file opened by Pillow with only the decoder its content identifies."""
    from PIL import Image

    try:
        info = identify(path)
    except (NotAnImage, BadImage) as exc:
        raise DatasetError(f"{path}: {exc}") from None
    return Image.open(path, formats=[PILLOW_FORMATS[info.format]])


def nearest_rows_cols(size: tuple[int, int], out: tuple[int, int]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Source rows and columns of a nearest-neighbour resize from ``size`` to ``out`` (pixel
    centres, as TensorFlow's ``nearest`` with half-pixel centres)."""
    (h, w), (oh, ow) = size, out
    rows = np.minimum(((np.arange(oh) + 0.5) * h / oh).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(ow) + 0.5) * w / ow).astype(np.int64), w - 1)
    return rows, cols


def decode_mask(path: str, size: tuple[int, int] | None = None,
                num_classes: int | None = None) -> np.ndarray:
    """A mask's class indices (uint8 H x W; grey values or a palette PNG's indices, never its
    colours), resized to ``size`` with nearest neighbour; indices >= ``num_classes`` refused.
    Every error is a DatasetError naming the file ("mask image" in the text)."""
    from PIL import Image

    try:
        with open_image(path) as im:
            if im.mode not in MASK_MODES:
                raise DatasetError(f"{path}: a mask must hold class indices (a grey or palette "
                                   f"PNG), not {im.mode} colours")
            arr = np.asarray(im)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"{path}: corrupt or unreadable mask image ({exc})") from None
    if arr.ndim != 2:
        raise DatasetError(f"{path}: a mask must be one channel of class indices")
    top = int(arr.max()) if arr.size else 0
    if top > 255 or (num_classes is not None and top >= num_classes):
        limit = min(num_classes or 256, 256)
        raise DatasetError(f"{path}: class index {top} is beyond the {limit} classes "
                           f"(0..{limit - 1}) of this mask image's set")
    arr = arr.astype(np.uint8)
    if size is not None and arr.shape != tuple(size):
        rows, cols = nearest_rows_cols(arr.shape, size)  # type: ignore[arg-type]
        arr = arr[rows][:, cols]
    return arr


class LazyRows:
    """``x`` or ``y`` of a :class:`SegFileDataset`: indexing decodes only the rows asked for.

    ``view[rows]`` with an array of rows is another lazy view, ``view[i]`` one image or mask,
    ``np.asarray(view)`` the view's rows; ``len``, ``shape`` and ``dtype`` work without decoding.
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, data: SegFileDataset, masks: bool, rows: np.ndarray | None = None):
        self._data, self._masks = data, masks
        self._rows = np.arange(len(data.paths)) if rows is None else np.asarray(rows)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def ndim(self) -> int:
        return 3 if self._masks else 4

    @property
    def shape(self) -> tuple[int, ...]:
        one = self._data.image_shape[:2] if self._masks else self._data.image_shape
        return (len(self._rows), *one)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self._decode([int(self._rows[key])])[0]
        return LazyRows(self._data, self._masks, self._rows[key])

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def _decode(self, rows) -> np.ndarray:
        return self._data.decode_masks(rows) if self._masks else self._data.decode(rows)

    def __array__(self, dtype=None, copy=None):
        out = self._decode(self._rows)
        return out if dtype is None else out.astype(dtype)


@dataclass
class SegFileDataset(ImageFiles):
    """Image files with their mask files; decoded at ``image_size`` with ``channels``."""

    name: str
    source: str                      # the folder or CSV file
    paths: list[str]                 # images
    mask_paths: list[str]
    class_names: list[str]
    image_size: tuple[int, int] = (128, 128)
    channels: int = 3
    notes: list[str] = field(default_factory=list)
    pixel_counts: np.ndarray | None = None   # per class, over every mask at its own size
    bad_images: str = "stop"
    skipped: int = 0
    x_test: None = None
    y_test: None = None
    _kept: dict = field(default_factory=dict, repr=False)
    task = "segmentation"
    streamed = True                  # SegFeeds: feed through playground.data.segstream

    @property
    def x(self) -> LazyRows:
        return LazyRows(self, masks=False)

    @property
    def y(self) -> LazyRows:
        return LazyRows(self, masks=True)

    def describe(self) -> str:
        h, w, c = self.image_shape
        return (f"{self.name}: {len(self.paths)} images with masks (decoded at {h}x{w}x{c}), "
                f"{self.num_classes} classes ({', '.join(self.class_names[:6])})")

    def decode_masks(self, rows) -> np.ndarray:
        """The masks at ``rows`` (uint8 class indices at ``image_size``)."""
        rows = [int(r) for r in rows]
        if not rows:
            return np.zeros((0, *self.image_shape[:2]), np.uint8)
        size = self.image_shape[:2]
        return np.stack([decode_mask(self.mask_paths[r], size, self.num_classes)
                         for r in rows])
