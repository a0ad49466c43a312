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


def test_a_seeded_augmented_pipeline_repeats_exactly():
    """The run's seed makes a run repeatable, augmentation included (the random layers' state
    advances once per batch, in order), and different batches get different draws."""
    import keras

    x = np.random.default_rng(0).random((512, 16, 16, 1), dtype=np.float32)

    def epoch(seed: int) -> list[np.ndarray]:
        keras.utils.set_random_seed(seed)
        aug = build_augmenter(["translate", "cutout"], (16, 16, 1), seed=seed)
        ds = make_dataset(x, np.arange(512), 4, shuffle=True, seed=seed, augment=aug)
        return [a.numpy() for a, _ in ds]

    first, second = epoch(3), epoch(3)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not np.array_equal(first[0], epoch(4)[0])
