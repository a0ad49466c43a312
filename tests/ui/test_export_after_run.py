"""File > Export after a training run: asks "weights of run X, or untrained?" and exports what the
user chose, inside a real MainWindow; the SavedModel gives the run's accuracy."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox  # noqa: E402

from playground.data.digits import load_digits  # noqa: E402
from playground.training.config import RunConfig  # noqa: E402
from tests.exporters.serving_checks import (  # noqa: E402
    check_contract,
    load,
    manifest,
    serve,
)
from tests.training.helpers import tiny  # noqa: E402
from tests.ui.conftest import load_into  # noqa: E402


def answer_weights_question(button_text: str | None, asked: list[str]) -> None:
    """Click a button of the export-weights question once it is shown (None: Cancel)."""

    tries = [0]

    def click() -> None:
        box = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.objectName() == "exportWeightsQuestion"
                    and w.isVisible()), None)
        if box is None:
            tries[0] += 1
            if tries[0] < 250:          # about 5 s, then the test's own assertions fail
                QTimer.singleShot(20, click)
            return
        asked.append(box.text())
        if button_text is None:
            box.button(QMessageBox.StandardButton.Cancel).click()
            return
        (button,) = [b for b in box.buttons() if b.text() == button_text]
        button.click()

    QTimer.singleShot(0, click)


@pytest.fixture
def trained(window, qtbot, tmp_path, monkeypatch):
    """The window after a real four-epoch run of the tiny digits graph in its training panel."""
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    load_into(window, tiny())
    panel = window.training_panel
    panel.set_config(RunConfig(epochs=4, batch_size=32, optimizer="adam", lr=0.01))
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None
                    and not panel.jobs, timeout=180_000)
    assert panel.last_result.status == "finished"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    yield window
    assert panel.stop_and_wait(60_000)


def accuracy_of(path, result) -> float:
    data = load_digits()
    rows = result.eval_indices
    return float(np.mean(serve(load(path), data.x[rows]).argmax(1) == data.y[rows]))


def test_file_export_after_a_run_exports_the_runs_weights(trained, qtbot, tmp_path):
    result = trained.training_panel.last_result
    asked: list[str] = []
    answer_weights_question("Weights of the run", asked)
    trained.act_export_saved.trigger()
    trained.wait_for_workers()
    assert len(asked) == 1 and "run" in asked[0]
    out = tmp_path / "tiny_savedmodel"
    assert (out / "saved_model.pb").is_file()
    assert abs(accuracy_of(out, result) - result.evaluation["accuracy"]) < 1e-6
    assert manifest(out)["weights"] == f"run {result.run_dir}"
    check_contract(out, load_digits().x[:6], 10)      # another size, PNG and JPEG bytes
    qtbot.waitUntil(lambda: "weights of run" in trained.statusBar().currentMessage())


def test_file_export_untrained_when_the_user_says_so_and_cancel_writes_nothing(
        trained, qtbot, tmp_path):
    out = tmp_path / "tiny_savedmodel"
    asked: list[str] = []
    answer_weights_question(None, asked)
    trained.act_export_saved.trigger()
    trained.wait_for_workers()
    assert len(asked) == 1 and not out.exists()
    answer_weights_question("Untrained", asked)
    trained.act_export_saved.trigger()
    trained.wait_for_workers()
    assert len(asked) == 2 and manifest(out)["weights"] == "untrained"
    result = trained.training_panel.last_result
    assert accuracy_of(out, result) < result.evaluation["accuracy"] - 0.3
    qtbot.waitUntil(lambda: "untrained" in trained.statusBar().currentMessage())


def test_python_script_export_asks_nothing(trained, tmp_path, monkeypatch):
    target = tmp_path / "net.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    trained.act_export_python.trigger()        # a script holds no weights: no question
    trained.wait_for_workers()
    assert "def build_model" in target.read_text()


def test_menu_and_panel_offer_every_registered_format(window):
    from playground.exporters import names

    assert tuple(window.export_actions) == names()
    assert tuple(window.training_panel.export_buttons) == names()
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    export = next(a.menu() for a in menu.actions() if a.text() == "&Export")
    assert [a.text() for a in export.actions()] == [window.export_actions[n].text()
                                                    for n in names()]
