"""``keras``: a ``.keras`` model file (architecture, weights, no optimizer state needed)."""

from __future__ import annotations

from pathlib import Path

from playground.exporters import ExportFormat
from playground.exporters.source import ExportSource


def write(source: ExportSource, path: Path, force: bool) -> Path:
    from playground.keras_build.export import save_keras

    return save_keras(source.model, path, force)


FORMAT = ExportFormat(
    name="keras", label="Keras model (.keras)...", kind="file", suffix=".keras", order=10,
    help="keras: a .keras model file", write=write)
