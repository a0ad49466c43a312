"""The training panel driven with qtbot: start, live plot updates, telemetry, stop, errors."""

from __future__ import annotations

import os
import time

import pytest

pytest.importorskip("pytestqt")

import playground.ui  # noqa: E402,F401  (PySide6/Python 3.11 work-around)
from playground.core.graph import Graph  # noqa: E402
from playground.training.config import RunConfig  # noqa: E402
from tests.training.helpers import tiny  # noqa: E402


@pytest.fixture
def panel(tiny_panel):
    widget = tiny_panel
    widget.resize(1200, 400)
    widget.show()
    yield widget
    assert widget.stop_and_wait(60_000)


def _finished(panel):
    return not panel.is_running() and panel.last_result is not None and not panel.jobs


def test_defaults_come_from_the_graph_training_object(qtbot):
    from playground.ui.training_panel import TrainingPanel

    graph = tiny()
    graph.extra["training"] = {"optimizer": "sgd", "learning_rate": 0.02, "batch_size": 16}
    widget = TrainingPanel(lambda: graph)
    qtbot.addWidget(widget)
    config = widget.config()
    assert (config.optimizer, config.lr, config.batch_size) == ("sgd", 0.02, 16)
    assert config.dataset == "digits"


def test_train_updates_plots_telemetry_and_evaluation(panel, qtbot, tmp_path):
    panel.set_config(RunConfig(epochs=2, batch_size=64, lr=0.01))
    telemetry, devices = [], []
    panel.telemetry.connect(telemetry.append)
    panel.device_changed.connect(devices.append)
    t0 = time.perf_counter()
    assert panel.start()
    assert panel.is_running() and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: _finished(panel), timeout=120_000)
    seconds = time.perf_counter() - t0
    assert panel.last_result.status == "finished"
    history = panel.last_result.history
    best = max(history, key=lambda r: r["val_accuracy"])
    assert panel.status_text == (
        f"finished after 2 epochs; val_accuracy {history[-1]['val_accuracy']:.4f} "
        f"(best {best['val_accuracy']:.4f} at epoch {best['epoch']})")
    plots = panel.plots
    assert plots.points("loss") == 2 and plots.points("val_accuracy") == 2
    # Batch events are throttled to 50/s; the last batch of each epoch always arrives.
    assert 2 <= plots.points("batch_loss") <= 2 * 23
    x, _ = plots.curves["batch_loss"].getData()
    assert x[-1] == 2.0 and 1.0 in list(x)
    # Redrawn from the timer (10 Hz, and once at the end), not once per batch event.
    assert 1 <= plots.redraws <= seconds * 10 + 3
    x, y = plots.curves["val_accuracy"].getData()
    assert list(x) == [1.0, 2.0] and 0 < y[-1] <= 1
    assert len(telemetry) == 2 and set(telemetry[-1]["conv"]) == {"grad_norm", "weight_change",
                                                                  "dead_relu"}
    assert devices == ["CPU"] and panel.device_label.text() == "CPU"
    assert "accuracy" in panel.evaluation.summary.text()
    assert panel.progress.value() == 100
    assert panel.resume_button.isEnabled() and panel.export_saved_button.isEnabled()
    assert "epoch 2/2" in panel.log.toPlainText()
    # Exports run in a background job; the plots save as a PNG.
    from playground.exporters import write as write_export
    from playground.exporters.source import ExportSource

    result = panel.last_result
    out = tmp_path / "served"
    panel.export_to("savedmodel", str(out), lambda: write_export(
        "savedmodel", ExportSource.from_result(result), str(out), force=True))
    qtbot.waitUntil(lambda: not panel.jobs, timeout=60_000)
    assert (out / "saved_model.pb").is_file() and panel.status_text == f"wrote {out}"
    png = tmp_path / "plots.png"
    panel.plots.save_png(str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shown = _rows(panel)          # the run was listed at its end, without a full re-read
    assert len(shown) == 1 and shown[0].startswith(os.path.basename(result.run_dir) + "  (2 ")
    panel.refresh_runs()
    assert _rows(panel) == shown
    panel.runs_list.item(0).setCheckState(panel.runs_list.item(0).checkState().Checked)
    assert panel.compare_checked() == 1 and len(plots.compared) == 4


def _rows(panel) -> list[str]:
    return [panel.runs_list.item(i).text() for i in range(panel.runs_list.count())]


def test_a_finished_run_is_listed_where_a_refresh_would_put_it(panel, tmp_path):
    """The end of a run adds (or updates) its row in the Runs list in the order of
    refresh_runs, which reads every run folder; runs kept elsewhere are not listed."""
    from playground.training import runs

    def make(name: str, epochs: int) -> str:
        folder = tmp_path / "runs" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text("{}")
        runs.write_history(folder, [{"epoch": e + 1, "loss": 1.0, "val_accuracy": 0.5}
                                    for e in range(epochs)])
        return str(folder)

    make("2026-01-01-a", 1)
    make("2026-01-03-c", 2)
    panel.refresh_runs()
    middle = make("2026-01-02-b", 3)
    panel._show_run(middle, runs.read_history(middle))
    newest = make("2026-01-04-d", 1)
    panel._show_run(newest, runs.read_history(newest))
    resumed = make("2026-01-01-a", 4)
    panel._show_run(resumed, runs.read_history(resumed))
    elsewhere = tmp_path / "mine"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text("{}")
    panel._show_run(str(elsewhere), [])
    shown = _rows(panel)
    panel.refresh_runs()
    assert shown == _rows(panel)
    assert [row.split()[0] for row in shown] == ["2026-01-04-d", "2026-01-03-c",
                                                  "2026-01-02-b", "2026-01-01-a"]
    assert shown[-1].endswith("(4 epochs, val acc 0.500)")


def test_a_burst_of_log_lines_is_shown_over_ticks_and_capped(panel):
    """Thousands of lines in one tick (a scan naming skipped files): each tick appends at most
    LOG_LINES_PER_TICK of them, lines beyond what the log keeps are dropped first, and the
    timer runs until all are shown."""
    from playground.ui.training_panel import LOG_LINES, LOG_LINES_PER_TICK

    panel.timer.start()
    for i in range(12_000):
        panel._handle({"kind": "log", "text": f"line {i}"})
    panel._tick()
    assert panel.log.toPlainText().splitlines() == [f"line {i}" for i in
                                                    range(7_000, 7_000 + LOG_LINES_PER_TICK)]
    ticks = 1
    while panel.timer.isActive():
        panel._tick()
        ticks += 1
    assert ticks == LOG_LINES // LOG_LINES_PER_TICK
    lines = panel.log.toPlainText().splitlines()
    assert len(lines) == LOG_LINES and lines[-1] == "line 11999"


def test_stop_keeps_the_weights_and_the_ui_usable(panel, qtbot):
    panel.set_config(RunConfig(epochs=200, batch_size=16))
    assert panel.start()
    qtbot.waitUntil(lambda: panel.plots.points("batch_loss") > 0, timeout=60_000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: _finished(panel), timeout=60_000)
    result = panel.last_result
    assert result.status == "stopped" and len(result.history) < 200
    assert panel.status_text.startswith("stopped")
    assert panel.start_button.isEnabled() and panel.resume_button.isEnabled()
    assert result.model is not None


def test_a_bad_dataset_is_reported_and_the_panel_stays_usable(panel, qtbot, tmp_path):
    panel.set_config(RunConfig(epochs=1))
    panel.set_dataset(str(tmp_path / "missing.npz"))
    assert panel.start()
    qtbot.waitUntil(lambda: _finished(panel), timeout=60_000)
    assert panel.last_result.status == "error"
    assert "missing.npz" in panel.status_text and "color" in panel.status.styleSheet()
    assert panel.start_button.isEnabled()


def test_freeze_feature_extractor_and_fine_tuning(panel):
    graph: Graph = panel.graph
    panel.lr.setValue(0.01)
    assert panel.freeze_feature_extractor() == ["conv", "pool", "flatten"]
    assert [n.id for n in graph.nodes if not n.trainable] == ["conv", "pool", "flatten"]
    panel.fine_tuning_preset()
    assert panel.config().lr == pytest.approx(0.001)


def test_evaluation_view_draws_a_known_confusion(qtbot):
    import numpy as np

    from playground.training.evaluation import evaluate_predictions
    from playground.ui.evaluation_view import EvaluationView
    from tests.training.test_evaluation import P, Y

    view = EvaluationView()
    qtbot.addWidget(view)
    images = np.arange(8 * 4 * 4, dtype=np.uint8).reshape(8, 4, 4, 1)
    view.set_result(evaluate_predictions(P, Y, ["a", "b", "c"]), images)
    assert "accuracy 62.50%" in view.summary.text()
    shown = view.heatmap.image
    np.testing.assert_allclose(shown.T, [[2 / 3, 1 / 3, 0], [0, 0.5, 0.5], [1 / 3, 0, 2 / 3]])
    assert [label.text() for label in view.wrong_labels] == [
        "#4: b -> c (90%)", "#2: a -> b (70%)", "#6: c -> a (50%)"]


def test_plot_buffers_grow_without_losing_points():
    from playground.ui.plots import Series, Smoother

    series = Series(capacity=2)
    for i in range(5):
        series.append(i, i * i)
    x, y = series.data()
    assert list(x) == [0, 1, 2, 3, 4] and list(y) == [0, 1, 4, 9, 16]
    smooth = Smoother(0.9)
    assert smooth(2.0) == pytest.approx(2.0)   # bias-corrected: the first value is kept


def test_the_legend_explains_compared_runs_only_while_runs_are_compared(qtbot):
    from playground.ui.plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    assert "compared runs" not in plots.legend.text()
    plots.compare("run-1", [{"epoch": 1, "loss": 1.0, "val_loss": 1.2, "accuracy": 0.5,
                             "val_accuracy": 0.4}])
    assert "compared runs: dashed = validation, dotted = training" in plots.legend.text()
    plots.clear_comparisons()
    assert "compared runs" not in plots.legend.text() and "learning rate" in plots.legend.text()


def test_plots_redraw_only_the_curves_that_changed(qtbot):
    """Between epochs only the batch curves move; a flat learning rate is a step line whose
    plot is not touched until the rate changes or the epoch ends."""
    from playground.ui.plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.clear()
    assert plots.redraw()
    drawn = []
    for name, curve in plots.curves.items():
        curve.setData = lambda *a, _name=name, **k: drawn.append(_name)
    for step in range(1, 5):
        plots.add_batch(step / 4 - 0.01, 1.0 / step, 0.2 * step, 0.1)
        plots.redraw()
    assert set(drawn) == {"batch_loss", "batch_accuracy", "lr"}
    assert drawn.count("lr") == 1               # the first point only: the rate stayed 0.1
    drawn.clear()
    plots.add_epoch({"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6,
                     "val_accuracy": 0.7})
    plots.add_batch(1.25, 0.4, 0.9, 0.05)       # the schedule lowered the rate
    assert plots.redraw() and not plots.redraw()
    assert set(drawn) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr",
                          "batch_loss", "batch_accuracy"}
    x, y = plots.series["lr"].data()
    assert list(zip(x, y, strict=True)) == [(0.24, 0.1), (0.99, 0.1), (1.25, 0.05)]


def test_preview_shows_samples_and_their_augmented_versions(panel, qtbot):
    panel.set_config(RunConfig(augment=["flip", "rotate"]))
    panel.preview()
    qtbot.waitUntil(lambda: not panel.jobs, timeout=60_000)
    assert len(panel.preview_cells) == 32 and "with augmentation" in panel.status_text
    panel.set_config(RunConfig())
    panel.preview()
    qtbot.waitUntil(lambda: not panel.jobs, timeout=60_000)
    assert len(panel.preview_cells) == 16
    assert not panel.preview_cells[0].pixmap().isNull()
