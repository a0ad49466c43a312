"""Background work (export, import) off the UI thread: a ``QThread`` running one function.

The function gets no widgets, only plain data (a copy of the graph, paths); its result or its error
message comes back as a signal, delivered on the UI thread. TensorFlow is imported inside the
function, never at start-up.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
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


def import_keras(path: str) -> SimpleNamespace:
    """Turn a ``.keras`` / ``.h5`` model into a graph, in a child process (``import`` of the
    CLI). A stranger's file is parsed (zip, JSON, HDF5) outside the editor: a native reader that
    crashes on a crafted file (h5py did, closing a file in a worker thread) ends that process
    only, and the editor reports it. Returns ``.graph`` and ``.notes``."""
    import subprocess
    import sys
    import tempfile

    from playground.core import fileformat

    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    code = "import sys; from playground.cli import main; raise SystemExit(main(sys.argv[1:]))"
    with tempfile.TemporaryDirectory(prefix="playground-import-") as folder:
        out = os.path.join(folder, "imported.json")
        try:
            done = subprocess.run([sys.executable, "-c", code, "import", path, "--out", out],
                                  capture_output=True, text=True, timeout=900, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PlaygroundError(f"{path}: the import took longer than 15 minutes; "
                                  "stopped") from None
        if done.returncode != 0 or not os.path.isfile(out):
            lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.startswith("error:")]
            if errors:
                start = lines.index(errors[0])
                text = "\n".join(lines[start:start + 20])
                raise PlaygroundError(text.removeprefix("error: "))
            why = (f"killed by signal {-done.returncode}" if done.returncode < 0
                   else f"exit code {done.returncode}")
            raise PlaygroundError(f"{path}: the import process ended unexpectedly ({why}); "
                                  "the file may be damaged or crafted")
        graph = fileformat.load(out)
    notes = [ln for ln in done.stdout.splitlines() if ln.strip() and not ln.startswith("wrote ")]
    return SimpleNamespace(graph=graph, notes=notes)
