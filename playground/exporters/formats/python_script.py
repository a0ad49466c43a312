"""``python``: a standalone Keras script whose ``build_model()`` rebuilds the architecture."""

from __future__ import annotations

from pathlib import Path

from playground.core.errors import PlaygroundError
from playground.exporters import ExportFormat
from playground.exporters.source import ExportSource


def write(source: ExportSource, path: Path, force: bool) -> Path:
    from playground.keras_build.codegen import generate
    from playground.keras_build.export import write_python

    if source.built is None or source.graph is None:
        raise PlaygroundError("a Python script needs the graph the model was built from")
    return write_python(generate(source.built, source.graph, source=source.script_source),
                        path, force)


FORMAT = ExportFormat(
    name="python", label="Python script (.py)...", kind="file", suffix=".py", order=30,
    uses_weights=False,
    help="python: a standalone Keras script that rebuilds the model", write=write)
