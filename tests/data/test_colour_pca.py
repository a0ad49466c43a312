"""Issue 10 point 7: shear and AlexNet's fancy-PCA colour augmentation, in the streamed
pipeline and the preview."""

from __future__ import annotations

import numpy as np
import pytest

from playground.data.augment import build_augmenter, parse_augment, training_pca
from playground.data.colour_pca import PCAColour, colour_pca
from playground.data.folder import load_folder
from tests.data.test_stream import folder


def test_principal_component_follows_the_pixels_main_direction():
    rng = np.random.default_rng(0)
    direction = np.array([0.8, 0.5, 0.33])
    direction /= np.linalg.norm(direction)
    t = rng.normal(0, 0.2, (4000, 1))
    pixels = 0.5 + t * direction + rng.normal(0, 0.01, (4000, 3))
    values, vectors = colour_pca(np.clip(pixels, 0, 1).reshape(40, 10, 10, 3))
    assert values[0] > 50 * values[1]
    assert abs(abs(vectors[:, 0] @ direction) - 1.0) < 1e-3


def test_pca_colour_shifts_every_pixel_along_the_eigenvectors():
    values = np.array([0.04, 0.0, 0.0])
    vectors = np.eye(3)[:, [2, 0, 1]]       # the only component is the blue axis
    layer = PCAColour(values, vectors)
    x = np.full((6, 4, 4, 3), 0.5, np.float32)
    out = np.asarray(layer(x, training=True))
    shift = out - x
    assert np.allclose(shift[..., :2], 0.0, atol=1e-6)       # red and green untouched
    assert np.abs(shift[..., 2]).max() > 0                    # blue moved
    assert np.allclose(shift[..., 2], shift[:, :1, :1, 2])    # one shift per image
    assert np.array_equal(np.asarray(layer(x, training=False)), x)


def test_names_and_shear():
    assert parse_augment("shearing,fancy_pca") == ["shear", "pca"]
    x = np.random.default_rng(1).random((2, 16, 16, 3)).astype(np.float32)
    aug = build_augmenter(["shear"], (16, 16, 3), seed=2)
    out = np.asarray(aug(x, training=True))
    assert out.shape == x.shape and not np.allclose(out, x)


def test_training_pca_decodes_only_a_sample_and_matches_the_model_channels(tmp_path):
    data = load_folder(str(folder(tmp_path / "set", per_class=20)), (8, 8), 3)
    values, vectors = training_pca(data, np.arange(10), count=6)
    assert values.shape == (3,) and vectors.shape == (3, 3)
    assert values[0] >= values[1] >= values[2] >= 0
    from playground.data.digits import load_digits

    values, vectors = training_pca(load_digits(), count=50, channels=3)  # gray -> RGB
    assert vectors.shape == (3, 3)


@pytest.mark.parametrize("augment", [["shear", "pca"]])
def test_streamed_run_with_shear_and_pca(tmp_path, augment):
    from playground.training.config import RunConfig
    from playground.training.runner import run_training
    from tests.training.helpers import tiny

    root = folder(tmp_path / "set", per_class=8)
    logs: list[str] = []
    result = run_training(tiny(shape=(8, 8, 3)),
                          RunConfig(dataset=str(root), epochs=2, batch_size=4, augment=augment),
                          sink=lambda e: logs.append(e.get("text", "")), keep_runs=False)
    assert result.status == "finished", result.message
    assert "augmentation: shear, pca" in logs
