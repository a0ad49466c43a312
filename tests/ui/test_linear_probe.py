"""The node menu's "Train a linear classifier on these features", inside a real MainWindow: the
panel trains the graph cut after the node on its cached features, with the last run's weights,
and the editor's graph stays as it was."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from playground.core.fileformat import dumps  # noqa: E402
from playground.training.config import RunConfig  # noqa: E402
from tests.training.helpers import tiny  # noqa: E402
from tests.ui.conftest import load_into  # noqa: E402


def test_linear_probe_from_the_node_menu(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    load_into(window, tiny())
    before = dumps(window.doc.graph)
    panel = window.training_panel
    panel.set_config(RunConfig(epochs=2, batch_size=32, optimizer="adam", lr=0.01))
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None,
                    timeout=180_000)
    first_run = panel.last_run_dir
    assert not [a for a in window.build_context_menu("input").actions()
                if a.objectName() == "linearProbe"]
    menu = window.build_context_menu("conv")
    (action,) = [a for a in menu.actions() if a.objectName() == "linearProbe"]
    action.trigger()
    qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None,
                    timeout=180_000)
    result = panel.last_result
    assert result.status == "finished", result.message
    assert result.graph.node_ids == ["input", "conv", "conv_probe_pool", "probe"]
    log = panel.log.toPlainText()
    assert f"stages' weights: {first_run}" in log
    assert "feature cache: the frozen nodes up to conv_probe_pool" in log
    assert dumps(window.doc.graph) == before and not window.doc.undo_stack.canUndo()
    assert panel.stop_and_wait(60_000)
