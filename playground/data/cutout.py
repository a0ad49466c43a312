"""Cutout (random erasing): zero one random square per image; training-time only.

Draws positions with stateful ``tf.random.uniform`` (seeded globally by the run) so it works
inside a ``tf.data`` map, where layer-owned generator variables are not allowed.
"""

from __future__ import annotations

from playground.tfimport import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402 - after TensorFlow, quietly imported


class Cutout(keras.layers.Layer):
    def __init__(self, height: int, width: int, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.height, self.width, self.seed = height, width, seed

    def call(self, images, training=True):
        if not training:
            return images
        shape = tf.shape(images)
        n, h, w = shape[0], shape[1], shape[2]
        cy = tf.random.uniform([n], 0, h, dtype=tf.int32)
        cx = tf.random.uniform([n], 0, w, dtype=tf.int32)
        rows = tf.range(h)[None, :, None]
        cols = tf.range(w)[None, None, :]
        inside_y = tf.abs(rows - cy[:, None, None]) <= self.height // 2
        inside_x = tf.abs(cols - cx[:, None, None]) <= self.width // 2
        mask = tf.cast(~(inside_y & inside_x), images.dtype)[..., None]
        return images * mask

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "seed": self.seed}
