"""Issue 13's figures for Predict and Inspect, on CPU.

    QT_QPA_PLATFORM=offscreen python bench/bench_predict.py [--no-vgg]

1. One live update of the Predict dock for LeNet-5 (a drawing -> dataset size -> adapted ->
   top-k): the job's own work, median and max of 50 (target < 100 ms).
2. The maps of one node (feature maps, Grad-CAM, saliency and their pictures) for one image,
   LeNet-5 c3 and VGG-16 block4_conv3 / block5_conv3 (224x224x3, random weights), TensorFlow
   already loaded: the first call (traces the node's sub-model) and the median of the next 5
   (issue target: a VGG-16 node in under 1 s).
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
    from playground.ui.predict_view import PAD_SIZE, _picture_pixels, stamp_segment

    loaded = from_graph(fileformat.load(ROOT / "presets" / "lenet5.json"))
    warm_up(loaded)
    pad = np.zeros((PAD_SIZE, PAD_SIZE), np.uint8)
    stamp_segment(pad, (30, 20), (80, 90))

    def update():
        pixels, _ = _picture_pixels(pad[:, :, None], True, (8, 8))
        probs = logits_and_probabilities(loaded, adapt(pixels, loaded.input_shape))[0]
        top_k(probs, 5, loaded.class_names)

    times = _ms(update, 50)
    print(f"LeNet-5 live update: median {statistics.median(times):.1f} ms, "
          f"max {max(times):.1f} ms (target < 100 ms)")


def node_maps(preset: str, nodes: list[str]) -> None:
    import numpy as np

    from playground.core import fileformat
    from playground.inspect import render
    from playground.inspect.images import adapt
    from playground.inspect.maps import Inspector
    from playground.inspect.model import from_graph

    start = time.perf_counter()
    loaded = from_graph(fileformat.load(ROOT / "presets" / preset))
    print(f"{preset}: built in {time.perf_counter() - start:.1f} s")
    h, w, c = loaded.input_shape
    image = (np.random.default_rng(0).random((h, w, c)) * 255).astype(np.uint8)
    x = adapt(image, loaded.input_shape)
    inspector = Inspector(loaded)

    def once(node):
        maps = inspector.run(x, node)
        render.feature_grid(maps.features)
        render.overlay(x[0], maps.gradcam)

    for node in nodes:
        first = _ms(lambda node=node: once(node), 1)[0]
        rest = _ms(lambda node=node: once(node), 5)
        print(f"  {node}: first {first:.0f} ms (traces the sub-model), then median "
              f"{statistics.median(rest):.0f} ms (min {min(rest):.0f})")


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from playground.tfimport import import_tensorflow

    import_tensorflow()
    print(f"CPU cores: {os.cpu_count()}")
    live_update()
    node_maps("lenet5.json", ["c3"])
    if "--no-vgg" not in sys.argv:
        node_maps("vgg16.json", ["block4_conv3", "block5_conv3"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
