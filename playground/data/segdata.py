"""Segmentation datasets: images with a mask of class indices per pixel.

A :class:`SegDataset` is a :class:`~playground.data.dataset.Dataset` whose ``y`` holds one mask per
image (uint8, N x H x W, values 0..K-1) instead of one label, so everything that only lists,
names or counts a dataset keeps working; the training run asks :func:`is_segmentation` and takes
the per-pixel path (:mod:`playground.training.segmentation`). The built-in ``shapes`` set is
generated offline (:mod:`playground.data.shapes`) at the model's input size; folders and CSV
indexes of image/mask files are streamed instead (:class:`playground.data.segfiles.
SegFileDataset`, same ``task``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playground.data.base import Dataset

SHAPES_COUNT = 1000          # images of the built-in set (train + validation + test)
SHAPES_DEFAULT_SIZE = 64     # when the model's input is not a square 16..256


@dataclass
class SegDataset(Dataset):
    """``x``: images (uint8, N x H x W x C); ``y``: masks (uint8, N x H x W) of class indices."""

    task: str = "segmentation"

    def describe(self) -> str:
        h, w, c = self.image_shape
        return (f"{self.name}: {len(self.x)} images {h}x{w}x{c} with masks, "
                f"{self.num_classes} classes ({', '.join(self.class_names[:6])})")


def is_segmentation(dataset: object) -> bool:
    """True for a dataset of masks (the per-pixel training path)."""
    return getattr(dataset, "task", "classification") == "segmentation"


def load_shapes(target_shape=None, count: int = SHAPES_COUNT, seed: int = 0) -> SegDataset:
    """The built-in ``shapes`` set at the model's input size when it is a square 16..256
    (else 64x64; the run then resizes), grey or colour as the input asks."""
    from playground.data.shapes import CLASS_NAMES, generate_shapes

    size, channels = SHAPES_DEFAULT_SIZE, 1
    if target_shape is not None:
        h, w, c = (int(d) for d in target_shape)
        if h == w and 16 <= h <= 256:
            size = h
        channels = 3 if c == 3 else 1
    x, masks = generate_shapes(count, size=size, channels=channels, seed=seed)
    return SegDataset("shapes", x, masks, list(CLASS_NAMES),
                      notes=[f"shapes: {count} generated {size}x{size} images of shapes on "
                             "noise with their masks (background, shape; offline, seed "
                             f"{seed})"])


# Overlay colours per class (class 0, the background, stays uncoloured).
OVERLAY_COLOURS = np.array([(0, 0, 0), (230, 60, 60), (60, 160, 230), (70, 200, 90),
                            (240, 190, 40), (170, 90, 220), (40, 200, 200), (240, 120, 190)],
                           np.float32)


def overlay_masks(images: np.ndarray, masks: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """RGB uint8 pictures of ``images`` (N x H x W x C) with each non-background class of
    ``masks`` (N x H x W, resized nearest to the images when sizes differ) tinted in its colour."""
    x = np.asarray(images, np.float32)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    m = np.asarray(masks, np.int64)
    if m.shape[1:3] != x.shape[1:3]:
        h, w = m.shape[1:3]
        rows = np.minimum(((np.arange(x.shape[1]) + 0.5) * h / x.shape[1]).astype(np.int64), h - 1)
        cols = np.minimum(((np.arange(x.shape[2]) + 0.5) * w / x.shape[2]).astype(np.int64), w - 1)
        m = m[:, rows][:, :, cols]
    colours = OVERLAY_COLOURS[np.where(m > 0, (m - 1) % (len(OVERLAY_COLOURS) - 1) + 1, 0)]
    tint = (m > 0)[..., None]
    out = np.where(tint, (1 - alpha) * x + alpha * colours, x)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def mask_caption(mask: np.ndarray, class_names: list[str]) -> str:
    """``shape 23%`` for the largest non-background class of one mask, else ``background``."""
    counts = np.bincount(np.asarray(mask, np.int64).ravel(), minlength=len(class_names))
    counts[0] = 0
    if counts.sum() == 0:
        return class_names[0]
    top = int(counts.argmax())
    return f"{class_names[top]} {counts[top] / mask.size:.0%}"
