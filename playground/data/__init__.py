"""Datasets for the training bench: embedded digits, keras.datasets, image folders and .npz files.

Every loader returns a :class:`playground.data.dataset.Dataset` of raw images (uint8, N x H x W x C
at the dataset's own size) and integer labels, so the same arrays feed the preview grid, training
(after :mod:`playground.data.adapt`) and the exported model's raw-image signature. Only the
``keras.datasets`` loaders and the ``tf.data`` pipeline import TensorFlow, and only when called.

The package itself imports nothing (the names below load on first use), so the CLI can read the
source registry (:mod:`playground.data.sources`) for its help without importing NumPy.
"""

from typing import Any

__all__ = ["Dataset", "DatasetError", "load_dataset"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from playground.data import dataset
        return getattr(dataset, name)
    raise AttributeError(f"module 'playground.data' has no attribute {name!r}")
