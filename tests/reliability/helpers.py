"""Shared helpers for the reliability suite (issue 6: never crash, never lose work, never run a
stranger's code).

Tiny graphs (as documents and files), ``run_cli`` (``playground.cli.main`` in-process, returning
exit code, stdout and stderr, asserting no traceback reached the user), ``Answers`` (the scripted
message-box and file-dialog answers of the ``answers`` fixture) and ``edit`` (one undoable edit
through the editor). No Qt import at module level.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playground.core import fileformat
from playground.core.graph import Graph

FORMAT = "keras-playground-graph"


def document(nodes: list[dict[str, Any]], edges: list[tuple[str, str]],
             name: str = "test", **extra: Any) -> dict[str, Any]:
    return {"format": FORMAT, "version": 1, "name": name, "nodes": nodes,
            "edges": [{"from": s, "to": d} for s, d in edges], **extra}


def tiny_document(name: str = "tiny") -> dict[str, Any]:
    """input 8x8x1 -> conv(4) -> pool -> flatten -> dense(10): ~1,500 params, trains in a second."""
    return document([
        {"id": "input", "type": "Input", "params": {"shape": [8, 8, 1]}, "pos": [0, 0]},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 3,
                                                    "activation": "relu"}, "pos": [260, 0]},
        {"id": "pool", "type": "MaxPooling2D", "params": {"pool_size": 2}, "pos": [520, 0]},
        {"id": "flatten", "type": "Flatten", "params": {}, "pos": [780, 0]},
        {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"},
         "pos": [1040, 0]},
    ], [("input", "conv"), ("conv", "pool"), ("pool", "flatten"), ("flatten", "out")], name=name)


def tiny_graph(name: str = "tiny") -> Graph:
    return fileformat.from_document(tiny_document(name))


def write_graph(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``playground.cli.main(argv)`` in-process; asserts no traceback reached the user."""
    from playground.cli import main

    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own exits (exit 2 for bad arguments)
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    return code, out, err


def files_in(folder: Path) -> list[str]:
    """Every entry of ``folder`` (hidden temp files included), sorted."""
    return sorted(p.name for p in folder.iterdir())



class Answers:
    """Scripted answers for QMessageBox static methods and a log of every box shown."""

    def __init__(self) -> None:
        self.question: Any = None          # set by the fixture: StandardButton.Discard
        self.discard: Any = None           # StandardButton.Discard (helpers stay Qt-free)
        self.questions: list[Any] = []     # answers consumed in order before ``question``
        self.save_path: str = ""           # QFileDialog.getSaveFileName's answer ("" = cancel)
        self.open_path: str = ""
        self.folder: str = ""              # QFileDialog.getExistingDirectory's answer
        self.shown: list[tuple[str, str, str]] = []   # (kind, title, text)

    def texts(self, kind: str | None = None) -> list[str]:
        return [text for k, _title, text in self.shown if kind is None or k == kind]


def edit(win, node_id: str = "conv", key: str = "filters", value: Any = 7) -> None:
    """One undoable edit through the editor's command path (marks the document modified)."""
    assert win.editor.set_param(node_id, key, value)
    assert win.doc.is_modified()
