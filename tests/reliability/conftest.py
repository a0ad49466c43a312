"""Fixtures of the reliability suite: a real ``MainWindow`` offscreen with scripted message boxes
and file dialogs (each test decides every answer a user would give), a private autosave folder
and runs folder. Qt is imported only by the fixtures that need it, so the CLI-only modules of this
suite stay Qt-free. Plain helpers live in ``helpers.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from playground.core.graph import Graph
from tests.reliability.helpers import Answers


@pytest.fixture
def answers(monkeypatch) -> Answers:
    pytest.importorskip("pytestqt")
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    import playground.ui  # noqa: F401  (PySide6/Python 3.11 work-around)

    ans = Answers()
    ans.discard = QMessageBox.StandardButton.Discard
    ans.question = ans.discard

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
    # Close while the scripted answers are still in place: a window holding unsaved work asks
    # first, and a test that answered "Cancel" must not leave its editor open for the next test.
    answers.questions.clear()
    answers.question = answers.discard
    for win in made:
        panel = win.training_panel
        if panel is not None and hasattr(panel, "stop_and_wait"):
            panel.stop_and_wait(60_000)
        win.wait_for_workers()
        win.close()
