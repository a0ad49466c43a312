"""The built-in offline segmentation set: shapes on noise, with their masks.

A student who opens the U-Net preset can press Train without a download. Every image is grey
noise with one to three filled shapes (circles, squares, triangles) of random size, place and
brightness; the mask marks each pixel as shape or background (or, with ``kinds``, its shape's
class: 1 circle, 2 square, 3 triangle; a later shape covers an earlier one). It is generated from a seed, so a run repeats exactly, and
it is hard enough to be a lesson (the classes differ in outline, not brightness) yet small
enough to learn in a minute on a laptop's CPU.
"""

from __future__ import annotations

import numpy as np

CLASS_NAMES = ("background", "shape")                          # the built-in "shapes" set
KIND_NAMES = ("background", "circle", "square", "triangle")     # with ``kinds=True``


def _triangle(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    """An upright isosceles triangle inscribed in the circle (cy, cx, r)."""
    top, bottom = cy - r, cy + r * 0.7
    half = (yy - top) / max(bottom - top, 1e-6) * r * 0.95
    return (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= half)


def generate_shapes(count: int = 400, size: int = 64, channels: int = 1, seed: int = 0,
                    kinds: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (uint8, N x size x size x channels) and masks (uint8, N x size x size).

    Masks mark shape against background (:data:`CLASS_NAMES`, what the U-Net preset's one
    sigmoid channel predicts); with ``kinds`` each shape's own class (:data:`KIND_NAMES`).
    """
    if count < 1 or size < 8 or channels not in (1, 3):
        raise ValueError("need count >= 1, size >= 8 and 1 or 3 channels")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    images = np.empty((count, size, size, channels), np.uint8)
    masks = np.zeros((count, size, size), np.uint8)
    for i in range(count):
        base = rng.uniform(60, 140)
        img = rng.normal(base, 18, size=(size, size, channels)).astype(np.float32)
        mask = masks[i]
        for _ in range(int(rng.integers(1, 4))):
            kind = int(rng.integers(1, 4))
            r = rng.uniform(size * 0.1, size * 0.22)
            cy, cx = rng.uniform(r, size - r, size=2)
            if kind == 1:
                inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            elif kind == 2:
                inside = (np.abs(yy - cy) <= r * 0.85) & (np.abs(xx - cx) <= r * 0.85)
            else:
                inside = _triangle(yy, xx, cy, cx, r)
            shade = base + rng.choice((-1.0, 1.0)) * rng.uniform(45, 90)
            img[inside] = rng.normal(shade, 12, size=(int(inside.sum()), channels))
            mask[inside] = kind if kinds else 1
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
    return images, masks
