"""Geometric augmentation of an image and its mask together (rotate, shear, zoom, translate,
flip): one transform per sample, the image bilinear and the mask nearest neighbour."""

from __future__ import annotations

import numpy as np
import pytest

from playground.data.joint_augment import JOINT, apply_joint, split_options, transforms, warp

LEVELS = np.array([0.1, 0.5, 0.9], np.float32)   # image brightness of classes 0, 1, 2


def blocks(n: int = 16, size: int = 32, block: int = 8, seed: int = 0):
    """Images of 8x8 blocks of three brightnesses; the mask is read off the image itself."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 3, size=(n, size // block, size // block))
    masks = cells.repeat(block, axis=1).repeat(block, axis=2).astype(np.uint8)
    return LEVELS[masks][..., None], masks


def classes_of(images: np.ndarray) -> np.ndarray:
    """Each pixel's class as the image says it (the nearest of the three brightnesses)."""
    return np.abs(images[..., 0][..., None] - LEVELS).argmin(-1)


@pytest.mark.parametrize("names", [["rotate"], ["shear"], ["rotate", "shear"], list(JOINT)])
def test_image_and_mask_still_agree_after_a_joint_transform(names):
    tf = pytest.importorskip("tensorflow")
    x, m = blocks()
    moved_x, moved_m = apply_joint(tf.constant(x), tf.constant(m), names, seed=4)
    moved_x, moved_m = moved_x.numpy(), moved_m.numpy()
    assert moved_x.shape == x.shape and moved_m.shape == m.shape and moved_m.dtype == np.uint8
    # Nearest neighbour: the mask holds class indices only (a bilinear mask would blend 0 and 2
    # into 1 along their borders, and give fractions).
    assert set(np.unique(moved_m)) <= {0, 1, 2}
    agree = (classes_of(moved_x) == moved_m).mean(axis=(1, 2))
    # Only pixels on a block border may differ (the image blends there, the mask cannot).
    assert agree.min() > 0.93, agree
    changed = (moved_m != m).mean(axis=(1, 2))
    assert (changed > 0.01).sum() >= len(m) // 2, changed   # the transform did move things


def test_flip_is_an_exact_mirror_and_rotation_keeps_the_centre():
    tf = pytest.importorskip("tensorflow")
    x, m = blocks(n=8, size=16, block=4, seed=1)
    matrices = transforms(["flip"], 8, 16, 16, seed=2).numpy()
    out = warp(tf.constant(x), tf.constant(matrices), nearest=False).numpy()
    flipped = matrices[:, 0] < 0
    assert 0 < flipped.sum() < 8
    np.testing.assert_array_equal(out[flipped], x[flipped][:, :, ::-1])
    np.testing.assert_array_equal(out[~flipped], x[~flipped])
    # A rotation about the centre: the output's centre pixel maps to the input's centre.
    turn = transforms(["rotate"], 4, 17, 17, seed=3).numpy()
    a, b, tx, c, d, ty = (turn[:, i] for i in range(6))
    np.testing.assert_allclose(a * 8 + b * 8 + tx, 8, atol=1e-4)
    np.testing.assert_allclose(c * 8 + d * 8 + ty, 8, atol=1e-4)
    assert not np.allclose(b, 0)


def test_options_split_into_joint_and_image_only():
    assert split_options(["flip", "contrast", "rotate", "pca", "shear", "cutout"]) == (
        ["flip", "rotate", "shear"], ["contrast", "pca", "cutout"], [])


def test_the_mmap_threshold_is_held_on_linux():
    """The in-memory cache of a mask set holds glibc's mmap threshold (docs/perf/segmentation.md);
    elsewhere the call does nothing and says so."""
    import sys

    from playground.data.segstream import hold_mmap_threshold

    assert hold_mmap_threshold() is sys.platform.startswith("linux")
