"""The window's GUI-thread cost of each thing it does while a training run is live (issue 12:
the event loop never stalls more than 50 ms while training, on big graphs too).

    QT_QPA_PLATFORM=offscreen python bench/bench_gui_stall.py [--graphs lenet5 densenet121
        resnet50] [--repeats 15] [--markdown]

A real ``MainWindow`` (1400x900, the Training dock shown, offscreen raster painting) opens each
preset; a stand-in for the ``TrainingSession`` hands the panel the events a run of that graph
sends (the same raw dicts, turned into typed events by ``events.from_raw``), so the window's side
is measured without training the model. Each figure is one panel tick (or one user action) plus
the event processing and painting it causes, timed on the GUI thread: wall-clock milliseconds and
the thread's own CPU milliseconds (``time.thread_time``: on a shared, loaded machine the wall
clock includes waiting for a core; the CPU time is what the window itself costs).

Measured, per graph, as medians (and the maximum) over ``--repeats``:
- batch tick: the ~5 batch events of one 100 ms tick (progress, status, live plots), early in
  a run and late in a long one (30,000 batches plotted);
- epoch tick: an epoch event with per-node telemetry for every node (plots, log line, the
  canvas's telemetry bars and tooltips), with the canvas fitted to the window and at 100 %;
- tooltip: the first tooltip shown on a node after an epoch (its telemetry text);
- hover: the mouse entering a node;
- select: clicking a node selects it (inspector, explain, layer table, predict follow);
- end of run: the final event (status, evaluation view with its confusion matrix and wrong
  samples, the Runs list, the run's graph read back from its folder).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PLAYGROUND_NO_SETTINGS", "1")
_SCRATCH = tempfile.mkdtemp(prefix="bench-gui-stall-")
os.environ["PLAYGROUND_AUTOSAVE_DIR"] = os.path.join(_SCRATCH, "autosave")
os.environ["PLAYGROUND_RUNS_DIR"] = os.path.join(_SCRATCH, "runs")

STEPS = 300            # batches an epoch in the simulated run
BATCHES_PER_TICK = 5   # BATCH_INTERVAL 0.02 s, TICK_MS 100
LONG_RUN_POINTS = 30_000   # batch events a long run has plotted (100 epochs of 300 steps)


class FeedSession:
    """Stands in for a live ``TrainingSession``: the panel drains the typed events queued here."""

    def __init__(self) -> None:
        self.ended = False
        self.pending: list[Any] = []

    def feed(self, raw: dict[str, Any]) -> None:
        from playground.training import events as ev

        self.pending.extend(ev.from_raw(raw))
        if raw.get("kind") == "done":
            self.ended = True

    def drain(self, limit: int = 100_000) -> list[Any]:
        out, self.pending = self.pending[:limit], self.pending[limit:]
        return out

    @property
    def has_events(self) -> bool:
        return bool(self.pending)

    def stop(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> bool:
        return True


def telemetry_for(graph, rng: random.Random, epoch: int) -> dict[str, dict[str, float]]:
    """Per-node figures as ``training.telemetry.Telemetry.compute`` sends them: every node that
    builds layers; ``dead_relu`` NaN where the node has no ReLU, 0.0 figures without weights."""
    from playground.blocks import get_spec

    out: dict[str, dict[str, float]] = {}
    for node in graph.nodes:
        if node.type == "Input":
            continue
        spec = get_spec(node.type)
        act = str(node.params.get("activation", ""))
        relu = node.type == "ReLU" or act == "relu" or (
            node.type == "Activation" and act in ("relu", ""))
        weighted = spec is not None and node.type not in (
            "Activation", "ReLU", "Add", "Concatenate", "MaxPooling2D", "AveragePooling2D",
            "GlobalAveragePooling2D", "Flatten", "Dropout", "ZeroPadding2D")
        out[node.id] = {
            "grad_norm": rng.lognormvariate(-2, 1) / epoch if weighted else 0.0,
            "weight_change": rng.uniform(0.001, 0.05) / epoch if weighted else 0.0,
            "dead_relu": rng.uniform(0, 0.3) if relu else math.nan,
        }
    return out


def evaluation_report(rng: random.Random, classes: int = 10) -> dict[str, Any]:
    import numpy as np

    from playground.training.evaluation import evaluate_predictions

    gen = np.random.default_rng(rng.randrange(2 ** 31))
    n = 1000
    y = gen.integers(0, classes, n)
    logits = gen.normal(size=(n, classes))
    logits[np.arange(n), y] += 2.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return evaluate_predictions(probs, y, [str(c) for c in range(classes)])


def done_event(graph, run_dir: Path, history: list[dict[str, Any]], report: dict[str, Any],
               side: int) -> dict[str, Any]:
    import numpy as np

    gen = np.random.default_rng(0)
    images = [gen.integers(0, 255, (side, side, 3), dtype=np.uint8) for _ in report["wrong"]]
    return {"kind": "done", "status": "finished", "message": "", "history": history,
            "run_dir": str(run_dir), "evaluation": report, "wrong_images": images,
            "raw_shape": [side, side, 3], "model_shape": [side, side, 3],
            "eval_source": "validation"}


def make_run_dir(graph, history: list[dict[str, Any]]) -> Path:
    """A run folder as the child leaves it (config.json with the graph, history.csv)."""
    from playground.core import fileformat
    from playground.training.runs import new_run_dir, write_config, write_history

    run_dir = new_run_dir(graph.name or "run")
    write_config(run_dir, {"dataset": "digits", "graph": fileformat.to_document(graph)})
    write_history(run_dir, history)
    return Path(run_dir)


class Clock:
    """Wall and GUI-thread CPU milliseconds of a block, the events it posts processed."""

    def __init__(self, app) -> None:
        self.app = app
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def settle(self) -> None:
        for _ in range(3):
            self.app.processEvents()

    def time(self, action) -> None:
        self.settle()
        w0, c0 = time.perf_counter(), time.thread_time()
        action()
        self.settle()
        self.wall.append((time.perf_counter() - w0) * 1000)
        self.cpu.append((time.thread_time() - c0) * 1000)

    def summary(self) -> dict[str, float]:
        return {"wall": statistics.median(self.wall), "wall_max": max(self.wall),
                "cpu": statistics.median(self.cpu), "cpu_max": max(self.cpu)}


def measure(win, app, path: Path, repeats: int, seed: int = 0) -> dict[str, dict[str, float]]:
    from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QToolTip

    rng = random.Random(seed)
    win.open_file(path, ask=False)
    win.view.fit_all()
    panel = win.training_panel
    win.training_dock.show()
    win.training_dock.raise_()
    Clock(app).settle()
    graph = win.doc.graph
    feed = FeedSession()
    panel.worker = feed
    feed.feed({"kind": "start", "epochs": 100, "steps": STEPS, "initial_epoch": 0,
               "batch_size": 32, "history": []})
    panel._tick()
    results: dict[str, dict[str, float]] = {}
    step = [0]
    t_run = [0.0]

    def batch_tick_events() -> None:
        step[0] += 1
        t_run[0] += 0.02
        epoch = 1 + step[0] // STEPS
        s = step[0] % STEPS or 1
        feed.feed({"kind": "batch", "epoch": epoch, "step": s, "steps": STEPS,
                   "loss": 2.0 / (1 + 0.01 * step[0]) + rng.random() * 0.1,
                   "accuracy": min(0.99, 0.1 + 0.002 * step[0]), "lr": 1e-3,
                   "images_per_s": 1600.0, "elapsed": t_run[0], "eta": 100.0,
                   "fraction": s / STEPS})

    def batch_tick() -> None:
        for _ in range(BATCHES_PER_TICK):
            batch_tick_events()
        panel._tick()

    history: list[dict[str, Any]] = []
    epoch_no = [0]

    def epoch_tick() -> None:
        epoch_no[0] += 1
        row = {"epoch": epoch_no[0], "loss": 1.0 / epoch_no[0], "accuracy": 0.9,
               "val_loss": 1.1 / epoch_no[0], "val_accuracy": 0.88, "lr": 1e-3}
        history.append(row)
        feed.feed({"kind": "epoch", "epoch": epoch_no[0], "epochs": 100, "row": row,
                   "elapsed": t_run[0], "telemetry": telemetry_for(graph, rng, epoch_no[0])})
        panel._tick()

    clock = Clock(app)
    for _ in range(repeats):
        clock.time(batch_tick)
    results["batch tick"] = clock.summary()

    for label, setup in (("fit", win.view.fit_all),
                         ("100%", lambda: (win.view.reset_zoom(),
                                           win.view.centerOn(win.scene.itemsBoundingRect()
                                                             .center())))):
        setup()
        clock.settle()
        clock = Clock(app)
        for _ in range(repeats):
            clock.time(epoch_tick)
        results[f"epoch tick ({label})"] = clock.summary()

    # Nodes on screen at 100 %, for the mouse.
    viewport = win.view.viewport()
    shown = [item for item in win.scene.node_items.values()
             if viewport.rect().contains(win.view.mapFromScene(item.sceneBoundingRect()
                                                               .center()))]
    shown = [item for item in shown or win.scene.node_items.values()
             if item.node_id in win.scene.telemetry]
    away = QPoint(2, 2)

    def point_of(item) -> QPoint:
        return win.view.mapFromScene(item.mapToScene(QPointF(40, 50)))

    tips, hovers, selects = Clock(app), Clock(app), Clock(app)
    for k in range(repeats):
        epoch_tick()           # fresh telemetry before each: the first tooltip after an epoch
        clock.settle()
        item = shown[k % len(shown)]
        at = point_of(item)
        QTest.mouseMove(viewport, away)
        clock.settle()
        hovers.time(lambda at=at: QTest.mouseMove(viewport, at))

        def tip(at=at) -> None:
            event = QHelpEvent(QEvent.Type.ToolTip, at, viewport.mapToGlobal(at))
            app.sendEvent(viewport, event)

        tips.time(tip)
        if "last epoch" not in QToolTip.text():
            raise SystemExit(f"no telemetry in the tooltip of {item.node_id}: "
                             f"{QToolTip.text()!r}")
        QToolTip.hideText()
        selects.time(lambda at=at: QTest.mouseClick(viewport, Qt.MouseButton.LeftButton,
                                                    Qt.KeyboardModifier.NoModifier, at))
        if win.scene.selected_node_ids() != [item.node_id]:
            raise SystemExit(f"the click did not select {item.node_id}")
    results["hover (mouse enters a node)"] = hovers.summary()
    results["tooltip after an epoch"] = tips.summary()
    results["select a node (click)"] = selects.summary()

    # Late in a long run: the live plots hold LONG_RUN_POINTS batches.
    while step[0] < LONG_RUN_POINTS:
        for _ in range(BATCHES_PER_TICK * 20):
            batch_tick_events()
        for event in feed.drain():
            panel._handle(event.raw)
    panel._tick()
    late = Clock(app)
    for _ in range(repeats):
        late.time(batch_tick)
    results[f"batch tick, {LONG_RUN_POINTS:,} batches plotted"] = late.summary()

    # The end of the run: the final event with its evaluation and the run's folder.
    run_dir = make_run_dir(graph, history)
    side = 32
    ends = Clock(app)
    for _ in range(max(3, repeats // 3)):
        feed.ended = False
        feed.feed(done_event(graph, run_dir, history, evaluation_report(rng), side))
        ends.time(panel._tick)
    results["end of run"] = ends.summary()
    panel.timer.stop()
    panel.worker = None
    win.doc.undo_stack.setClean()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", nargs="+", default=["lenet5", "densenet121", "resnet50"],
                        help="preset names (presets/NAME.json)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()

    import playground.ui  # noqa: F401
    from playground.ui.main_window import MainWindow, application

    app = application()
    win = MainWindow(offer_recovery=False)
    win.resize(1400, 900)
    win.show()
    app.processEvents()
    all_results: dict[str, Any] = {}
    print(f"load average {os.getloadavg()[0]:.1f}; median (max) ms over {args.repeats} "
          "repeats, wall / GUI-thread CPU", flush=True)
    for name in args.graphs:
        path = ROOT / "presets" / f"{name}.json"
        results = measure(win, app, path, args.repeats)
        n = len(win.doc.graph)
        all_results[name] = {"nodes": n, **results}
        print(f"\n{name} ({n} nodes)")
        print("| event | wall median (max) ms | GUI-thread CPU median (max) ms |")
        print("|---|---:|---:|")
        for label, r in results.items():
            print(f"| {label} | {r['wall']:.1f} ({r['wall_max']:.1f}) | "
                  f"{r['cpu']:.1f} ({r['cpu_max']:.1f}) |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    win.close()
    if args.json:
        from playground.core.atomic import write_text_atomic

        write_text_atomic(args.json, json.dumps(all_results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
