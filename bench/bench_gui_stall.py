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
- zoom to fit / to 100 % (the second after epochs seen in the overview: every bar is set then),
  and to 100 % again after each of a few epochs seen fitted;
- tooltip: the first tooltip shown on a node after an epoch (its telemetry text);
- hover: the mouse entering a node;
- select: clicking a node selects it (inspector, explain, layer table, predict follow);
- Select All (every node selected, the side views following once);
- end of run: the final event (status, evaluation view with its confusion matrix and wrong
  samples, the Runs list, the run's graph read back from its folder), 10 and 1,000 classes.

``--live SECONDS`` also replays a run in real time on the real event loop (batch events at
50/s, an epoch with telemetry every second, clicks and tooltips) and reports the longest gap
between the ticks of a 10 ms heartbeat timer: the stall a user would feel.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import queue
import random
import shutil
import statistics
import sys
import tempfile
import threading
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
    """Stands in for a live ``TrainingSession``: raw events fed here become typed events (as
    the session's reader thread makes them) on a queue the panel's timer drains."""

    def __init__(self) -> None:
        self.ended = False
        self.events: queue.Queue = queue.Queue()

    def feed(self, raw: dict[str, Any]) -> None:
        from playground.training import events as ev

        for event in ev.from_raw(raw):
            self.events.put(event)
        if raw.get("kind") == "done":
            self.ended = True

    def drain(self, limit: int = 100_000) -> list[Any]:
        from playground.training.events import drain_queue

        return drain_queue(self.events, limit)

    @property
    def has_events(self) -> bool:
        return not self.events.empty()

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

    def time(self, action, prepare=None) -> None:
        """Time ``action`` (after ``prepare``, untimed: the session's reader thread turns the
        child's raw events into typed ones, not the GUI thread)."""
        if prepare is not None:
            prepare()
        self.settle()
        w0, c0 = time.perf_counter(), time.thread_time()
        action()
        self.settle()
        self.wall.append((time.perf_counter() - w0) * 1000)
        self.cpu.append((time.thread_time() - c0) * 1000)

    def summary(self) -> dict[str, float]:
        return {"wall": statistics.median(self.wall), "wall_max": max(self.wall),
                "cpu": statistics.median(self.cpu), "cpu_max": max(self.cpu)}


class SimulatedRun:
    """The raw events of a run of the open graph, fed to the window's panel as its session."""

    def __init__(self, win, rng: random.Random, epochs: int = 100) -> None:
        self.win, self.rng, self.epochs = win, rng, epochs
        self.panel = win.training_panel
        self.feed = FeedSession()
        self.panel.worker = self.feed
        self.step = 0
        self.epoch = 0
        self.elapsed = 0.0
        self.history: list[dict[str, Any]] = []
        self.feed.feed({"kind": "start", "epochs": epochs, "steps": STEPS, "initial_epoch": 0,
                        "batch_size": 32, "history": []})
        self.panel._tick()

    def batch(self) -> None:
        self.step += 1
        self.elapsed += 0.02
        s = self.step % STEPS or STEPS
        self.feed.feed({"kind": "batch", "epoch": self.epoch + 1, "step": s, "steps": STEPS,
                        "loss": 2.0 / (1 + 0.01 * self.step) + self.rng.random() * 0.1,
                        "accuracy": min(0.99, 0.1 + 0.002 * self.step), "lr": 1e-3,
                        "images_per_s": 1600.0, "elapsed": self.elapsed, "eta": 100.0,
                        "fraction": s / STEPS})

    def end_epoch(self) -> None:
        self.epoch += 1
        e = self.epoch
        row = {"epoch": e, "loss": 1.0 / e, "accuracy": 0.9, "val_loss": 1.1 / e,
               "val_accuracy": 0.88, "lr": 1e-3}
        self.history.append(row)
        self.feed.feed({"kind": "epoch", "epoch": e, "epochs": self.epochs, "row": row,
                        "elapsed": self.elapsed,
                        "telemetry": telemetry_for(self.win.doc.graph, self.rng, e)})

    def end(self, classes: int = 10) -> None:
        if not hasattr(self, "run_dir"):
            self.run_dir = make_run_dir(self.win.doc.graph, self.history)
        self.feed.ended = False
        self.feed.feed(done_event(self.win.doc.graph, self.run_dir, self.history,
                                  evaluation_report(self.rng, classes), 32))

    def close(self) -> None:
        self.panel.timer.stop()
        self.panel.worker = None


def open_graph(win, app, path: Path) -> None:
    win.open_file(path, ask=False)
    win.training_dock.show()
    win.training_dock.raise_()
    Clock(app).settle()
    win.view.fit_all()
    Clock(app).settle()


def full_size(win) -> None:
    win.view.reset_zoom()
    win.view.centerOn(win.scene.itemsBoundingRect().center())


def measure(win, app, path: Path, repeats: int, seed: int = 0) -> dict[str, dict[str, float]]:
    from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QToolTip

    open_graph(win, app, path)
    run = SimulatedRun(win, random.Random(seed))
    panel = run.panel
    results: dict[str, dict[str, float]] = {}

    def batches() -> None:
        for _ in range(BATCHES_PER_TICK):
            run.batch()

    clock = Clock(app)
    for _ in range(repeats):
        clock.time(panel._tick, batches)
    results["batch tick"] = clock.summary()

    # The first epoch of a run, timed on its own (the fitted view: an overview for big graphs).
    first = Clock(app)
    first.time(panel._tick, run.end_epoch)
    results["first epoch tick"] = first.summary()
    for label, setup in (("fit", win.view.fit_all), ("100%", lambda: full_size(win))):
        zoom = Clock(app)
        zoom.time(setup)       # after epochs in the overview, 100 % sets (and makes) the bars
        results[f"zoom to {label}"] = zoom.summary()
        clock = Clock(app)
        for _ in range(repeats):
            clock.time(panel._tick, run.end_epoch)
        results[f"epoch tick ({label})"] = clock.summary()

    def epoch_in_the_overview() -> None:
        win.view.fit_all()
        clock.settle()
        run.end_epoch()
        panel._tick()

    zooms = Clock(app)
    for _ in range(max(3, repeats // 3)):
        zooms.time(lambda: full_size(win), epoch_in_the_overview)
    results["zoom to 100% after an epoch seen fitted"] = zooms.summary()

    # Nodes with telemetry on screen at 100 %, for the mouse.
    viewport = win.view.viewport()

    def point_of(item) -> QPoint:
        return win.view.mapFromScene(item.mapToScene(QPointF(40, 50)))

    shown = [item for item in win.scene.node_items.values()
             if viewport.rect().contains(point_of(item)) and item.node_id in win.scene.telemetry]
    away = QPoint(2, 2)
    tips, hovers, selects = Clock(app), Clock(app), Clock(app)
    for k in range(repeats):
        run.end_epoch()        # fresh telemetry before each: the first tooltip after an epoch
        panel._tick()
        clock.settle()
        item = shown[k % len(shown)]
        at = point_of(item)
        QTest.mouseMove(viewport, away)
        clock.settle()
        hovers.time(lambda at=at: QTest.mouseMove(viewport, at))

        def tip(at=at) -> None:
            app.sendEvent(viewport, QHelpEvent(QEvent.Type.ToolTip, at, viewport.mapToGlobal(at)))

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
    select_all = Clock(app)
    for _ in range(max(3, repeats // 3)):
        win.scene.clearSelection()
        select_all.time(win.editor.select_all)
    win.scene.clearSelection()
    results["Select All"] = select_all.summary()

    # Late in a long run: the live plots hold LONG_RUN_POINTS batches.
    while run.step < LONG_RUN_POINTS:
        for _ in range(100):
            run.batch()
        for event in run.feed.drain():
            panel._handle(event.raw)
    panel._tick()
    late = Clock(app)
    for _ in range(repeats):
        late.time(panel._tick, batches)
    results[f"batch tick, {LONG_RUN_POINTS:,} batches plotted"] = late.summary()

    # The end of the run: the final event with its evaluation and the run's folder.
    for classes in (10, 1000):
        ends = Clock(app)
        for _ in range(max(3, repeats // 3)):
            ends.time(panel._tick, lambda classes=classes: run.end(classes))
        results[f"end of run ({classes:,} classes)"] = ends.summary()
    run.close()
    win.doc.undo_stack.setClean()
    return results


def live(win, app, path: Path, seconds: float, seed: int = 0) -> dict[str, float]:
    """A run replayed in real time on the real event loop: a thread (as the session's reader
    thread) queues batch events every 20 ms and an epoch with telemetry every second, the
    panel's own 100 ms timer drains them, the user clicks a node every 0.5 s and rests the
    mouse for a tooltip every 0.7 s; a 10 ms heartbeat timer records the longest gap between
    its ticks (the stall the user would feel)."""
    from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QPointF, Qt, QTimer
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QToolTip

    open_graph(win, app, path)
    full_size(win)
    Clock(app).settle()
    run = SimulatedRun(win, random.Random(seed))
    viewport = win.view.viewport()
    items = [item for item in win.scene.node_items.values()
             if viewport.rect().contains(win.view.mapFromScene(item.mapToScene(
                 QPointF(40, 50))))] or list(win.scene.node_items.values())
    gaps: list[tuple[float, float, float]] = []   # (gap ms, its end, GUI-thread CPU ms in it)
    clock = QElapsedTimer()
    last = [0.0, time.thread_time()]
    counts = {"clicks": 0, "tips": 0}
    timeline: list[tuple[str, float, float]] = []   # what the GUI thread did, and when

    def now() -> float:
        return clock.nsecsElapsed() / 1e6

    def beat() -> None:
        t, cpu = now(), time.thread_time()
        gaps.append((t - last[0], t, (cpu - last[1]) * 1000))
        last[0], last[1] = t, cpu

    def timed(name, fn):
        def wrapper() -> None:
            start = now()
            fn()
            timeline.append((name, start, now()))
        return wrapper

    collecting = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            collecting[0] = now()
        else:
            timeline.append((f"gc gen {info.get('generation')} ({info.get('collected')} freed)",
                             collecting[0], now()))

    def click() -> None:
        item = items[counts["clicks"] % len(items)]
        counts["clicks"] += 1
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         win.view.mapFromScene(item.mapToScene(QPointF(40, 50))))

    def tip() -> None:
        item = items[(counts["tips"] * 7) % len(items)]
        counts["tips"] += 1
        at = win.view.mapFromScene(item.mapToScene(QPointF(40, 50)))
        app.sendEvent(viewport, QHelpEvent(QEvent.Type.ToolTip, at, viewport.mapToGlobal(at)))
        QToolTip.hideText()

    done = threading.Event()

    def produce() -> None:
        k = 0
        while not done.wait(0.02):
            k += 1
            run.batch()
            if k % 50 == 0:
                run.end_epoch()

    producer = threading.Thread(target=produce, name="bench-events", daemon=True)
    timers = []
    for interval, slot in ((10, beat), (500, timed("click", click)), (700, timed("tooltip", tip))):
        timer = QTimer()
        timer.setInterval(interval)
        timer.timeout.connect(slot)
        timers.append(timer)
    panel_tick = timed("panel tick", run.panel._tick)
    run.panel.timer.timeout.disconnect(run.panel._tick)
    run.panel.timer.timeout.connect(panel_tick)
    gc.callbacks.append(on_gc)
    clock.start()
    run.panel.timer.start()
    for timer in timers:
        timer.start()
    producer.start()
    cpu0 = time.thread_time()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    cpu = time.thread_time() - cpu0
    done.set()
    producer.join()
    gc.callbacks.remove(on_gc)
    for timer in timers:
        timer.stop()
    run.panel.timer.timeout.disconnect(panel_tick)
    run.panel.timer.timeout.connect(run.panel._tick)
    run.close()
    win.doc.undo_stack.setClean()
    gaps = gaps[1:]
    longest, end, busy = max(gaps)
    inside = [f"{name} {b - a:.1f} ms" for name, a, b in timeline
              if b > end - longest and a < end]
    lengths = sorted(g for g, _, _ in gaps)
    return {"seconds": seconds, "epochs": run.epoch, "clicks": counts["clicks"],
            "longest gap": longest, "median gap": statistics.median(lengths),
            "p99 gap": lengths[int(len(lengths) * 0.99) - 1],
            "GUI thread CPU in the longest gap": busy,
            "in the longest gap": ", ".join(inside) or "nothing of the window's",
            "longest GUI-thread CPU between two beats": max(c for _, _, c in gaps),
            "GUI thread CPU share": cpu / seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", nargs="+",
                        default=["lenet5", "resnet50", "densenet121", "inception_resnet_v2"],
                        help="preset names (presets/NAME.json); lenet5 is the plain baseline")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--live", type=float, default=5.0, metavar="SECONDS",
                        help="also replay a run in real time this long per graph (0: skip)")
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
        if args.live > 0:
            replay = live(win, app, path, args.live)
            all_results[name]["live"] = replay
            print(f"live replay {replay['seconds']:.0f} s ({replay['epochs']} epochs, "
                  f"{replay['clicks']} clicks): longest gap {replay['longest gap']:.1f} ms "
                  f"(GUI thread ran {replay['GUI thread CPU in the longest gap']:.1f} ms of "
                  f"it: {replay['in the longest gap']}), p99 {replay['p99 gap']:.1f} ms, "
                  f"median {replay['median gap']:.1f} ms (10 ms heartbeat); longest GUI-thread "
                  f"CPU between two beats "
                  f"{replay['longest GUI-thread CPU between two beats']:.1f} ms; GUI thread "
                  f"busy {100 * replay['GUI thread CPU share']:.0f} % of the time", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    win.close()
    shutil.rmtree(_SCRATCH, ignore_errors=True)   # the simulated runs' folders
    if args.json:
        from playground.core.atomic import write_text_atomic

        write_text_atomic(args.json, json.dumps(all_results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
