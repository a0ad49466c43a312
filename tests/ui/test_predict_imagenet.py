"""The Predict dock's ImageNet button on a real keras.applications twin (MobileNet at 128x128,
its ImageNet file placed in a temporary Keras cache): the inference process loads Keras' weights,
preprocesses like ``keras.applications.mobilenet`` and the bars carry the 1,000 class names."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from playground.core import fileformat
from tests.predict.helpers import mobilenet_twin, write_png

pytest.importorskip("tensorflow")


def test_imagenet_button_predicts_with_keras_weights_and_class_names(window, qtbot, tmp_path,
                                                                     monkeypatch):
    from keras.applications import mobilenet

    from playground.inspect.twin import imagenet_class_names

    model, home, graph_file = mobilenet_twin(tmp_path, 128)
    # Set before the dock starts its inference process, which inherits the environment.
    monkeypatch.setenv("KERAS_HOME", str(home))
    window.doc.set_graph(fileformat.load(graph_file), None)
    view = window.predict_view
    window.predict_dock.show()
    window.predict_dock.raise_()
    qtbot.waitUntil(lambda: view.on_screen(), timeout=5000)
    qtbot.mouseClick(view.imagenet_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.loaded is not None and not view.busy, timeout=180_000)
    assert not view.loaded.random
    assert "ImageNet" in view.source_label.text()
    rgb = (np.random.default_rng(4).random((128, 128, 3)) * 255).astype(np.uint8)
    assert view.open_image(write_png(tmp_path / "photo.png", rgb))
    qtbot.waitUntil(lambda: view.result is not None and not view.busy, timeout=60_000)
    expected = model(mobilenet.preprocess_input(rgb[None].astype(np.float32))).numpy()[0]
    names = imagenet_class_names()
    rows = view.bars.rows
    assert [r["index"] for r in rows] == list(np.argsort(-expected)[:len(rows)])
    for row in rows:
        assert row["class"] == names[row["index"]]
        assert row["p"] == pytest.approx(float(expected[row["index"]]), rel=1e-3, abs=1e-5)
    assert "[-1, 1]" in view.note_label.text()      # the family's preprocessing, in words
    view.wait_idle()
