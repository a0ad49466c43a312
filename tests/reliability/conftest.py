"""Shared helpers for the reliability suite (issue 6: never crash, never lose work, never run a
stranger's code).

CLI helpers run ``playground.cli.main`` in-process and return (exit code, stdout, stderr); GUI
fixtures build a real ``MainWindow`` offscreen with scripted message boxes and file dialogs, so a
test decides every answer a user would give. Qt is imported only by the fixtures that need it, so
the CLI-only modules of this suite stay Qt-free.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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


# --------------------------------------------------------------------------------- GUI fixtures
class Answers:
    """Scripted answers for QMessageBox static methods and a log of every box shown."""

    def __init__(self) -> None:
        self.question: Any = None          # set by the fixture: StandardButton.Discard
        self.questions: list[Any] = []     # answers consumed in order before ``question``
        self.save_path: str = ""           # QFileDialog.getSaveFileName's answer ("" = cancel)
        self.open_path: str = ""
        self.folder: str = ""              # QFileDialog.getExistingDirectory's answer
        self.shown: list[tuple[str, str, str]] = []   # (kind, title, text)

    def texts(self, kind: str | None = None) -> list[str]:
        return [text for k, _title, text in self.shown if kind is None or k == kind]


@pytest.fixture
def answers(monkeypatch) -> Answers:
    pytest.importorskip("pytestqt")
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    import playground.ui  # noqa: F401  (PySide6/Python 3.11 work-around)

    ans = Answers()
    ans.question = QMessageBox.StandardButton.Discard

    def question(parent, title, text, *args, **kwargs):
        ans.shown.append(("question", title, text))
        return ans.questions.pop(0) if ans.questions else ans.question

    def note(kind):
        def show(parent, title, text, *args, **kwargs):
            ans.shown.append((kind, title, text))
            return QMessageBox.StandardButton.Ok
        return show

    monkeypatch.setattr(QMessageBox, "question", question)
    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, note(kind))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (ans.save_path, ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (ans.open_path, ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: ans.folder)
    return ans


@pytest.fixture
def autosave_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "autosave"
    monkeypatch.setenv("PLAYGROUND_AUTOSAVE_DIR", str(path))
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    return path


@pytest.fixture
def make_window(qtbot, answers, autosave_dir):
    """``make_window(graph=None, path=None, offer_recovery=False)`` -> a shown MainWindow."""
    from playground.ui.main_window import MainWindow

    made = []

    def make(graph: Graph | None = None, path: str | None = None,
             offer_recovery: bool = False) -> MainWindow:
        win = MainWindow(graph, path, offer_recovery=offer_recovery)
        win.persist_settings = False
        win.resize(1000, 700)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make
    for win in made:
        panel = win.training_panel
        if panel is not None and hasattr(panel, "stop_and_wait"):
            panel.stop_and_wait(60_000)
        win.wait_for_workers()


def edit(win, node_id: str = "conv", key: str = "filters", value: Any = 7) -> None:
    """One undoable edit through the editor's command path (marks the document modified)."""
    assert win.editor.set_param(node_id, key, value)
    assert win.doc.is_modified()
