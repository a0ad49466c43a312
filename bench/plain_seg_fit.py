"""The baseline for ``bench/bench_segmentation.py --memory``: a plain ``tf.data`` script training
on an images/ + masks/ folder the way a practitioner would write it (file lists, a parallel map
that decodes and resizes image and mask, shuffle, batch 32, prefetch; no cache, no validation),
with the same one-level U-Net as the bench's graph (binary cross-entropy on one sigmoid channel).

    python bench/plain_seg_fit.py FOLDER [--epochs 2] [--size 128]

Prints one JSON line: {"epoch_seconds": [...]}.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build(keras, size: int, width: int = 8):
    L = keras.layers
    inp = keras.Input((size, size, 1))
    x = L.Conv2D(width, 3, padding="same", activation="relu")(inp)
    skip = L.Conv2D(width, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(2)(skip)
    x = L.Conv2D(2 * width, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(2 * width, 3, padding="same", activation="relu")(x)
    up = L.Conv2DTranspose(width, 2, strides=2, padding="same")(x)
    x = L.Concatenate()([skip, up])
    x = L.Conv2D(width, 3, padding="same", activation="relu")(x)
    return keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid")(x))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    names = sorted(os.path.splitext(n)[0] for n in os.listdir(os.path.join(args.folder,
                                                                           "images")))
    images = [os.path.join(args.folder, "images", n + ".jpg") for n in names]
    masks = [os.path.join(args.folder, "masks", n + ".png") for n in names]
    size = (args.size, args.size)

    def load(image, mask):
        x = tf.io.decode_jpeg(tf.io.read_file(image), channels=1)
        x = tf.image.resize(x, size) / 255.0
        y = tf.io.decode_png(tf.io.read_file(mask), channels=1)
        y = tf.image.resize(y, size, method="nearest")
        return x, tf.cast(y, tf.float32)

    ds = (tf.data.Dataset.from_tensor_slices((images, masks))
          .shuffle(len(images), seed=0, reshuffle_each_iteration=True)
          .map(load, num_parallel_calls=tf.data.AUTOTUNE)
          .batch(32).prefetch(tf.data.AUTOTUNE))
    model = build(keras, args.size)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.t0)

    model.fit(ds, epochs=args.epochs, verbose=0, callbacks=[Timer()])
    print(json.dumps({"epoch_seconds": seconds}))


if __name__ == "__main__":
    main()
