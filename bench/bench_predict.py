"""Issue 13's figures for Predict and Inspect, on CPU.

    QT_QPA_PLATFORM=offscreen python bench/bench_predict.py [--no-vgg]
    QT_QPA_PLATFORM=offscreen python bench/bench_predict.py --stalls [--json]

1. One live update of the Predict dock for LeNet-5 (a drawing -> dataset size -> adapted ->
   top-k): the job's own work, median and max of 50 (target < 100 ms).
2. The maps of one node (feature maps, Grad-CAM, saliency and their pictures) for one image,
   LeNet-5 c3 and four VGG-16 nodes from block1 to block5 (224x224x3, random weights),
   TensorFlow already loaded: the first call (traces), a node's maps for a new image (issue
   target: a VGG-16 node in under 1 s), another node of the same image; the Inspector's
   whole-model pass and its per-node functions interleaved, with their paired ratio.
3. ``--stalls``: the real window (a fresh process, nothing loaded) with the Predict dock and
   LeNet-5's untrained graph: the longest gap of a 10 ms QTimer heartbeat on the GUI thread
   during the session's first predict (the dock shown and a stroke drawn, until the bars come:
   this starts the inference process, which imports TensorFlow), during drawing (30 strokes,
   each answered before the next) and during a node's maps (first trace); the drawing round
   trip (request sent -> answer read), median and max; whether ``tensorflow`` was imported in
   the editor's process (it must not be). ``--json`` prints one JSON object (the test suite
   reads it).
Times are wall clock on whatever machine runs it; the script prints the core count.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ms(fn, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def live_update() -> None:
    import numpy as np

    from playground.core import fileformat
    from playground.inspect.images import adapt
    from playground.inspect.model import from_graph, logits_and_probabilities, top_k, warm_up
    from playground.inspect.service_child import shrink_drawing
    from playground.ui.predict_view import PAD_SIZE, stamp_segment

    loaded = from_graph(fileformat.load(ROOT / "presets" / "lenet5.json"))
    warm_up(loaded)
    pad = np.zeros((PAD_SIZE, PAD_SIZE), np.uint8)
    stamp_segment(pad, (30, 20), (80, 90))

    def update():
        pixels, _ = shrink_drawing(pad[:, :, None], True, (8, 8))
        probs = logits_and_probabilities(loaded, adapt(pixels, loaded.input_shape))[0]
        top_k(probs, 5, loaded.class_names)

    times = _ms(update, 50)
    print(f"LeNet-5 live update: median {statistics.median(times):.1f} ms, "
          f"max {max(times):.1f} ms (target < 100 ms)")


def node_maps(preset: str, nodes: list[str], repeats: int = 5) -> None:
    """Per node: the first call (traces), then ``repeats`` calls each on a *new* image (the cost
    of one image's maps), then another node of the same image; for the whole-model pass
    (``Inspector`` default) and the per-node functions (``whole_model_bytes=0``) interleaved,
    so load on the shared machine hits both alike."""
    import numpy as np

    from playground.core import fileformat
    from playground.inspect import render
    from playground.inspect.images import adapt
    from playground.inspect.maps import Inspector
    from playground.inspect.model import from_graph, logits_and_probabilities

    start = time.perf_counter()
    loaded = from_graph(fileformat.load(ROOT / "presets" / preset))
    print(f"{preset}: built in {time.perf_counter() - start:.1f} s")
    h, w, c = loaded.input_shape
    rng = np.random.default_rng(0)

    def image():
        return adapt((rng.random((h, w, c)) * 255).astype(np.uint8), loaded.input_shape)

    x = image()
    logits_and_probabilities(loaded, x)
    forward = _ms(lambda: logits_and_probabilities(loaded, x), repeats)
    print(f"  forward pass alone: median {statistics.median(forward):.0f} ms")
    kinds = {"whole-model": Inspector(loaded), "per-node": Inspector(loaded, 0)}

    def once(inspector, node, x):
        maps = inspector.run(x, node)
        render.feature_grid(maps.features)
        render.overlay(x[0], maps.gradcam)

    first = {k: _ms(lambda ins=ins: once(ins, nodes[0], x), 1)[0] for k, ins in kinds.items()}
    for kind, ms in first.items():
        print(f"  {kind}: first call ({nodes[0]}, traces): {ms:.0f} ms")
    fresh: dict[str, list[float]] = {k: [] for k in kinds}
    again: dict[str, list[float]] = {k: [] for k in kinds}
    for i in range(repeats):
        x = image()
        node, other = nodes[i % len(nodes)], nodes[(i + 1) % len(nodes)]
        for kind, ins in kinds.items():
            if kind == "per-node":              # trace outside the timing, like whole-model
                once(ins, other, x)
            fresh[kind] += _ms(lambda ins=ins, node=node, x=x: once(ins, node, x), 1)
            again[kind] += _ms(lambda ins=ins, other=other, x=x: once(ins, other, x), 1)
    for kind in kinds:
        print(f"  {kind}: one node's maps for a new image: median "
              f"{statistics.median(fresh[kind]):.0f} ms (min {min(fresh[kind]):.0f}, max "
              f"{max(fresh[kind]):.0f}); another node of that image: median "
              f"{statistics.median(again[kind]):.0f} ms")
    ratio = [a / b for a, b in zip(fresh["per-node"], fresh["whole-model"], strict=True)]
    print(f"  per-node / whole-model time, paired: median {statistics.median(ratio):.2f}x")


def gui_stalls() -> dict:
    """See the module docstring, point 3. Runs without TensorFlow in this process."""
    import tempfile

    import numpy as np

    for key in ("PLAYGROUND_RUNS_DIR", "PLAYGROUND_AUTOSAVE_DIR"):
        os.environ.setdefault(key, tempfile.mkdtemp(prefix="bench-predict-"))
    os.environ.setdefault("PLAYGROUND_NO_SETTINGS", "1")
    from PySide6.QtCore import QTimer

    from playground.core import fileformat
    from playground.ui.app import make_window
    from playground.ui.predict_view import stamp_segment

    app, window = make_window(None, offer_recovery=False)
    window.persist_settings = False
    window.resize(1200, 800)
    window.show()
    window.doc.set_graph(fileformat.load(ROOT / "presets" / "lenet5.json"), None)
    view = window.predict_view

    def wait(condition, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end and not condition():
            app.processEvents()
            time.sleep(0.001)
        return condition()

    class Heart:
        def __init__(self):
            self.last, self.longest = time.perf_counter(), 0.0
            self.timer = QTimer()
            self.timer.setInterval(10)
            self.timer.timeout.connect(self.beat)
            self.timer.start()

        def beat(self):
            now = time.perf_counter()
            self.longest = max(self.longest, now - self.last)
            self.last = now

        def stop(self):
            self.timer.stop()
            return self.longest * 1000.0

    wait(lambda: False, 0.3)                              # the window settles
    heart = Heart()
    start = time.perf_counter()
    window.predict_dock.show()
    window.predict_dock.raise_()
    wait(view.on_screen, 10)
    # The dock's first paint (Qt only) first, then the model: reported apart and together.
    wait(lambda: False, 0.05)
    shown_stall = heart.longest * 1000.0
    heart.longest = 0.0
    stamp_segment(view.pad.drawing, (40, 20), (60, 90))
    view.pad.stroke.emit()
    view.pad.stroke_finished.emit()
    if not wait(lambda: view.result is not None and not view.busy, 180):
        raise SystemExit(f"no prediction: {view.error or view.source_label.text()}")
    model_stall = heart.stop()
    out = {"first_predict_s": time.perf_counter() - start, "dock_shown_stall_ms": shown_stall,
           "first_model_stall_ms": model_stall,
           "first_predict_stall_ms": max(shown_stall, model_stall)}
    heart = Heart()
    n = len(view.predict_ms)
    rng = np.random.default_rng(0)
    for _ in range(30):
        a, b = rng.uniform(10, 100, 2), rng.uniform(10, 100, 2)
        stamp_segment(view.pad.drawing, tuple(a), tuple(b))
        count = len(view.predict_ms)
        view.pad.stroke.emit()
        wait(lambda count=count: len(view.predict_ms) > count and not view.busy, 30)
    trips = view.predict_ms[n:]
    out.update({"drawing_stall_ms": heart.stop(), "round_trip_median_ms": statistics.median(trips),
                "round_trip_max_ms": max(trips), "updates": len(trips)})
    # Selecting a node is the editor's own work too (inspector, explain tab): timed apart.
    start = time.perf_counter()
    window.scene.select_nodes(["c1"])
    select_ms = (time.perf_counter() - start) * 1000.0
    heart = Heart()
    wait(lambda: getattr(view.maps, "node", None) == "c1" and not view.busy, 120)
    out.update({"select_node_ms": select_ms, "maps_stall_ms": heart.stop(),
                "maps_round_trip_ms": view.maps_ms,
                "tensorflow_in_editor": "tensorflow" in sys.modules,
                "load_average": os.getloadavg()[0], "cores": os.cpu_count()})
    window.close()
    out["inference_process_alive_after_close"] = bool(view.service and view.service.alive)
    return out


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "--stalls" in sys.argv:
        result = gui_stalls()
        if "--json" in sys.argv:
            import json

            print(json.dumps(result))
        else:
            for key, value in result.items():
                print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
        return 0
    from playground.tfimport import import_tensorflow

    import_tensorflow()
    print(f"CPU cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    live_update()
    node_maps("lenet5.json", ["c3"])
    if "--no-vgg" not in sys.argv:
        node_maps("vgg16.json", ["block1_conv2", "block3_conv3", "block4_conv3",
                                 "block5_conv3"], 8)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
