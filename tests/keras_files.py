"""Hand-made Keras files for the tests that feed strangers' files to the app (reliability:
hostile weights, model files): a ``.keras`` archive written member by member, so a test does not
depend on Keras agreeing to save what a stranger could write, and the booby trap that fails a
test the moment anything deserializes a model or loads weights through Keras.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
PLACEHOLDER_WEIGHTS = HDF5_SIGNATURE + b"\0" * 64   # an HDF5 signature and nothing in it
KERAS_METADATA = {"keras_version": "3.15.1", "date_saved": "2026-01-01@00:00:00"}


def write_keras_archive(path: Path, config: Any, weights: bytes | None = None, *,
                        metadata: dict[str, Any] | None = None) -> Path:
    """A ``.keras`` zip: ``metadata.json`` (only if given), ``config.json`` (``config`` as
    JSON, or a string written as is) and ``model.weights.h5`` (placeholder by default)."""
    with zipfile.ZipFile(path, "w") as archive:
        if metadata is not None:
            archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", config if isinstance(config, str) else json.dumps(config))
        archive.writestr("model.weights.h5", weights or PLACEHOLDER_WEIGHTS)
    return path


def forbid_keras_loading(monkeypatch: Any, keras: Any, message: str) -> None:
    """Every Keras entry point that builds objects from a file's config or reads its weights
    raises ``AssertionError(message)``: the app must read strangers' files with its own readers."""
    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(message)

    monkeypatch.setattr(keras.config, "enable_unsafe_deserialization", forbidden)
    monkeypatch.setattr(keras.saving, "load_model", forbidden)
    monkeypatch.setattr(keras.models, "load_model", forbidden)
    monkeypatch.setattr(keras.saving, "deserialize_keras_object", forbidden)
    monkeypatch.setattr(keras.Model, "load_weights", forbidden)
