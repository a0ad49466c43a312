"""Training bench figures (docs/perf/training.md, docs/perf/session.md):

1. throughput of a run driven by the GUI (the real MainWindow's TrainingPanel, a view of a
   TrainingSession whose run trains in a child process: batch events over a pipe, telemetry,
   checkpoints, live plots redrawn by the panel's 10 Hz timer) against a plain ``model.fit`` of
   the same model, data, optimizer and batch size in a process of its own (so this GUI process
   is the app's: no TensorFlow in it); per-epoch times after the first (tracing) epoch, as
   each run reports them (the child's start-up is not counted). The app runs several steps per
   compiled call (training/steps.py) where a plain script keeps Keras' default of one; a
   "tuned" plain run with the app's steps per call shows the app's own overhead over the same
   training (``--no-tuned`` leaves it out);
2. the longest gap between ticks of a 10 ms QTimer in the GUI process while the GUI runs train
   (an event-loop stall shows up as a long gap), with the longest panel tick and the longest
   cycle collection in that process, to tell the app's own work from the machine's load;
3. Stop latency of a TrainingSession at start-up, mid-epoch and at the start of validation:
   seconds from ``stop()`` to the child's acknowledgement at a batch boundary
   (``acknowledged_in``) and to the session's end (``stopped_in``);
4. LeNet-5 (presets/lenet5.json, its own training defaults) on the built-in digits: validation
   accuracy within 10 epochs and wall time (``--seeds 0`` leaves it out).

    QT_QPA_PLATFORM=offscreen python bench/bench_training.py [--epochs 4] [--repeats 6]

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


def plain_fit(graph, config, epochs: int, steps_per_execution: int = 1
              ) -> tuple[list[float], int]:
    """Per-epoch seconds of a hand-written Keras script: same pipeline (augmentation included),
    the same learning-rate schedule, no GUI callbacks; Keras' default of one step per compiled
    call unless ``steps_per_execution`` says otherwise (the "tuned" plain run, for the app's
    own overhead)."""
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
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
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


def plain_fit_elsewhere(epochs: int, steps: int = 1) -> tuple[list[float], int, str]:
    """:func:`plain_fit` in a fresh process (``--plain-worker``): the GUI process stays as in
    the app, without TensorFlow (whose heap would make this process's cycle collections, and
    so its event-loop gaps, far longer than the app's)."""
    import json
    import subprocess

    done = subprocess.run([sys.executable, __file__, "--plain-worker", str(epochs),
                           "--plain-steps", str(steps)],
                          capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["times"], report["n_train"], report["versions"]


def gui_fit(win, config, epochs: int) -> tuple[list[float], float, float]:
    """Per-epoch seconds of a run started from the real window's TrainingPanel (a view of a
    TrainingSession: the run trains in a child process), and the window's longest stalls.

    The epoch times are those the run reports (``elapsed`` since its first batch, in the epoch
    events), so the child's start-up (interpreter, TensorFlow import, model build, data) is not
    counted, as it is not in the plain run's epochs. A 10 ms QTimer in this (the GUI) process
    records the longest gap between its ticks while the run is live: an event-loop stall.
    """
    from PySide6.QtCore import QEventLoop, QTimer

    panel = win.training_panel
    panel.set_config(config.__class__.from_dict({"epochs": epochs}, base=config))
    stamps: list[float] = []
    original = panel._handle

    def handle(event):
        if event["kind"] == "epoch":
            stamps.append(event["elapsed"])
        original(event)
        if event["kind"] == "start":
            probe["training"] = True
        elif event["kind"] == "done":
            probe["training"] = False

    panel._handle = handle
    probe = {"last": None, "max": 0.0, "at": 0.0, "t0": time.perf_counter(),
             "training": False, "whole": 0.0, "cpu": 0.0, "busy": 0.0, "max_busy_part": 0.0,
             "whole_busy": 0.0}
    # Where the time of the longest gaps went: the panel's own tick (draining events, plots,
    # log, telemetry, the end's views) and Python's cycle collector in this process.
    work = {"tick": 0.0, "tick_at": 0.0, "tick_kinds": "", "gc": 0.0, "gc_gen": -1,
            "gc_at": 0.0, "gc_start": 0.0}
    original_tick = panel._tick

    def timed_tick():
        session, kinds = panel.worker, []
        if session is not None:
            def drain(*args, **kwargs):
                out = type(session).drain(session, *args, **kwargs)
                kinds.extend(type(e).__name__ for e in out)
                return out

            session.drain = drain
        t = time.perf_counter()
        original_tick()
        spent = time.perf_counter() - t
        if session is not None:
            del session.drain
        if probe["training"] and spent > work["tick"]:
            work.update(tick=spent, tick_at=t - probe["t0"],
                        tick_kinds=",".join(sorted(set(kinds))) or "none")

    def on_gc(phase, info):
        if phase == "start":
            work["gc_start"] = time.perf_counter()
        elif probe["training"]:
            spent = time.perf_counter() - work["gc_start"]
            if spent > work["gc"]:
                work.update(gc=spent, gc_gen=info.get("generation", -1),
                            gc_at=work["gc_start"] - probe["t0"])

    import gc

    panel.timer.timeout.disconnect()
    panel.timer.timeout.connect(timed_tick)
    gc.callbacks.append(on_gc)

    def tick():
        # Gaps while training (from the run's start event, which this process handles once
        # the child has loaded TensorFlow and the data, to its end event), and over the whole
        # run (start-up and the end's evaluation view too).
        # The GUI thread's own CPU time between two ticks tells the app's work (painting,
        # handlers: busy) from waiting for a CPU on a loaded machine (a gap with little busy).
        now, cpu = time.perf_counter(), time.thread_time()
        if probe["last"] is not None and panel.is_running():
            gap, busy = now - probe["last"], cpu - probe["cpu"]
            probe["whole"] = max(probe["whole"], gap)
            probe["whole_busy"] = max(probe["whole_busy"], busy)
            if probe["training"] and gap > probe["max"]:
                probe.update(max=gap, at=probe["last"] - probe["t0"], max_busy_part=busy)
            if probe["training"]:
                probe["busy"] = max(probe["busy"], busy)
        probe["last"], probe["cpu"] = now, cpu

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    loop = QEventLoop()
    quit_loop = lambda status: loop.quit()  # noqa: E731
    panel.run_finished.connect(quit_loop)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        assert panel.start(), panel.status_text
        loop.exec()   # a real event loop, as in the app (no polling from the bench itself)
    finally:
        timer.stop()
        panel.run_finished.disconnect(quit_loop)
        panel._handle = original
        gc.callbacks.remove(on_gc)
        panel.timer.timeout.disconnect()
        panel.timer.timeout.connect(original_tick)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"    GUI process CPU (all its threads): {cpu:.2f} s over a {wall:.1f} s run "
          f"({100 * cpu / wall:.1f} % of one core)", flush=True)
    status = panel.last_result.status
    assert status == "finished", panel.status_text
    epochs_s = [b - a for a, b in zip([0.0, *stamps], stamps, strict=False)]
    print(f"    GUI run: longest gap while training {probe['max'] * 1000:.0f} ms (GUI thread "
          f"busy {probe['max_busy_part'] * 1000:.0f} ms of it); longest busy stretch between "
          f"ticks {probe['busy'] * 1000:.0f} ms while training, "
          f"{probe['whole_busy'] * 1000:.0f} ms over the whole run", flush=True)
    print(f"    GUI run: longest gap while training {probe['max'] * 1000:.0f} ms at "
          f"{probe['at']:.2f} s after Start (whole run {probe['whole'] * 1000:.0f} ms); epochs ended at {', '.join(f'{t:.2f}' for t in stamps)} s after the "
          "first batch", flush=True)
    print(f"      while training: longest panel tick {work['tick'] * 1000:.1f} ms at "
          f"{work['tick_at']:.2f} s (events: {work['tick_kinds']}); longest cycle collection "
          f"in this process {work['gc'] * 1000:.1f} ms (generation {work['gc_gen']}) at "
          f"{work['gc_at']:.2f} s", flush=True)
    return epochs_s, probe["max"], probe["whole"], probe["busy"], probe["whole_busy"]


def stop_latency(graph, config, phase: str) -> tuple[float | None, float | None, str, str]:
    """Stop a TrainingSession in one phase of its run and time it: (seconds from ``stop()`` to
    the child's acknowledgement at a batch boundary, None when it never acknowledged (it was
    terminated); seconds from ``stop()`` to the session's end; the end's message; where the
    child saw the Stop: ``validation`` or ``batch E.S``, from its Stopping event).

    Phases: ``startup`` (0.5 s after start: the child is importing TensorFlow), ``mid-epoch``
    (the first batch event of epoch 2 that is not its last) and ``validation`` (the last batch
    event of epoch 1: training of that epoch is done, validation runs next).
    """
    import threading

    from playground.training import events as ev
    from playground.training.session import TrainingSession

    session = TrainingSession(graph, config.__class__.from_dict({"epochs": 3}, base=config),
                              keep_runs=True, batch_interval=0.05)
    fired = threading.Event()
    seen: list[int | str] = []

    def on_event(event) -> None:
        if isinstance(event, ev.Started):
            seen.append(event.steps)
        if isinstance(event, ev.Stopping):
            # A Stop seen during validation is acknowledged with step == steps.
            steps = seen[0] if seen and isinstance(seen[0], int) else -1
            seen.append(f"epoch {event.epoch} validation" if event.step == steps
                        else f"epoch {event.epoch} batch {event.step}")
        if fired.is_set() or not isinstance(event, ev.Batch):
            return
        if (phase == "mid-epoch" and event.epoch == 2 and event.step < event.steps) or (
                phase == "validation" and event.epoch == 1 and event.step == event.steps):
            fired.set()
            session.stop()

    session.subscribe(on_event)
    session.start()
    if phase == "startup":
        time.sleep(0.5)
        fired.set()
        session.stop()
    assert session.wait(120), "the session did not end"
    assert fired.is_set(), f"{phase}: the run ended before the stop ({session.result.message})"
    where = next((w for w in seen if isinstance(w, str)), "not acknowledged")
    return session.acknowledged_in, session.stopped_in, session.result.message, where


def spread(values: list[float], scale: float = 1.0, fmt: str = ".2f") -> str:
    """``median (min-max)`` of ``values`` times ``scale``."""
    if not values:
        return "n/a"
    return (f"{statistics.median(values) * scale:{fmt}} "
            f"({min(values) * scale:{fmt}}-{max(values) * scale:{fmt}})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=6, help="paired plain/GUI runs")
    parser.add_argument("--stop-runs", type=int, default=3, help="stops timed per phase")
    parser.add_argument("--seeds", type=int, default=5,
                        help="LeNet-5 accuracy runs (0 to leave them out)")
    parser.add_argument("--batch-interval", type=float, metavar="S",
                        help="the panel's minimum seconds between batch events (default: the "
                             "panel's own)")
    parser.add_argument("--plain-worker", type=int, metavar="EPOCHS", help=argparse.SUPPRESS)
    parser.add_argument("--plain-steps", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--no-tuned", action="store_true",
                        help="leave out the plain runs with the app's steps per call")
    args = parser.parse_args()
    if args.plain_worker:
        import json

        import keras
        import tensorflow as tf

        from playground.core.presets import load_preset
        from playground.training.config import config_for_graph

        graph = load_preset("lenet5")
        times, n_train = plain_fit(graph, config_for_graph(graph), args.plain_worker,
                                   args.plain_steps)
        print(json.dumps({"times": times, "n_train": n_train,
                          "versions": f"TensorFlow {tf.__version__}, Keras {keras.__version__}"}))
        return 0

    import tempfile

    scratch = tempfile.mkdtemp(prefix="bench-training-")
    os.environ.setdefault("PLAYGROUND_RUNS_DIR", os.path.join(scratch, "runs"))
    os.environ.setdefault("PLAYGROUND_AUTOSAVE_DIR", os.path.join(scratch, "autosave"))
    os.environ.setdefault("PLAYGROUND_NO_SETTINGS", "1")
    from PySide6.QtWidgets import QApplication

    import playground.ui  # noqa: F401  (PySide6 work-around)
    app = QApplication.instance() or QApplication([])

    from playground.core.presets import load_preset
    from playground.training.config import config_for_graph
    from playground.ui.main_window import MainWindow

    graph = load_preset("lenet5")
    config = config_for_graph(graph)
    print(f"# training bench, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} "
          f"UTC, {platform.node()}: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPU cores, Python {platform.python_version()}")
    print(f"model: {graph.name}, dataset digits (1,438 train / 359 val at 32x32x1), "
          f"{config.optimizer} lr {config.lr} momentum {config.momentum}, schedule "
          f"{config.schedule}, augmentation {', '.join(config.augment) or 'none'}, batch "
          f"{config.batch_size}")

    from playground.ui import training_panel

    if args.batch_interval is not None:
        training_panel.BATCH_INTERVAL = args.batch_interval
    print(f"panel: batch events at most every {training_panel.BATCH_INTERVAL} s, redraw every "
          f"{training_panel.TICK_MS} ms")
    win = MainWindow(offer_recovery=False)
    win.persist_settings = False
    win.resize(1400, 900)
    win.show()
    win.doc.set_graph(graph.copy(), None)
    app.processEvents()

    print(f"load average before: {os.getloadavg()[0]:.2f} (the machine may be shared)")
    from playground.core.shapes import analyze
    from playground.training.steps import choose_steps

    # The steps per compiled call the app's run chooses (its log says so too); the "tuned"
    # plain runs use the same, so GUI/tuned is the app's own overhead over the same training.
    app_steps = choose_steps(config.steps_per_execution, analyze(graph).macs,
                             config.batch_size, streamed=False,
                             steps_per_epoch=math.ceil(1438 / config.batch_size))
    print(f"GUI runs: {app_steps.line()}; plain runs: 1 (Keras' default)"
          + ("" if args.no_tuned else f"; tuned plain runs: {app_steps.steps}"))
    plain_times, gui_times, stalls, panel_gaps, ratios = [], [], [], [], []
    tuned_ratios: list[float] = []
    busies, whole_busies = [], []
    n_train = 0
    for r in range(args.repeats):
        # Alternate which plain run goes first, so a drift in machine load favours none.
        order = ["plain", "gui"] + ([] if args.no_tuned else ["tuned"])
        if r % 2:
            order.reverse()
        pair = {}
        for kind in order:
            if kind == "plain":
                times, n_train, versions = plain_fit_elsewhere(args.epochs)
                if r == 0:
                    print(f"plain runs: {versions}, in their own process", flush=True)
            elif kind == "tuned":
                times = plain_fit_elsewhere(args.epochs, app_steps.steps)[0]
            else:
                times, stall, gap, busy, whole_busy = gui_fit(win, config, args.epochs)
                stalls.append(stall)
                panel_gaps.append(gap)
                busies.append(busy)
                whole_busies.append(whole_busy)
            pair[kind] = times[1:]
        plain_times += pair["plain"]
        gui_times += pair["gui"]
        ratios.append(statistics.median(pair["plain"]) / statistics.median(pair["gui"]))
        tuned = ""
        if "tuned" in pair:
            tuned_ratios.append(statistics.median(pair["tuned"])
                                / statistics.median(pair["gui"]))
            tuned = (f", tuned plain {statistics.median(pair['tuned']):.3f} s/epoch (GUI/tuned "
                     f"{tuned_ratios[-1]:.2f})")
        print(f"  repeat {r + 1}: plain {statistics.median(pair['plain']):.3f} s/epoch, "
              f"GUI {statistics.median(pair['gui']):.3f} s/epoch (ratio {ratios[-1]:.2f})"
              f"{tuned}; load {os.getloadavg()[0]:.2f}", flush=True)
    if ratios:
        print("this (GUI) process imported TensorFlow: "
              f"{'tensorflow' in sys.modules} (the app's editor does not, for training)")
        plain = n_train / statistics.median(plain_times)
        gui = n_train / statistics.median(gui_times)
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        print(f"throughput: plain model.fit {plain:,.0f} img/s, GUI run {gui:,.0f} img/s "
              f"(pooled medians: {gui / plain:.3f}); paired ratio GUI/plain per repeat "
              f"{', '.join(f'{r:.2f}' for r in ratios)}: median {statistics.median(ratios):.3f} "
              f"(goal >= 1.0), min-max {min(ratios):.2f}-{max(ratios):.2f}, quartiles "
              f"{quartiles[0]:.2f}-{quartiles[2]:.2f}; load average after: "
              f"{os.getloadavg()[0]:.2f}")
        if tuned_ratios:
            print(f"the app's own overhead: paired ratio GUI/tuned plain (both "
                  f"{app_steps.steps} steps per call) "
                  f"{', '.join(f'{r:.2f}' for r in tuned_ratios)}: median "
                  f"{statistics.median(tuned_ratios):.3f}, min-max {min(tuned_ratios):.2f}-"
                  f"{max(tuned_ratios):.2f}")
        print(f"event loop: longest gap between 10 ms timer ticks while training "
              f"{max(stalls) * 1000:.0f} ms over {len(stalls)} GUI runs (per run "
              f"{', '.join(f'{g * 1000:.0f}' for g in stalls)} ms, median "
              f"{statistics.median(stalls) * 1000:.0f} ms; goal <= 50 ms); over the whole run "
              f"(start-up and end too): {', '.join(f'{g * 1000:.0f}' for g in panel_gaps)} ms")
        print(f"GUI thread busy (its own CPU time) between two ticks, at most: while training "
              f"{', '.join(f'{b * 1000:.0f}' for b in busies)} ms (median "
              f"{statistics.median(busies) * 1000:.0f} ms), whole run "
              f"{', '.join(f'{b * 1000:.0f}' for b in whole_busies)} ms; a gap much longer "
              "than this was the machine's load (waiting for a CPU), not the app's work")

    for phase in ("startup", "mid-epoch", "validation") if args.stop_runs else ():
        acks, ends = [], []
        for _ in range(args.stop_runs):
            ack, end, message, where = stop_latency(graph, config, phase)
            if ack is not None:
                acks.append(ack)
            ends.append(end)
            print(f"    stop at {phase}: acknowledged "
                  f"{'never (terminated)' if ack is None else f'in {ack:.3f} s'}, stopped in "
                  f"{end:.3f} s (seen at {where}): {message}", flush=True)
        print(f"stop latency at {phase} over {len(ends)} runs: acknowledged in "
              f"{spread(acks, fmt='.3f')} s ({len(acks)}/{len(ends)} acknowledged), stopped in "
              f"{spread(ends, fmt='.3f')} s (goal <= 2 s)", flush=True)

    bests, finals, walls = [], [], []
    if args.seeds:
        from playground.training.runner import run_training
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
    if not bests:
        return 0
    print(f"LeNet-5 on digits within 10 epochs over {args.seeds} seeds: median best val "
          f"accuracy {statistics.median(bests):.4f} (min {min(bests):.4f}, "
          f"{sum(b >= 0.97 for b in bests)}/{len(bests)} seeds >= 0.97), median final "
          f"{statistics.median(finals):.4f}, median wall {statistics.median(walls):.1f} s "
          f"(max {max(walls):.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
