"""Geometric augmentation of an image and its mask together: one transform, two samplings.

A segmentation set's mask must move with its image. Each sample of a batch draws one geometric
transform from the chosen options (flip, crop/zoom, rotate, shear, translate), composed into a
single projective matrix, and that same matrix resamples the image (bilinear) and the mask
(nearest neighbour, so class indices stay class indices) in one pass each. Borders are filled by
reflection for both, so a pixel brought in from outside is an image pixel with its own class
(zeros would paint black image borders labelled as whatever class 0 is). The colour options
(contrast, colour, pca, cutout) are the classification ones, applied to the image alone
(:func:`playground.data.augment.build_augmenter`).
"""

from __future__ import annotations

import math
from typing import Any

# The options that move pixels (image and mask together) and those that only change values.
JOINT = ("flip", "crop", "zoom", "rotate", "shear", "translate")
IMAGE_ONLY = ("contrast", "colour", "pca", "cutout")
ZOOM_RANGE = (0.75, 1.0)   # crop/zoom: side of the visible window, as a share of the image's
ROTATE = 0.1               # up to 10% of a full turn either way (Keras' RandomRotation(0.1))
SHEAR = 0.1                # shear factor up to 0.1, horizontal and vertical (RandomShear(0.1))
TRANSLATE = 0.1            # up to 10% of the side (RandomTranslation(0.1))


def split_options(names: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(joint, image-only, unknown) among the run's augmentation names, in their order."""
    joint = [n for n in names if n in JOINT]
    colour = [n for n in names if n in IMAGE_ONLY]
    other = [n for n in names if n not in JOINT and n not in IMAGE_ONLY]
    return joint, colour, other


def transforms(names: list[str], batch: Any, height: int, width: int, seed: int = 0) -> Any:
    """Per-sample projective transforms (B x 8, output pixel -> input pixel, the layout of
    ``ImageProjectiveTransformV3``) drawing each chosen option at random; identity without any."""
    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()
    b = batch
    one, zero = tf.ones([b]), tf.zeros([b])

    def uniform(lo: float, hi: float, k: int) -> Any:
        return tf.random.uniform([b], lo, hi, seed=seed + k)

    # 2 x 2 part as four per-sample rows (a b / c d), built up by matrix products.
    a, bb, c, d = one, zero, zero, one
    tx, ty = zero, zero

    def times(p, q, r, s):   # current @ [[p, q], [r, s]]
        return a * p + bb * r, a * q + bb * s, c * p + d * r, c * q + d * s

    if "flip" in names:
        sign = tf.where(uniform(0.0, 1.0, 1) < 0.5, -1.0, 1.0)
        a, bb, c, d = times(sign, zero, zero, one)
    if "rotate" in names:
        angle = uniform(-ROTATE, ROTATE, 2) * 2.0 * math.pi
        cos, sin = tf.cos(angle), tf.sin(angle)
        a, bb, c, d = times(cos, -sin, sin, cos)
    if "shear" in names:
        a, bb, c, d = times(one, uniform(-SHEAR, SHEAR, 3), uniform(-SHEAR, SHEAR, 4), one)
    if "crop" in names or "zoom" in names:
        side = uniform(ZOOM_RANGE[0], ZOOM_RANGE[1], 5)
        a, bb, c, d = times(side, zero, zero, side)
        # A window of that side anywhere inside the image (zooming in on a random place).
        tx += uniform(-1.0, 1.0, 6) * (1.0 - side) * (width - 1) / 2.0
        ty += uniform(-1.0, 1.0, 7) * (1.0 - side) * (height - 1) / 2.0
    if "translate" in names:
        tx += uniform(-TRANSLATE, TRANSLATE, 8) * width
        ty += uniform(-TRANSLATE, TRANSLATE, 9) * height
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    # input = centre + A (output - centre) + t
    return tf.stack([a, bb, cx + tx - a * cx - bb * cy,
                     c, d, cy + ty - c * cx - d * cy, zero, zero], axis=1)


def warp(images: Any, matrices: Any, nearest: bool) -> Any:
    """Resample a float32 batch (B x H x W x C) through per-sample transforms."""
    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()
    size = tf.shape(images)[1:3]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=matrices, output_shape=size, fill_value=0.0,
        interpolation="NEAREST" if nearest else "BILINEAR", fill_mode="REFLECT")


def apply_joint(images: Any, masks: Any, names: list[str], seed: int = 0) -> tuple[Any, Any]:
    """One random transform per sample applied to a float32 image batch (B x H x W x C) and
    its uint8 mask batch (B x H x W): the same matrix, bilinear for the image, nearest for the
    mask. Nothing is drawn when no geometric option is chosen."""
    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()
    if not any(n in JOINT for n in names):
        return images, masks
    shape = tf.shape(images)
    matrices = transforms(names, shape[0], images.shape[1], images.shape[2], seed)
    moved = warp(images, matrices, nearest=False)
    m = warp(tf.cast(masks[..., None], tf.float32), matrices, nearest=True)[..., 0]
    return moved, tf.cast(tf.round(m), masks.dtype)
