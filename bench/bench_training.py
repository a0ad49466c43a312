"""Training bench figures (docs/perf/training.md):

1. throughput of a run driven by the GUI (TrainingPanel: worker thread, progress callbacks,
   telemetry, checkpoints, live plots redrawn by the 10 Hz timer) against a plain ``model.fit``
   of the same model, data, optimizer and batch size, in the same process; medians of the
   per-epoch times after the first (tracing) epoch, runs alternated;
2. LeNet-5 (presets/lenet5.json, its own training defaults) on the built-in digits: validation
   accuracy within 10 epochs and wall time;
3. the longest gap between ticks of a 10 ms QTimer on the UI thread while training runs (an
   event-loop stall shows up as a long gap).

    QT_QPA_PLATFORM=offscreen python bench/bench_training.py [--epochs 4] [--repeats 12]

On a shared VM the per-epoch time of either kind of run swings by tens of percent between
seconds, far more than the 5 % being measured: the figure is the median of paired ratios (each
repeat runs plain and GUI back to back, order alternating), which a load that drifts
between repeats does not bias.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def plain_fit(graph, config, epochs: int) -> tuple[list[float], int]:
    """Per-epoch seconds of a hand-written Keras script: same pipeline (augmentation included),
    the same learning-rate schedule, no GUI callbacks."""
    import keras

    from playground.data.adapt import adapt_array, make_dataset, split_indices
    from playground.data.augment import build_augmenter
    from playground.data.digits import load_digits
    from playground.keras_build.compile import build_model
    from playground.training.runner import _optimizer, input_shape_of

    keras.utils.set_random_seed(config.seed)
    data = load_digits()
    shape = input_shape_of(graph)
    split = split_indices(len(data.x), config.val_split, seed=config.seed, labels=data.y)
    x = adapt_array(data.x, shape)
    augmenter = build_augmenter(config.augment, shape, seed=config.seed)
    train = make_dataset(x[split.train], data.y[split.train], config.batch_size, shuffle=True,
                         seed=config.seed, augment=augmenter)
    val = make_dataset(x[split.val], data.y[split.val], config.batch_size, shuffle=False,
                       seed=config.seed)
    model = build_model(graph)
    model.compile(optimizer=_optimizer(config), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stamps: list[float] = []

    class EpochClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            stamps.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            stamps.append(time.perf_counter())

    callbacks = [EpochClock()]
    if config.schedule == "cosine":   # the preset's schedule, as a script would write it
        lr = config.lr
        callbacks.append(keras.callbacks.LearningRateScheduler(
            lambda e: lr * 0.5 * (1 + math.cos(math.pi * e / epochs))))
    model.fit(train, validation_data=val, epochs=epochs, verbose=0, shuffle=False,
              callbacks=callbacks)
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)], len(split.train)


def gui_fit(app, graph, config, epochs: int, probe_ui: bool = True
            ) -> tuple[list[float], float, float]:
    """Per-epoch seconds of a run started from the TrainingPanel, and the UI's longest gaps.

    ``probe_ui`` adds a 10 ms QTimer that records the longest gap between its ticks (the stall
    figure). The probe itself wakes the event loop 100 times a second, so throughput runs go
    without it and the stall is measured in runs of its own.
    """
    from PySide6.QtCore import QTimer

    from playground.ui.training_panel import TrainingPanel

    panel = TrainingPanel(lambda: graph)
    panel.resize(1400, 450)
    panel.show()
    panel.set_config(config.__class__.from_dict({"epochs": epochs}, base=config))
    stamps: list[float] = []
    original = panel._handle

    def handle(event):
        if event["kind"] == "epoch":
            stamps.append(event["elapsed"])
        original(event)

    panel._handle = handle
    probe = {"last": None, "max": 0.0, "at": 0.0, "t0": time.perf_counter()}

    def tick():
        now = time.perf_counter()
        if probe["last"] is not None and panel.is_running():
            if now - probe["last"] > probe["max"]:
                probe["max"] = now - probe["last"]
                probe["at"] = probe["last"] - probe["t0"]
        probe["last"] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    if probe_ui:
        timer.start()
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    panel.run_finished.connect(lambda status: loop.quit())
    assert panel.start()
    loop.exec()   # a real event loop, as in the app (no polling from the bench itself)
    timer.stop()
    status = panel.last_result.status
    assert status == "finished", panel.status_text
    panel.close()
    panel.deleteLater()
    # Destroy this panel now, not inside the next run's measured event loop.
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    import gc

    gc.collect()
    epochs_s = [b - a for a, b in zip([0.0, *stamps], stamps, strict=False)]
    print(f"    GUI run: longest gap {probe['max'] * 1000:.0f} ms at {probe['at']:.2f} s after "
          f"start; epochs ended at {', '.join(f'{t:.2f}' for t in stamps)} s after the "
          "first batch", flush=True)
    return epochs_s, probe["max"], panel.max_tick_gap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--stall-runs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()

    import tempfile

    os.environ.setdefault("PLAYGROUND_RUNS_DIR", tempfile.mkdtemp(prefix="bench-runs-"))
    from PySide6.QtWidgets import QApplication

    import playground.ui  # noqa: F401  (PySide6 work-around)
    app = QApplication.instance() or QApplication([])
    import keras
    import tensorflow as tf

    from playground.core.presets import load_preset
    from playground.training.config import config_for_graph
    from playground.training.runner import run_training

    graph = load_preset("lenet5")
    config = config_for_graph(graph)
    print(f"# training bench, {datetime.date.today()}, {platform.node()}: "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
          f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}")
    print(f"model: {graph.name}, dataset digits (1,438 train / 359 val at 32x32x1), "
          f"{config.optimizer} lr {config.lr} momentum {config.momentum}, schedule "
          f"{config.schedule}, augmentation {', '.join(config.augment) or 'none'}, batch "
          f"{config.batch_size}")

    print(f"load average before: {os.getloadavg()[0]:.2f} (the machine may be shared)")
    plain_times, gui_times, stalls, panel_gaps, ratios = [], [], [], [], []
    n_train = 0
    for r in range(args.repeats):
        # Alternate which of the pair runs first, so a drift in machine load favours neither.
        order = ("plain", "gui") if r % 2 == 0 else ("gui", "plain")
        pair = {}
        for kind in order:
            if kind == "plain":
                times, n_train = plain_fit(graph, config, args.epochs)
            else:
                times, _, gap = gui_fit(app, graph, config, args.epochs, probe_ui=False)
                panel_gaps.append(gap)
            pair[kind] = times[1:]
        plain_times += pair["plain"]
        gui_times += pair["gui"]
        ratios.append(statistics.median(pair["plain"]) / statistics.median(pair["gui"]))
        print(f"  repeat {r + 1}: plain {statistics.median(pair['plain']):.3f} s/epoch, "
              f"GUI {statistics.median(pair['gui']):.3f} s/epoch (ratio {ratios[-1]:.2f})",
              flush=True)
    for _ in range(args.stall_runs):
        _, stall, gap = gui_fit(app, graph, config, 10, probe_ui=True)
        stalls.append(stall)
        panel_gaps.append(gap)
    plain = n_train / statistics.median(plain_times)
    gui = n_train / statistics.median(gui_times)
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    print(f"throughput: plain model.fit {plain:,.0f} img/s, GUI run {gui:,.0f} img/s (pooled "
          f"medians: {gui / plain:.3f}); paired ratio GUI/plain per repeat "
          f"{', '.join(f'{r:.2f}' for r in ratios)}: median {statistics.median(ratios):.3f} "
          f"(goal >= 0.95), quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f}; load average "
          f"after: {os.getloadavg()[0]:.2f}")
    print(f"event loop: longest gap between 10 ms timer ticks while training "
          f"{max(stalls) * 1000:.0f} ms over {len(stalls)} probed 10-epoch runs "
          f"({', '.join(f'{g * 1000:.0f}' for g in stalls)} ms; goal <= 100 ms); panel's "
          f"100 ms timer "
          f"{max(panel_gaps) * 1000:.0f} ms")

    bests, finals, walls = [], [], []
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        result = run_training(graph, config.__class__.from_dict({"epochs": 10, "seed": seed},
                                                                base=config), keep_runs=False)
        walls.append(time.perf_counter() - t0)
        accs = [row["val_accuracy"] for row in result.history]
        first = next((i + 1 for i, a in enumerate(accs) if a >= 0.97), None)
        bests.append(max(accs))
        finals.append(accs[-1])
        print(f"  LeNet-5 on digits, seed {seed} (split and init): best val accuracy "
              f"{max(accs):.4f} (first >= 0.97 at epoch {first}), final {accs[-1]:.4f}, "
              f"{walls[-1]:.1f} s wall (data + build + 10 epochs + evaluation)", flush=True)
    print(f"LeNet-5 on digits within 10 epochs over {args.seeds} seeds: median best val "
          f"accuracy {statistics.median(bests):.4f} (min {min(bests):.4f}, "
          f"{sum(b >= 0.97 for b in bests)}/{len(bests)} seeds >= 0.97), median final "
          f"{statistics.median(finals):.4f}, median wall {statistics.median(walls):.1f} s "
          f"(max {max(walls):.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
