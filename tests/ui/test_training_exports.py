"""Exports from the training panel: the Python script of the trained model, and asking before a
.keras file or a SavedModel folder that the panel named itself replaces an existing one."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

import playground.ui  # noqa: E402,F401  (PySide6/Python 3.11 work-around)
from playground.training.config import RunConfig  # noqa: E402

YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


class Dialogs:
    """Scripted file-dialog answers and QMessageBox.question replies, with a log of questions."""

    def __init__(self) -> None:
        self.save_path = ""
        self.folder = ""
        self.reply = NO
        self.asked: list[str] = []


@pytest.fixture
def dialogs(monkeypatch) -> Dialogs:
    d = Dialogs()

    def question(parent, title, text, *args, **kwargs):
        d.asked.append(text)
        return d.reply

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (d.save_path, ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: d.folder)
    return d


@pytest.fixture
def panel(tiny_panel, qtbot):
    """A panel after a real one-epoch run of the tiny digits graph."""
    widget = tiny_panel
    widget.show()
    widget.set_config(RunConfig(epochs=1, batch_size=64))
    assert not widget.export_python_button.isEnabled()
    assert widget.start()
    qtbot.waitUntil(lambda: not widget.is_running() and widget.last_result is not None
                    and not widget.jobs, timeout=120_000)
    assert widget.last_result.status == "finished"
    yield widget
    assert widget.stop_and_wait(60_000)


def wait_jobs(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel.jobs, timeout=120_000)


def test_python_script_rebuilds_the_trained_model(panel, qtbot, dialogs, tmp_path):
    assert panel.export_python_button.isEnabled()
    dialogs.save_path = str(tmp_path / "net")          # the panel adds ".py"
    panel.export_python_button.click()
    wait_jobs(qtbot, panel)
    script = tmp_path / "net.py"
    assert panel.status_text == f"wrote {script}" and dialogs.asked == []
    namespace: dict = {}
    exec(compile(script.read_text(), str(script), "exec"), namespace)  # noqa: S102
    rebuilt = namespace["build_model"]()
    model = panel.last_result.model
    assert rebuilt.count_params() == model.count_params()
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    assert panel.last_result.run_dir in script.read_text()


def test_python_script_asks_before_replacing_a_name_it_completed(panel, qtbot, dialogs,
                                                                 tmp_path):
    script = tmp_path / "net.py"
    script.write_text("mine\n")
    dialogs.save_path = str(tmp_path / "net")
    dialogs.reply = NO
    panel.export_python_button.click()
    assert len(dialogs.asked) == 1 and str(script) in dialogs.asked[0]
    assert not panel.jobs and script.read_text() == "mine\n"
    assert panel.status_text == f"export cancelled: {script} kept"
    dialogs.reply = YES
    panel.export_python_button.click()
    wait_jobs(qtbot, panel)
    assert len(dialogs.asked) == 2 and "def build_model" in script.read_text()


def test_keras_save_asks_when_the_panel_added_the_ending(panel, qtbot, dialogs, tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    dialogs.save_path = str(tmp_path / "model")
    dialogs.reply = NO
    panel.export_keras_button.click()
    assert len(dialogs.asked) == 1 and "file" in dialogs.asked[0]
    assert not panel.jobs and target.read_bytes() == b"old"
    dialogs.reply = YES
    panel.export_keras_button.click()
    wait_jobs(qtbot, panel)
    assert target.read_bytes()[:2] == b"PK" and panel.status_text == f"wrote {target}"
    # A name the dialog returned as it is: the dialog itself asked, the panel does not again.
    dialogs.save_path = str(target)
    panel.export_keras_button.click()
    wait_jobs(qtbot, panel)
    assert len(dialogs.asked) == 2 and panel.status_text == f"wrote {target}"


def test_savedmodel_asks_before_replacing_the_folder(panel, qtbot, dialogs, tmp_path):
    out = tmp_path / "savedmodel"
    out.mkdir()
    (out / "saved_model.pb").write_bytes(b"old")
    dialogs.folder = str(tmp_path)
    dialogs.reply = NO
    panel.export_saved_button.click()
    assert len(dialogs.asked) == 1 and "folder" in dialogs.asked[0] and str(out) in \
        dialogs.asked[0]
    assert not panel.jobs and (out / "saved_model.pb").read_bytes() == b"old"
    assert panel.status_text == f"export cancelled: {out} kept"
    dialogs.reply = YES
    panel.export_saved_button.click()
    wait_jobs(qtbot, panel)
    assert panel.status_text == f"wrote {out}"
    assert (out / "saved_model.pb").read_bytes() != b"old" and (out / "variables").is_dir()


def test_new_savedmodel_folder_is_written_without_asking(panel, qtbot, dialogs, tmp_path):
    folder = tmp_path / "fresh"
    folder.mkdir()
    dialogs.folder = str(folder)
    panel.export_saved_button.click()
    wait_jobs(qtbot, panel)
    assert dialogs.asked == [] and (folder / "savedmodel" / "saved_model.pb").is_file()


def test_panel_savedmodel_follows_the_serving_contract(panel, qtbot, dialogs, tmp_path):
    """The panel's SavedModel: raw 8x8 digits, another size and PNG/JPEG bytes; the run's
    weights (its accuracy) and the digits' class names."""
    import numpy as np

    from playground.data.digits import load_digits
    from tests.exporters.serving_checks import check_contract, load, manifest, serve

    dialogs.folder = str(tmp_path)
    panel.export_saved_button.click()
    wait_jobs(qtbot, panel)
    out = tmp_path / "savedmodel"
    data, result = load_digits(), panel.last_result
    check_contract(out, data.x[:6], 10)
    rows = result.eval_indices
    accuracy = float(np.mean(serve(load(out), data.x[rows]).argmax(1) == data.y[rows]))
    assert abs(accuracy - result.evaluation["accuracy"]) < 1e-6
    assert manifest(out)["class_names"] == data.class_names
