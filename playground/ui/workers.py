"""Background work (export, import) off the UI thread: a ``QThread`` running one function.

The function gets no widgets, only plain data (a copy of the graph, paths); its result or its error
message comes back as a signal, delivered on the UI thread. TensorFlow is imported inside the
function, never at start-up.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from playground.core.errors import PlaygroundError


class FunctionThread(QThread):
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], parent=None) -> None:
        super().__init__(parent)
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except PlaygroundError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a crash
            if os.environ.get("PLAYGROUND_DEBUG"):
                traceback.print_exc()
            self.failed.emit(f"unexpected {type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result)


def export_graph(graph, analysis, fmt: str, out: str, source: str | None = None,
                 init_weights: str | None = None) -> str:
    """Build the Keras model of ``graph`` and write it through the export registry (runs in the
    worker thread); ``init_weights``: a weights file to start from (the graph's recorded
    weights), else the model is untrained."""
    from playground.exporters import write as write_export
    from playground.exporters.source import ExportSource
    from playground.keras_build.compile import build
    from playground.keras_build.export import check_target

    check_target(out, fmt, force=True)
    built = build(graph, analysis)
    weights = "untrained"
    if init_weights and fmt != "python":
        from playground.keras_build.weights import load_weights

        load_weights(built.model, init_weights)
        weights = init_weights
    return str(write_export(fmt, ExportSource.from_built(built, graph, weights=weights,
                                                         script_source=source), out, True))


def import_keras(path: str):
    """Turn a ``.keras`` model into a graph (runs in the worker thread)."""
    try:
        from playground.keras_build.importer import import_model
    except ImportError as exc:
        raise PlaygroundError("importing Keras models is not available in this build "
                              f"({exc})") from None
    return import_model(path)
