"""Honest panel state: a newly opened graph shows no trace of the old run; closing during
training asks every question before it stops anything; file dialogs start in the user's
folders; frozen layers without initial weights are offered the last run's weights or named as
random."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QCloseEvent  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

from playground.core.presets import preset_path  # noqa: E402
from tests.training.helpers import tiny  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
B = QMessageBox.StandardButton


class _Result:
    model = object()
    built = graph = run_dir = None


def test_opening_another_graph_clears_the_old_run(window, tmp_path) -> None:
    panel = window.training_panel
    panel.plots.set_epochs(2)
    panel.plots.add_epoch({"epoch": 1, "loss": 0.5, "val_loss": 0.6, "accuracy": 0.8,
                           "val_accuracy": 0.7, "lr": 0.1})
    panel.plots.redraw()
    panel.last_result, panel.last_run_dir = _Result(), str(tmp_path)
    panel._set_status("finished after 2 epochs; val_accuracy 0.7000", error=False)
    panel.progress.setValue(100)
    assert panel.plots.points("val_loss") > 0
    assert window.open_file(preset_path("alexnet"), as_copy=True, ask=False)
    assert panel.status_text == "ready" and panel.progress.value() == 0
    assert panel.plots.points("val_loss") == 0
    assert panel.last_result is None and panel.last_run_dir is None
    assert not panel.export_keras_button.isEnabled() and not panel.resume_button.isEnabled()


def _scripted(monkeypatch, replies: list) -> list[str]:
    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return replies.pop(0) if replies else B.Cancel

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_closing_during_training_asks_everything_before_stopping(window, monkeypatch) -> None:
    panel = window.training_panel
    stops: list[int] = []
    monkeypatch.setattr(panel, "is_running", lambda: True)
    monkeypatch.setattr(panel, "stop_and_wait", lambda ms: stops.append(ms) or True)
    window.editor.add_block("Input", window.view.mapToScene(10, 10))
    assert window.doc.is_modified()
    # Yes, stop the run ... then Cancel at "save changes?": nothing was stopped.
    asked = _scripted(monkeypatch, [B.Yes, B.Cancel])
    event = QCloseEvent()
    window.closeEvent(event)
    assert not event.isAccepted()
    assert len(asked) == 2 and "Training is running" in asked[0] and "unsaved" in asked[1]
    assert stops == []
    # Yes, then Discard: only now the run is stopped, and the window closes.
    asked = _scripted(monkeypatch, [B.Yes, B.Discard])
    event = QCloseEvent()
    window.closeEvent(event)
    assert event.isAccepted() and stops == [15000]
    monkeypatch.setattr(panel, "is_running", lambda: False)   # the fixture's own close
    monkeypatch.setattr(window.doc, "is_modified", lambda: False)


def test_file_dialogs_start_in_documents_then_the_last_folder(window, monkeypatch,
                                                               tmp_path) -> None:
    from playground.ui import file_dialogs

    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    file_dialogs.forget()
    seen: list[str] = []

    def open_name(parent, title, folder, *args, **kwargs):
        seen.append(folder)
        return (str(tmp_path / "elsewhere" / "g.json"), "")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_name)
    monkeypatch.setattr(window, "open_file", lambda path, **kw: True)
    (tmp_path / "elsewhere").mkdir()
    start = file_dialogs.start_dir()
    assert Path(start).resolve() != ROOT.resolve()
    assert start in (str(home / "Documents"), str(home))
    window.doc.path = None
    window.open_dialog()
    assert seen == [start]
    window.open_dialog()
    assert seen[-1] == str(tmp_path / "elsewhere")   # the folder last used
    file_dialogs.forget()


def test_frozen_layers_without_weights_are_offered_the_last_run(qtbot, monkeypatch,
                                                                 tmp_path) -> None:
    from playground.ui.training_panel import TrainingPanel

    graph = tiny()
    graph.node("conv").trainable = False
    panel = TrainingPanel(lambda: graph)
    qtbot.addWidget(panel)
    # No earlier run: said plainly, nothing asked.
    asked = _scripted(monkeypatch, [])
    weights, note = panel._frozen_without_weights(graph)
    assert weights is None and "conv" in note and "random" in note and asked == []
    # An earlier run: offered. Cancel starts nothing; Yes uses its folder.
    run_dir = tmp_path / "run-1"
    run_dir.mkdir()
    panel.last_run_dir = str(run_dir)
    asked = _scripted(monkeypatch, [B.Cancel])
    assert panel.start() is False and panel.worker is None
    assert "frozen" in asked[0] and "run-1" in asked[0]
    _scripted(monkeypatch, [B.Yes])
    weights, note = panel._frozen_without_weights(graph)
    assert weights == str(run_dir) and panel.init_weights.text() == str(run_dir)
    # Nothing frozen with weights (a frozen Flatten holds none): no question, no note.
    graph.node("conv").trainable = True
    graph.node("flatten").trainable = False
    assert panel._frozen_without_weights(graph) is None
    assert os.path.isdir(run_dir)
