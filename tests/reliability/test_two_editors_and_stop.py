"""Issue 11 in the real window: two editors on one file (the second save must not silently undo
the first), and Stop pressed while a run is still starting up (it must end before training)."""

from __future__ import annotations

import json

import pytest

from playground.core import fileformat
from tests.reliability.helpers import edit, tiny_graph

pytest.importorskip("pytestqt")


def _other_editor_saves(path, name="changed elsewhere"):
    """Another program rewrites the file (different bytes, new mtime)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["name"] = name
    doc["nodes"][1]["params"]["filters"] = 3
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_saving_over_a_file_changed_on_disk_asks_first(make_window, answers, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    B = QMessageBox.StandardButton
    path = tmp_path / "shared.json"
    fileformat.save(tiny_graph(), path)
    win = make_window(fileformat.load(path), str(path))
    edit(win, "conv", "filters", 7)

    _other_editor_saves(path)
    theirs = path.read_bytes()
    answers.question = B.Cancel
    assert win.save() is False
    assert answers.texts("question") == [
        f"{path} was changed on disk since you opened or last saved it (by another editor or "
        "program).\n\nSave anyway and replace those changes with yours?"]
    assert path.read_bytes() == theirs            # their work is still there
    assert win.doc.is_modified()                  # and ours is still unsaved

    answers.question = B.Save
    assert win.save() is True
    assert fileformat.load(path).node("conv").params["filters"] == 7
    assert not win.doc.is_modified()

    # After our own save, saving again asks nothing; a touch (same bytes) is not a change.
    answers.shown.clear()
    edit(win, "conv", "filters", 5)
    path.write_bytes(path.read_bytes())
    assert win.save() is True
    assert answers.texts("question") == []


def test_stop_during_start_up_cancels_the_run_before_training(make_window, qtbot):
    from playground.training.config import RunConfig
    from playground.training.worker import live_threads

    win = make_window(tiny_graph())
    panel = win.training_panel
    panel.set_config(RunConfig(epochs=200, batch_size=16))
    assert panel.start()
    panel.stop()                                   # at once: the run is still starting up
    qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None,
                    timeout=120_000)
    result = panel.last_result
    assert result.status == "stopped"
    assert result.message.endswith("; nothing was trained")
    assert result.history == [] and result.evaluation is None
    assert panel.plots.points("batch_loss") == 0
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert live_threads() == []
