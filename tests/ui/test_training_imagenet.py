"""The training panel's "ImageNet (Keras applications)" initial weights: offered only for a
keras.applications twin, loaded in the worker from the Keras cache (a file placed in a temporary
KERAS_HOME), and offline a message naming the file and the folder, with the panel still usable."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import playground.ui  # noqa: E402,F401  (PySide6/Python 3.11 work-around)
from playground.training.config import RunConfig  # noqa: E402
from tests.keras_build.helpers import write_legacy_h5  # noqa: E402
from tests.training.helpers import NOTOP, tiny, twin_graph  # noqa: E402


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras-home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    return home


def make_panel(qtbot, graph):
    from playground.ui.training_panel import TrainingPanel

    panel = TrainingPanel(lambda: graph)
    qtbot.addWidget(panel)
    panel.resize(1200, 400)
    panel.show()
    return panel


def finished(panel) -> bool:
    return not panel.is_running() and panel.last_result is not None and not panel.jobs


def test_offered_only_for_a_keras_applications_twin(qtbot):
    graph = tiny()
    panel = make_panel(qtbot, graph)
    assert not panel.imagenet_weights.isEnabled()
    assert panel.initial_weights() is None
    graph.extra["keras_application"] = "VGG16"
    panel.refresh_graph_options()
    assert panel.imagenet_weights.isEnabled() and "VGG16" in panel.imagenet_weights.toolTip()
    panel.init_weights.setText("some.keras")
    panel.imagenet_weights.setChecked(True)
    assert panel.initial_weights() == "imagenet" and not panel.init_weights.isEnabled()
    del graph.extra["keras_application"]
    panel.refresh_graph_options()
    assert not panel.imagenet_weights.isChecked() and panel.initial_weights() == "some.keras"


def test_the_main_window_enables_it_for_the_mobilenet_preset(window):
    from playground.core import fileformat
    from playground.core.presets import preset_path
    from tests.ui.conftest import load_into

    panel = window.training_panel
    assert not panel.imagenet_weights.isEnabled()
    load_into(window, fileformat.load(preset_path("mobilenet")))
    window.doc.current_analysis()
    assert panel.imagenet_weights.isEnabled()


def test_cached_imagenet_file_loads_in_the_worker(qtbot, keras_home):
    rng = np.random.default_rng(3)
    kernel = rng.normal(size=(3, 3, 1, 4)).astype("float32")
    bias = rng.normal(size=(4,)).astype("float32")
    write_legacy_h5(keras_home / "models" / NOTOP, [("block1_conv1", [kernel, bias])])
    panel = make_panel(qtbot, twin_graph())
    panel.imagenet_weights.setChecked(True)
    # SGD at the smallest learning rate: the trained kernel stays at the loaded one.
    panel.set_config(RunConfig(epochs=1, batch_size=64, optimizer="sgd", lr=1e-6))
    assert panel.start()
    qtbot.waitUntil(lambda: finished(panel), timeout=120_000)
    log = panel.log.toPlainText()
    assert panel.last_result.status == "finished", log
    assert f"weights: imagenet (VGG16: {keras_home / 'models' / NOTOP}): loaded 1 layer(s)" in log
    loaded = panel.last_result.model.get_layer("block1_conv1").get_weights()
    np.testing.assert_allclose(loaded[0], kernel, atol=1e-4)
    np.testing.assert_allclose(loaded[1], bias, atol=1e-4)


def test_offline_names_the_file_and_the_cache_folder(qtbot, keras_home, monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: Name or service not known")  # noqa: TRY002

    monkeypatch.setattr(keras.utils, "get_file", offline)
    panel = make_panel(qtbot, twin_graph())
    panel.imagenet_weights.setChecked(True)
    panel.set_config(RunConfig(epochs=1, batch_size=64))
    assert panel.start()
    qtbot.waitUntil(lambda: finished(panel), timeout=120_000)
    assert panel.last_result.status == "error"
    text = panel.status_text
    assert NOTOP in text and str(keras_home / "models" / NOTOP) in text and "Offline?" in text
    assert "Traceback" not in panel.log.toPlainText()
    assert "color" in panel.status.styleSheet()
    # Still usable: another run can start.
    assert panel.start_button.isEnabled()
    panel.imagenet_weights.setChecked(False)
    assert panel.start()
    qtbot.waitUntil(lambda: finished(panel), timeout=120_000)
    assert panel.last_result.status == "finished"
