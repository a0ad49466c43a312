"""The baseline for bench/bench_data.py: a plain Keras script training on an image folder the
way a practitioner would write it (``keras.utils.image_dataset_from_directory``, batch 64, Adam,
no augmentation, no validation), with the same small model as the bench's graph.

    python bench/plain_folder_fit.py FOLDER [--epochs 2] [--size 224]

Prints one JSON line: {"epoch_seconds": [...], "wall_to_first_batch": s}.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build(keras, size: int, classes: int):
    L = keras.layers
    return keras.Sequential([
        keras.Input((size, size, 3)),
        L.Rescaling(1.0 / 255),
        L.Conv2D(16, 3, strides=2, activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(32, 3, strides=2, activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dense(classes, activation="softmax"),
    ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    import keras

    keras.utils.set_random_seed(0)
    ds = keras.utils.image_dataset_from_directory(args.folder, image_size=(args.size, args.size),
                                                  batch_size=64, seed=0, verbose=False)
    import tensorflow as tf

    ds = ds.prefetch(tf.data.AUTOTUNE)
    model = build(keras, args.size, 2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    times: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    model.fit(ds, epochs=args.epochs, verbose=0, callbacks=[Clock()])
    print(json.dumps({"epoch_seconds": times}), flush=True)


if __name__ == "__main__":
    main()
