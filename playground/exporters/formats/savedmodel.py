"""``savedmodel``: a TensorFlow SavedModel folder that serves raw images (see serving.py)."""

from __future__ import annotations

from pathlib import Path

from playground.exporters import ExportFormat
from playground.exporters.source import ExportSource


def write(source: ExportSource, path: Path, force: bool) -> Path:
    from playground.keras_build.export import export_savedmodel

    return export_savedmodel(source.model, path, force, source=source)


FORMAT = ExportFormat(
    name="savedmodel", label="TensorFlow SavedModel...", kind="folder",
    marker="saved_model.pb", order=20,
    help="savedmodel: a TensorFlow SavedModel folder serving raw images of any size "
         "(float32 0..255, uint8, or JPEG/PNG bytes) and returning class probabilities, "
         "class names in assets/class_names.txt",
    write=write)
