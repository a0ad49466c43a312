"""``weights``: the weights alone, a Keras 3 ``.weights.h5`` file.

Small and architecture-free: ``--init-weights`` (train, export) and the panel's initial weights
load it back by layer name (= node id) and shape, so it moves a trained feature extractor into
another graph that shares its node ids.
"""

from __future__ import annotations

from pathlib import Path

from playground.exporters import ExportFormat
from playground.exporters.source import ExportSource


def write(source: ExportSource, path: Path, force: bool) -> Path:
    from playground.keras_build.weights import save_weights

    save_weights(source.model, path)     # temp file beside ``path``, then renamed
    return path


FORMAT = ExportFormat(
    name="weights", label="Weights only (.weights.h5)...", kind="file", suffix=".weights.h5",
    require_suffix=True, order=40,
    help="weights: the weights alone as a .weights.h5 file (load with --init-weights)",
    write=write)
