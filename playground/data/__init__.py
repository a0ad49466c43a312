"""Datasets for the training bench: embedded digits, keras.datasets, image folders and .npz files.

Every loader returns a :class:`playground.data.dataset.Dataset` of raw images (uint8, N x H x W x C
at the dataset's own size) and integer labels, so the same arrays feed the preview grid, training
(after :mod:`playground.data.adapt`) and the exported model's raw-image signature. Only the
``keras.datasets`` loaders and the ``tf.data`` pipeline import TensorFlow, and only when called.
"""

from playground.data.dataset import Dataset, DatasetError, load_dataset

__all__ = ["Dataset", "DatasetError", "load_dataset"]
