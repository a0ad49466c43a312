"""Fixtures for the editor tests: a main window with no settings, a private autosave folder and
message boxes that never block (each test decides the answer it needs)."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, QTimer  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

import playground.ui  # noqa: E402,F401  (applies the PySide6/Python 3.11 None work-around)
from playground.core import fileformat  # noqa: E402
from playground.core.graph import Graph  # noqa: E402


def make_graph(nodes: list[dict], edges: list[tuple[str, str]], name: str = "test") -> Graph:
    """A graph from compact node dicts (id, type, params, pos) and (src, dst) pairs."""
    return fileformat.from_document({
        "format": "keras-playground-graph", "version": 1, "name": name,
        "nodes": nodes, "edges": [{"from": s, "to": d} for s, d in edges]})


def chain_graph() -> Graph:
    """input -> conv -> gap -> dense, laid out left to right."""
    return make_graph([
        {"id": "input", "type": "Input", "params": {"shape": [16, 16, 3]}, "pos": [0, 0]},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 8, "kernel_size": 3},
         "pos": [260, 0]},
        {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}, "pos": [520, 0]},
        {"id": "dense", "type": "Dense", "params": {"units": 4, "activation": "softmax"},
         "pos": [780, 0]},
    ], [("input", "conv"), ("conv", "gap"), ("gap", "dense")])


@pytest.fixture
def tiny_panel(qtbot, tmp_path, monkeypatch):
    """A TrainingPanel (not yet shown) for the tiny digits graph, its runs in a private folder;
    the graph is on ``panel.graph``."""
    from playground.ui.training_panel import TrainingPanel
    from tests.training.helpers import tiny

    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    graph = tiny()
    widget = TrainingPanel(lambda: graph)
    widget.graph = graph
    qtbot.addWidget(widget)
    return widget


class Answers:
    """Scripted answers for QMessageBox.question and a log of every box shown."""

    def __init__(self) -> None:
        self.question = QMessageBox.StandardButton.Discard
        self.shown: list[tuple[str, str]] = []


@pytest.fixture
def answers(monkeypatch) -> Answers:
    ans = Answers()

    def question(parent, title, text, *args, **kwargs):
        ans.shown.append(("question", text))
        return ans.question

    def note(kind):
        def show(parent, title, text, *args, **kwargs):
            ans.shown.append((kind, text))
            return QMessageBox.StandardButton.Ok
        return show

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "warning", note("warning"))
    monkeypatch.setattr(QMessageBox, "critical", note("critical"))
    monkeypatch.setattr(QMessageBox, "information", note("information"))
    return ans


@pytest.fixture
def autosave_dir(tmp_path, monkeypatch):
    path = tmp_path / "autosave"
    monkeypatch.setenv("PLAYGROUND_AUTOSAVE_DIR", str(path))
    return path


@pytest.fixture
def window(qtbot, answers, autosave_dir):
    from playground.ui.main_window import MainWindow

    win = MainWindow(offer_recovery=False)
    win.resize(1200, 800)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.wait_for_workers()
    answers.question = QMessageBox.StandardButton.Discard


def load_into(win, graph: Graph) -> None:
    win.doc.set_graph(graph, None)
    win.view.reset_zoom()
    win.view.centerOn(QPointF(400, 40))


class Heart:
    """A 10 ms timer on the UI thread; ``longest`` is the longest gap between its beats."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self.beat)
        self.timer.start()

    def beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now

    def stop(self) -> float:
        self.timer.stop()
        return max(self.gaps)
