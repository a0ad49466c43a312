"""Issue 10 point 4: the panel's data preview and evaluation view sample a streamed dataset
(only the images shown are decoded), with shear and fancy-PCA augmentation in the preview."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import playground.ui  # noqa: E402,F401  (PySide6/Python 3.11 work-around)
from playground.training.config import RunConfig  # noqa: E402
from tests.data.test_stream import folder  # noqa: E402
from tests.training.helpers import tiny  # noqa: E402


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    from playground.ui.training_panel import TrainingPanel

    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    graph = tiny(shape=(8, 8, 3))
    widget = TrainingPanel(lambda: graph)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    assert widget.stop_and_wait(60_000)


def test_preview_of_a_folder_decodes_only_its_samples(panel, qtbot, tmp_path, monkeypatch):
    from playground.data import stream

    root = folder(tmp_path / "set", per_class=60)
    decoded: list[int] = []
    real_files, real_many = stream.decode_files, stream.decode_many

    def counting_files(paths, shape, skip=False):
        decoded.append(len(paths))
        return real_files(paths, shape, skip)

    def counting_many(paths, shape, skip=False):
        decoded.append(len(paths))
        return real_many(paths, shape, skip)

    monkeypatch.setattr(stream, "decode_files", counting_files)
    monkeypatch.setattr(stream, "decode_many", counting_many)
    panel.set_config(RunConfig(dataset=str(root), augment=["shear", "pca"]))
    panel.preview()
    qtbot.waitUntil(lambda: not panel.jobs, timeout=60_000)
    assert len(panel.preview_cells) == 32 and "with augmentation" in panel.status_text
    assert sum(decoded) <= 16 + 64  # the 16 shown + the 64-image PCA sample, not all 120


def test_evaluation_view_images_come_from_the_stream(panel, qtbot, tmp_path):
    root = folder(tmp_path / "set", per_class=10)
    panel.set_config(RunConfig(dataset=str(root), epochs=1, batch_size=4))
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None
                    and not panel.jobs, timeout=120_000)
    result = panel.last_result
    assert result.ok, result.message
    assert result.evaluation["samples"] == 4
    # The training process decoded the most confidently wrong samples from the stream and sent
    # their pictures with its last event; the editor decodes nothing.
    images = panel._eval_images(result)
    wrong = result.evaluation["wrong"]
    assert sorted(images) == sorted(wrong) and wrong
    for image in images.values():
        assert isinstance(image, np.ndarray) and image.shape == (8, 8, 3)
        assert image.dtype == np.uint8


def test_panel_checkboxes_set_class_weights_and_skipping(panel):
    assert not panel.config().class_weights and panel.config().bad_images == "stop"
    panel.class_weights.setChecked(True)
    panel.skip_bad_images.setChecked(True)
    config = panel.config()
    assert config.class_weights and config.bad_images == "skip"
    panel.set_config(RunConfig())
    assert not panel.class_weights.isChecked() and not panel.skip_bad_images.isChecked()
