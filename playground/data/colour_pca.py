"""AlexNet's "fancy PCA" colour augmentation (Krizhevsky et al. 2012, section 4.1).

The principal components of the training set's RGB pixel values are computed once
(:func:`colour_pca`, NumPy, on a sample of training images); each training image then gets
``sum_i alpha_i * lambda_i * p_i`` added to every pixel, with ``alpha_i ~ N(0, 0.1)`` drawn per
image, ``lambda_i``/``p_i`` the eigenvalues/eigenvectors. It shifts colours along the
directions natural images vary in (lighting intensity and colour), keeping the object's identity.
Draws use stateful ``tf.random.normal`` (seeded by the run) so it works inside a tf.data map.
"""

from __future__ import annotations

import numpy as np

from playground.tfimport import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402 - after TensorFlow, quietly imported

STD = 0.1  # the paper's standard deviation of alpha


def colour_pca(images: np.ndarray, max_pixels: int = 1_000_000, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues, eigenvectors as columns) of the pixel covariance of ``images`` (N x H x W x
    C, uint8 0..255 or float 0..1), on values scaled to [0, 1]; sampled to ``max_pixels``."""
    x = np.asarray(images)
    channels = x.shape[-1]
    pixels = x.reshape(-1, channels)
    if len(pixels) > max_pixels:
        rows = np.random.default_rng(seed).choice(len(pixels), max_pixels, replace=False)
        pixels = pixels[rows]
    pixels = pixels.astype(np.float64)
    if x.dtype == np.uint8 or pixels.max() > 1.0:
        pixels = pixels / 255.0
    if len(pixels) < 2:
        return np.full(channels, 1e-4), np.eye(channels)
    cov = np.atleast_2d(np.cov(pixels, rowvar=False))
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    return np.clip(values[order], 0.0, None), vectors[:, order]


class PCAColour(keras.layers.Layer):
    """Adds ``vectors @ (alpha * values)`` to each image (values in [0, 1]; clipped back)."""

    def __init__(self, values, vectors, std: float = STD, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.values = [float(v) for v in np.asarray(values).reshape(-1)]
        self.vectors = np.asarray(vectors, dtype=np.float64).tolist()
        self.std, self.seed = float(std), seed

    def call(self, images, training=True):
        if not training:
            return images
        n = tf.shape(images)[0]
        k = len(self.values)
        alpha = tf.random.normal([n, k], 0.0, self.std)
        scaled = alpha * tf.constant(self.values, tf.float32)[None, :]
        shift = tf.matmul(scaled, tf.constant(self.vectors, tf.float32), transpose_b=True)
        out = images + tf.cast(shift[:, None, None, :], images.dtype)
        return tf.clip_by_value(out, 0.0, 1.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "values": self.values, "vectors": self.vectors,
                "std": self.std, "seed": self.seed}
