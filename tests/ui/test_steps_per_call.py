"""The training panel's "steps per call" setting, in the real window: shown, kept, and what the
run's log says it used."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

import playground.ui  # noqa: E402,F401  (PySide6/Python 3.11 work-around)
from playground.training.config import RunConfig  # noqa: E402
from tests.training.helpers import tiny  # noqa: E402
from tests.ui.conftest import load_into  # noqa: E402


def test_steps_per_call_is_a_run_setting_and_the_log_names_the_choice(window, qtbot,
                                                                       tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    load_into(window, tiny())
    panel = window.training_panel
    spin = panel.steps_per_call
    assert spin.value() == 0 and spin.text() == "auto"     # automatic unless asked
    panel.set_config(RunConfig(epochs=1, batch_size=64, steps_per_execution=5))
    assert spin.value() == 5 and panel.config().steps_per_execution == 5
    spin.setValue(0)
    assert panel.config().steps_per_execution == 0
    spin.setValue(10)
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None,
                    timeout=120_000)
    assert panel.last_result.status == "finished", panel.status_text
    log = panel.log.toPlainText()
    assert "steps per compiled call: 10 (set in the run settings)" in log
    # 23 steps in calls of 10, 10 and 3: the progress bar still reaches the end.
    assert panel.progress.value() == 100
