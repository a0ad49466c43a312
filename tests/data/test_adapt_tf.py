"""Adapting raw images to a model (TensorFlow): resize, colour conversion, rescale, augmenters."""

from __future__ import annotations

import numpy as np

from playground.data.adapt import adapt_array, make_dataset
from playground.data.augment import AUGMENTATIONS, build_augmenter


def test_adapt_resizes_converts_and_rescales():
    gray = np.full((2, 8, 8, 1), 255, np.uint8)
    out = adapt_array(gray, (16, 16, 3))
    assert out.shape == (2, 16, 16, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, 1.0, atol=1e-6)
    rgb = np.zeros((1, 4, 4, 3), np.uint8)
    rgb[..., 1] = 100
    out = adapt_array(rgb, (4, 4, 1))
    np.testing.assert_allclose(out, 0.5870 * 100 / 255, atol=1e-5)


def test_every_augmentation_keeps_the_shape_and_range():
    x = np.random.default_rng(0).random((4, 16, 16, 3)).astype(np.float32)
    aug = build_augmenter(list(AUGMENTATIONS), (16, 16, 3), seed=1)
    ds = make_dataset(x, np.arange(4), 2, shuffle=True, seed=0, augment=aug)
    batches = [(a.numpy(), b.numpy()) for a, b in ds]
    assert [a.shape for a, _ in batches] == [(2, 16, 16, 3)] * 2
    assert all(np.isfinite(a).all() for a, _ in batches)
    assert sorted(np.concatenate([b for _, b in batches]).tolist()) == [0, 1, 2, 3]
    # Augmentation changed the pixels.
    assert not np.allclose(np.concatenate([a for a, _ in batches]).sum(), x.sum())
