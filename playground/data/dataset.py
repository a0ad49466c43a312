"""The public face of the datasets: the in-memory :class:`Dataset`, its error, and
``load_dataset`` from a ``--dataset`` value.

The types live in :mod:`playground.data.base` (the leaf every loader imports) and the sources in
:mod:`playground.data.sources` (the one registry); this module re-exports both, so callers keep
one import and ``playground.data`` has no import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playground.data import sources
from playground.data.base import Dataset, DatasetError, validate_arrays

# The built-in sets' names, from the registry (kept for callers that test membership).
BUILTIN: tuple[str, ...] = sources.builtin_names()

__all__ = ["BUILTIN", "Dataset", "DatasetError", "load_dataset", "validate_arrays"]


def load_dataset(spec: str, target_shape: tuple[int, int, int] | list[int] | None = None,
                 bad_images: str = "stop", progress: Callable[[str], None] | None = None
                 ) -> Any:
    """A built-in set's name, a FOLDER, FILE.csv or FILE.npz -> a dataset
    (:data:`playground.data.sources.SOURCES` says which values are accepted and how each loads).

    Folders and CSV indexes are only listed and checked here (no image is decoded): they return
    a :class:`playground.data.files.FileDataset` that the ``tf.data`` pipeline decodes at
    ``target_shape`` (the model's Input, H x W x C). ``bad_images`` (``stop``/``skip``): what
    an unreadable or non-image file does. ``progress(text)`` hears about long scans. The other
    sources return an in-memory :class:`Dataset` at their own size.
    """
    return sources.load(spec, target_shape, bad_images, progress)
