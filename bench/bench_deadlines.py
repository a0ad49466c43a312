"""The inference process's deadlines beside what each request really takes, on CPU.

    python bench/bench_deadlines.py [PRESET ...]        (default: lenet5 vgg16 densenet121)

For each preset (random weights, the graph on the canvas as the Predict dock sends it): loading
the model in a fresh inference process, a first and a later prediction, a node's first maps
(traces its gradient pass) and its maps for another image; each beside the deadline
``inspect.service.DEADLINES`` gives that request, and the margin (deadline / time). A margin
under ~10 on a quiet machine would make a busy one (a training run sharing the cores) kill a
child that was only slow. Wall clock on whatever machine runs it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT = ("lenet5", "vgg16", "densenet121")


def _timed(service, op: str, args: dict) -> float:
    start = time.perf_counter()
    service.call(op, args)
    return time.perf_counter() - start


def measure(name: str) -> list[tuple[str, float, float]]:
    """(request, seconds, deadline) for one preset."""
    import numpy as np

    from playground.core import fileformat
    from playground.core.presets import preset_path
    from playground.inspect.service import DEADLINES, InferenceService, graph_source

    graph = fileformat.load(preset_path(name))
    with InferenceService() as service:
        start = time.perf_counter()
        info = service.call("load", {"spec": graph_source(graph)})
        load = time.perf_counter() - start
        h, w, c = info.input_shape
        pixels = (np.random.default_rng(0).random((h, w, c)) * 255).astype(np.uint8)
        ask = {"model": info.model_id, "pixels": pixels}
        node = info.nodes[len(info.nodes) // 2]
        rows = [("load", load, DEADLINES.seconds("load", True, info, {}))]
        rows.append(("predict, first", _timed(service, "predict", ask),
                     DEADLINES.seconds("predict", True, info, {})))
        rows.append(("predict, later", _timed(service, "predict", ask),
                     DEADLINES.seconds("predict", False, info, {})))
        rows.append((f"maps {node}, first", _timed(service, "maps", {**ask, "node": node}),
                     DEADLINES.seconds("maps", True, info, {})))
        other = {**ask, "pixels": pixels[::-1].copy(), "node": node}
        rows.append((f"maps {node}, new image", _timed(service, "maps", other),
                     DEADLINES.seconds("maps", False, info, {})))
        rows.append((f"(load in the child {info.seconds:.1f} s, one forward pass "
                     f"{info.forward_s * 1000:.0f} ms)", 0.0, 0.0))
    return rows


def main(argv: list[str]) -> int:
    names = argv or list(DEFAULT)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} cores, load average {load:.1f}")
    for name in names:
        print(f"\n{name}")
        for what, seconds, deadline in measure(name):
            if not deadline:
                print(f"  {what}")
                continue
            print(f"  {what:<36} {seconds:8.2f} s   deadline {deadline:6.0f} s   "
                  f"margin {deadline / max(seconds, 1e-3):7.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
