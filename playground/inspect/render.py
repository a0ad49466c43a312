"""Pictures of what a node sees, as uint8 RGB arrays (numpy + Pillow; no Qt, no TensorFlow).

Shared by the ``inspect`` command (PNG files for slides) and the Predict view (the same arrays
shown in a QLabel), so both draw the same thing.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np

# A perceptually ordered heat map (dark blue -> cyan -> yellow -> red), interpolated.
HEAT = np.array([[0, 0, 90], [0, 80, 220], [0, 200, 230], [120, 230, 80], [250, 220, 0],
                 [240, 90, 0], [180, 0, 0]], dtype=np.float64)
MAX_TILES = 64


def heat_colours(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> uint8 RGB through ``HEAT``."""
    v = np.clip(np.nan_to_num(np.asarray(values, np.float64)), 0.0, 1.0) * (len(HEAT) - 1)
    lo = np.floor(v).astype(int)
    hi = np.minimum(lo + 1, len(HEAT) - 1)
    t = (v - lo)[..., None]
    return np.round(HEAT[lo] * (1 - t) + HEAT[hi] * t).astype(np.uint8)


def normalise(a: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1]; a constant array becomes 0."""
    a = np.nan_to_num(np.asarray(a, np.float64))
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def _upscale(img: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1) if factor > 1 else img


def tile_grid(tiles: list[np.ndarray], gap: int = 2, background: int = 40) -> np.ndarray:
    """Equal-sized RGB tiles (h x w x 3 uint8) in a near-square grid."""
    if not tiles:
        return np.full((8, 8, 3), background, np.uint8)
    h, w = tiles[0].shape[:2]
    cols = int(math.ceil(math.sqrt(len(tiles))))
    rows = int(math.ceil(len(tiles) / cols))
    out = np.full((rows * (h + gap) + gap, cols * (w + gap) + gap, 3), background, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = gap + r * (h + gap), gap + c * (w + gap)
        out[y:y + h, x:x + w] = tile
    return out


def feature_grid(features: np.ndarray, min_tile: int = 48) -> np.ndarray:
    """A node's activations (h x w x c): one grey tile per channel (each min-max scaled), the
    first ``MAX_TILES`` channels."""
    h, w, c = features.shape
    factor = max(1, int(math.ceil(min_tile / max(h, w))))
    tiles = []
    for k in range(min(c, MAX_TILES)):
        grey = np.round(normalise(features[:, :, k]) * 255).astype(np.uint8)
        tiles.append(_upscale(np.repeat(grey[:, :, None], 3, axis=2), factor))
    return tile_grid(tiles)


def filter_grid(kernel: np.ndarray, colour: bool, min_tile: int = 40) -> np.ndarray:
    """Conv kernels (kh x kw x cin x cout): one tile per output channel. ``colour`` with 3 input
    channels draws each kernel as an RGB patch (the first layer); otherwise the mean over the
    input channels in grey. Each tile is min-max scaled on its own."""
    kh, kw, cin, cout = kernel.shape
    factor = max(1, int(math.ceil(min_tile / max(kh, kw))))
    tiles = []
    for k in range(min(cout, MAX_TILES)):
        w = kernel[:, :, :, k]
        if colour and cin == 3:
            rgb = np.round(normalise(w) * 255).astype(np.uint8)
        else:
            grey = np.round(normalise(w.mean(axis=-1)) * 255).astype(np.uint8)
            rgb = np.repeat(grey[:, :, None], 3, axis=2)
        tiles.append(_upscale(rgb, factor))
    return tile_grid(tiles)


def _resize(arr: np.ndarray, size: tuple[int, int], smooth: bool) -> np.ndarray:
    """Resize an H x W (float) or H x W x 3 (uint8) array to (height, width) with Pillow."""
    from PIL import Image

    h, w = size
    if arr.ndim == 2:
        img = Image.fromarray(np.asarray(arr, np.float32), mode="F")
        out = img.resize((w, h), Image.Resampling.BILINEAR if smooth else Image.Resampling.NEAREST)
        return np.asarray(out, np.float32)
    img = Image.fromarray(np.asarray(arr, np.uint8))
    return np.asarray(img.resize((w, h), Image.Resampling.BILINEAR if smooth
                                 else Image.Resampling.NEAREST), np.uint8)


def model_view(x: np.ndarray, min_side: int = 224) -> np.ndarray:
    """The adapted model input (H x W x C in [0, 1]) as an RGB picture, enlarged (nearest)."""
    img = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    factor = max(1, int(math.ceil(min_side / max(img.shape[:2]))))
    return _upscale(img, factor)


def overlay(x: np.ndarray, heat: np.ndarray, alpha: float = 0.45, min_side: int = 224
            ) -> np.ndarray:
    """A map in [0, 1] (any h x w) smoothly enlarged over the model's view of the image; the
    colour is laid on in proportion to the map (up to ``alpha``), so cold parts stay readable."""
    base = model_view(x, min_side).astype(np.float64)
    h, w = base.shape[:2]
    values = np.clip(_resize(np.asarray(heat, np.float32), (h, w), True), 0, 1)
    colours = heat_colours(values).astype(np.float64)
    a = (0.15 + (alpha - 0.15) * np.sqrt(values))[..., None] if alpha > 0.15 else alpha
    return np.round(base * (1 - a) + colours * a).astype(np.uint8)


def captioned(rgb: np.ndarray, text: str) -> np.ndarray:
    """The picture with one line of text written under it (Pillow's built-in font)."""
    from PIL import Image, ImageDraw

    h, w = rgb.shape[:2]
    canvas = Image.new("RGB", (w, h + 16), (40, 40, 40))
    canvas.paste(Image.fromarray(np.asarray(rgb, np.uint8)), (0, 0))
    ImageDraw.Draw(canvas).text((4, h + 2), text, fill=(235, 235, 235))
    return np.asarray(canvas)


def png_bytes(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: str | os.PathLike[str], rgb: np.ndarray) -> None:
    from playground.core.atomic import write_bytes_atomic

    write_bytes_atomic(path, png_bytes(rgb))
