"""How fast the shape checker is (issue 2's targets), on realistic generated graphs.

    python bench/bench_check.py [--repeat N] [--nodes 3000] [--edit-nodes 500]

Prints medians of repeated runs:
- the in-process check of a 3,000-node graph with a fresh (cold) Checker      target < 300 ms
- the re-check after one param edit on a 500-node graph with a warm Checker  target < 20 ms
- the wall time of a whole ``python main.py check FILE`` on the 3,000-node graph
                                                                             target < 1.5 s
The graphs are ResNet/DenseNet-like: conv/BN/ReLU stacks, residual Adds, concatenations with
1x1 transitions, a few inception modules and stride-2 stages, then a pooled dense head.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playground.core import fileformat  # noqa: E402
from playground.core.graph import Graph, Node  # noqa: E402
from playground.core.shapes import Checker  # noqa: E402

TARGETS_MS = {"cold_check": 300.0, "no_memo_check": 300.0, "edit_recheck": 20.0,
              "cli_check": 1500.0}


def make_graph(n_nodes: int) -> Graph:
    """A valid graph of about ``n_nodes`` nodes (never fewer) built from residual units,
    dense-style concatenations, inception modules and downsampling stages."""
    g = Graph(f"bench-{n_nodes}")
    counter = {"n": 0}

    def add(node_type: str, inputs: list[str], **params: object) -> str:
        counter["n"] += 1
        nid = f"{node_type.lower()}_{counter['n']}"
        g.add_node(Node(nid, node_type, dict(params), pos=(counter["n"] * 10.0, 0.0)))
        for src in inputs:
            g.add_edge(src, nid, check_cycle=False)
        return nid

    x = add("Input", [], shape=[224, 224, 3])
    x = add("Conv2D", [x], filters=32, kernel_size=7, strides=2, padding="same",
            use_bias=False)
    x = add("BatchNormalization", [x])
    x = add("ReLU", [x])
    width, size, unit = 32, 112, 0
    stages = 5
    per_stage = max(1, (n_nodes - 6) // stages)
    stage_start = len(g)
    while len(g) < n_nodes - 2:
        if len(g) - stage_start >= per_stage and size > 7:
            width, size = min(width * 2, 512), (size + 1) // 2
            x = add("Conv2D", [x], filters=width, kernel_size=3, strides=2, padding="same")
            x = add("BatchNormalization", [x])
            x = add("ReLU", [x])
            stage_start = len(g)
            continue
        unit += 1
        if unit % 7 == 0:  # an inception module, then back to `width` channels
            y = add("InceptionModule", [x], f1x1=width // 4, f3x3_reduce=width // 8,
                    f3x3=width // 4, f5x5_reduce=width // 16 or 1, f5x5=width // 8,
                    pool_proj=width // 8)
            x = add("Conv2D", [y], filters=width, kernel_size=1, activation="relu")
        elif unit % 3 == 0:  # dense-style: grow by concatenation, 1x1 transition back
            y = add("Conv2D", [x], filters=width // 2, kernel_size=3, padding="same",
                    activation="relu")
            y = add("Concatenate", [x, y])
            y = add("Conv2D", [y], filters=width, kernel_size=1, use_bias=False)
            x = add("BatchNormalization", [y])
        else:  # a basic residual unit written out as layers
            y = add("Conv2D", [x], filters=width, kernel_size=3, padding="same", use_bias=False)
            y = add("BatchNormalization", [y])
            y = add("ReLU", [y])
            y = add("Conv2D", [y], filters=width, kernel_size=3, padding="same", use_bias=False)
            y = add("BatchNormalization", [y])
            y = add("Add", [x, y])
            x = add("Activation", [y], activation="relu")
    x = add("GlobalAveragePooling2D", [x])
    add("Dense", [x], units=1000, activation="softmax")
    return g


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_cold_check(graph: Graph, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        checker = Checker()
        start = time.perf_counter()
        analysis = checker.analyze(graph)
        samples.append(time.perf_counter() - start)
        assert analysis.valid, [str(p) for p in analysis.errors[:3]]
    return _median_ms(samples)


class _NoMemo(dict):
    """A memo that never answers: every node is computed, as if no two were alike."""

    def get(self, key, default=None):  # type: ignore[override]
        return default


def bench_no_memo_check(graph: Graph, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        checker = Checker()
        checker._memo = _NoMemo()
        start = time.perf_counter()
        checker.analyze(graph)
        samples.append(time.perf_counter() - start)
    return _median_ms(samples)


def bench_edit_recheck(graph: Graph, repeat: int) -> float:
    """One filters edit on a conv in the middle, then a re-check with the editor's warm Checker.
    Each edit sets a value not seen before, so the edited node and its successors really are
    recomputed (not answered by the memo)."""
    checker = Checker()
    checker.analyze(graph)
    convs = [n.id for n in graph.nodes if n.type == "Conv2D" and graph.outputs_of(n.id)
             and graph.node(graph.outputs_of(n.id)[0]).type == "BatchNormalization"
             and graph.inputs_of(n.id)
             and graph.node(graph.inputs_of(n.id)[0]).type in ("Activation", "ReLU")]
    target = convs[len(convs) // 2]
    samples = []
    for i in range(repeat):
        graph.set_param(target, "filters", 100 + i)  # inner conv of a residual unit
        start = time.perf_counter()
        analysis = checker.analyze(graph)
        samples.append(time.perf_counter() - start)
        assert analysis.nodes[target].shape is not None
    return _median_ms(samples)


def bench_cli_check(path: Path, repeat: int) -> float:
    samples = []
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(ROOT / "main.py"), "check", str(path)],
                              cwd=ROOT, capture_output=True, text=True, env=env)
        samples.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stdout[-500:] + done.stderr[-500:]
    return _median_ms(samples)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--nodes", type=int, default=3000)
    parser.add_argument("--edit-nodes", type=int, default=500)
    args = parser.parse_args(argv)

    big, small = make_graph(args.nodes), make_graph(args.edit_nodes)
    results = {
        "cold_check": bench_cold_check(big, args.repeat),
        "no_memo_check": bench_no_memo_check(big, args.repeat),
        "edit_recheck": bench_edit_recheck(small, max(args.repeat, 20)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.json"
        fileformat.save(big, path)
        results["cli_check"] = bench_cli_check(path, args.repeat)

    print(f"machine: {machine()}")
    print(f"graphs: {len(big)} nodes / {len(big.edges)} edges; {len(small)} nodes for the edit")
    labels = {"cold_check": f"check, {len(big)} nodes, cold Checker (in-process)",
              "no_memo_check": f"check, {len(big)} nodes, memo defeated (worst case)",
              "edit_recheck": f"re-check after 1 param edit, {len(small)} nodes, warm Checker",
              "cli_check": f"`python main.py check FILE`, {len(big)} nodes (whole process)"}
    failed = False
    for key, value in results.items():
        ok = value < TARGETS_MS[key]
        failed |= not ok
        print(f"{labels[key]:<66} {value:8.1f} ms  (target < {TARGETS_MS[key]:.0f} ms) "
              f"{'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
