"""Item 7, training faults: NaN loss, out of memory, an exception inside a callback, Stop pressed
mid-epoch, the window closed during training. Each time the worker ends with a status and a
message (never an exception on the UI thread), the panel is usable again (Start enabled, Stop
disabled), the model trained so far is kept with finite weights (exportable), and no thread is
left running (the suite's conftest fails any test that leaves a QThread or a training thread).

TensorFlow work is kept tiny: a ~1,500-parameter model on the built-in 8x8 digits.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.reliability.helpers import tiny_graph

pytest.importorskip("pytestqt")


def _tanh_graph():
    """tanh passes NaN on (a ReLU would turn a NaN pixel into 0 and hide the poison)."""
    graph = tiny_graph()
    graph.set_param("conv", "activation", "tanh")
    return graph


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch, answers):
    import playground.ui  # noqa: F401
    from playground.ui.training_panel import TrainingPanel

    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    holder = {"graph": tiny_graph()}
    widget = TrainingPanel(lambda: holder["graph"])
    widget.holder = holder
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    assert widget.stop_and_wait(60_000)


def _wait_done(panel, qtbot, timeout=120_000):
    qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None
                    and not panel.jobs and not panel.timer.isActive(), timeout=timeout)
    from playground.training.worker import live_threads

    assert live_threads() == []
    return panel.last_result


def _assert_usable_with_a_finite_model(panel):
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    model = panel.last_result.model
    assert model is not None
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert panel.export_keras_button.isEnabled()   # the weights kept can be saved


def test_nan_loss_stops_and_keeps_the_last_good_weights(panel, qtbot, monkeypatch):
    """A learning rate of 1e30 blows the weights up: the loss is NaN by the second batch. (The
    panel's spin box stops at 10, which this tiny model survives, so the config is handed in.)"""
    from playground.keras_build.compile import build_model
    from playground.training.config import RunConfig

    config = RunConfig(epochs=3, batch_size=64, optimizer="sgd", lr=1e30)
    monkeypatch.setattr(panel, "config", lambda: config)
    assert panel.start()
    result = _wait_done(panel, qtbot)
    assert result.status == "nan"
    assert panel.status_text.startswith("nan: the loss became NaN at epoch 1, batch ")
    assert "last good weights were kept" in panel.status_text
    assert "color" in panel.status.styleSheet()     # shown as an error
    _assert_usable_with_a_finite_model(panel)
    # "Last good" = the weights at the start of the epoch that went bad: here the initial ones,
    # which are finite and of the right shapes (a fresh build gives the same layout).
    fresh = build_model(tiny_graph())
    assert [w.shape for w in result.model.get_weights()] == [w.shape for w in fresh.get_weights()]


def test_out_of_memory_mid_training_is_reported_with_a_smaller_batch(panel, qtbot,
                                                                     monkeypatch, tmp_path):
    from playground.training.config import RunConfig
    from tests.child_hooks import inject

    inject(monkeypatch, tmp_path, """
        import tensorflow as tf

        from playground.training import callbacks

        real = callbacks.ProgressCallback.on_train_batch_begin

        def oom_in_epoch_two(self, batch, logs=None):
            if self.epoch == 1 and batch == 3:
                raise tf.errors.ResourceExhaustedError(
                    None, None, "OOM when allocating tensor with shape[64,4,6,6]")
            return real(self, batch, logs)

        callbacks.ProgressCallback.on_train_batch_begin = oom_in_epoch_two
    """)
    panel.set_config(RunConfig(epochs=3, batch_size=64, steps_per_execution=1))
    assert panel.start()
    result = _wait_done(panel, qtbot)
    assert result.status == "oom"
    assert "out of memory with batch size 64: try a smaller batch (e.g. 32)" in panel.status_text
    _assert_usable_with_a_finite_model(panel)
    assert panel.plots.points("loss") == 1           # the finished epoch is still plotted


def test_an_exception_inside_a_callback_ends_the_run_with_a_message(panel, qtbot, monkeypatch,
                                                                   tmp_path):
    """The run folder's history write fails with a full disk at the end of epoch 2."""
    from playground.training import runs
    from playground.training.config import RunConfig
    from tests.child_hooks import inject

    inject(monkeypatch, tmp_path, """
        import errno, os

        from playground.training import runs

        real = runs.write_history

        def full_on_second_epoch(run_dir, rows):
            if len(rows) >= 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(run_dir))
            return real(run_dir, rows)

        runs.write_history = full_on_second_epoch
    """)
    panel.set_config(RunConfig(epochs=4, batch_size=64))
    assert panel.start()
    result = _wait_done(panel, qtbot)
    assert result.status == "error"
    assert "No space left on device" in panel.status_text
    _assert_usable_with_a_finite_model(panel)
    # The first epoch's history reached the disk before the failure.
    assert [row["epoch"] for row in runs.read_history(result.run_dir)] == [1]


def test_stop_mid_epoch_keeps_the_weights_in_memory_and_on_disk(tmp_path):
    """Stop is seen at the next batch: the run ends inside epoch 1, weights trained so far kept."""
    from playground.keras_build.compile import build_model
    from playground.training.config import RunConfig
    from playground.training.runner import run_training

    stop = threading.Event()
    batches = []

    def sink(event):
        if event["kind"] == "batch":
            batches.append(event["step"])
            if event["step"] >= 5:
                stop.set()

    run_dir = tmp_path / "run"
    result = run_training(tiny_graph(), RunConfig(epochs=50, batch_size=16, telemetry=False,
                                                  steps_per_execution=1),
                          sink=sink, stop=stop, run_dir=run_dir, batch_every=1)
    assert result.status == "stopped" and result.message == "stopped; the weights so far are kept"
    assert 5 <= len(batches) < 72                   # 72 steps = one full epoch
    assert [row["epoch"] for row in result.history] == [1]  # Keras closes the partial epoch
    weights = result.model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    initial = build_model(tiny_graph()).get_weights()
    assert any(w.shape == i.shape and not np.array_equal(w, i) for w, i in zip(weights, initial,
                                                                            strict=True))
    on_disk = build_model(tiny_graph())
    on_disk.load_weights(run_dir / "last.weights.h5")
    for a, b in zip(on_disk.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_closing_the_window_during_training_stops_the_worker(make_window, answers, qtbot):
    from PySide6.QtWidgets import QMessageBox

    from playground.training.config import RunConfig
    from playground.training.worker import live_threads

    win = make_window(tiny_graph())
    panel = win.training_panel
    assert panel is not None
    panel.set_config(RunConfig(epochs=500, batch_size=16, telemetry=False))
    assert panel.start()
    qtbot.waitUntil(lambda: panel.plots.points("batch_loss") > 0, timeout=120_000)

    answers.question = QMessageBox.StandardButton.No     # "Training is running. Stop it?" No
    assert win.close() is False
    assert win.isVisible() and panel.is_running()
    assert answers.texts("question") == ["Training is running. Stop it and close?"]

    answers.question = QMessageBox.StandardButton.Yes
    assert win.close() is True
    assert not win.isVisible()
    assert not panel.is_running() and live_threads() == []
    assert panel.worker.result.status == "stopped"
    assert all(np.isfinite(w).all() for w in panel.last_result.model.get_weights())
    # The event loop still runs and the (hidden) panel still answers.
    qtbot.wait(100)
    assert panel.start_button.isEnabled()
