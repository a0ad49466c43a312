"""Frozen-backbone speed-up of the feature cache (issue 10 point 6, docs/PERFORMANCE.md).

A ResNet-18- or VGG-16-shaped backbone (presets/resnet18.json, presets/vgg16.json) at 64x64x3
with every node but the classifier head frozen, trained for 10 epochs on the built-in digits
(upscaled to 64x64 RGB, offline) twice per repeat in the same process: plain ``fit`` (the frozen
layers run every epoch, ``feature_cache=False``) and with the feature cache (the frozen prefix
runs once per image). Both runs start from the same seed and the same initial weights. Wall
time of the whole ``run_training`` call (adaptation, build, fit, evaluation), order alternating
between repeats; the figure is the median of the paired ratios, plus both medians and the
validation accuracies.

    python bench/bench_feature_cache.py [--backbone resnet18|vgg16] [--images 1797]
                                        [--epochs 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_graph(backbone: str, size: int):
    from playground.core.fileformat import load
    from playground.core.retarget import set_classes, set_input_shape
    from playground.training.transfer import freeze_feature_extractor

    graph = load(ROOT / "presets" / f"{backbone}.json")
    set_input_shape(graph, [size, size, 3])
    set_classes(graph, 10)
    frozen = freeze_feature_extractor(graph)
    return graph, frozen


def make_dataset(size: int, images: int):
    import numpy as np

    from playground.data.adapt import adapt_array
    from playground.data.dataset import Dataset
    from playground.data.digits import load_digits

    data = load_digits()
    x = np.clip(np.rint(adapt_array(data.x[:images], (size, size, 3)) * 255), 0, 255)
    return Dataset(f"digits{size}", x.astype(np.uint8), data.y[:images], data.class_names)


def one_run(graph, dataset, epochs: int, cache: bool, batch: int, lr: float
            ) -> tuple[float, float, float, str]:
    """(whole run s, training phase s, validation accuracy, the cache's log line). The training
    phase runs from the runner's "training:" line to the last epoch's end: plain fit, or the
    feature pass plus the epochs on the cache."""
    import keras

    from playground.training.config import RunConfig
    from playground.training.runner import run_training

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    logs: list[str] = []
    marks: dict[str, float] = {}

    def sink(event: dict) -> None:
        if event["kind"] == "log":
            logs.append(event["text"])
            if event["text"].startswith("training:"):
                marks["start"] = time.perf_counter()
        elif event["kind"] == "epoch":
            marks["end"] = time.perf_counter()

    config = RunConfig(epochs=epochs, batch_size=batch, lr=lr, feature_cache=cache,
                       telemetry=False, seed=0)
    t0 = time.perf_counter()
    result = run_training(graph, config, dataset=dataset, keep_runs=False, sink=sink)
    seconds = time.perf_counter() - t0
    if result.status != "finished":
        raise SystemExit(f"run failed: {result.message}")
    note = next((line for line in logs if line.startswith("feature cache")), "")
    return seconds, marks["end"] - marks["start"], float(result.evaluation["accuracy"]), note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", choices=["resnet18", "vgg16"], default="resnet18")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--images", type=int, default=1797)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args()

    from playground.tfimport import import_tensorflow

    import_tensorflow()
    graph, frozen = make_graph(args.backbone, args.size)
    dataset = make_dataset(args.size, args.images)
    print(f"{args.backbone} at {args.size}x{args.size}x3, {len(frozen)} frozen node(s), "
          f"{len(dataset.x)} images (80 % train), {args.epochs} epochs, batch {args.batch_size}")
    runs: dict[bool, dict[str, list[float]]] = {
        c: {"whole": [], "train": [], "acc": []} for c in (False, True)}
    ratios: dict[str, list[float]] = {"whole": [], "train": []}
    for repeat in range(args.repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        pair = {}
        for cache in order:
            whole, train, acc, note = one_run(graph, dataset, args.epochs, cache,
                                              args.batch_size, args.lr)
            pair[cache] = (whole, train)
            for key, value in (("whole", whole), ("train", train), ("acc", acc)):
                runs[cache][key].append(value)
            print(f"  repeat {repeat + 1} {'cached' if cache else 'plain '}: run {whole:6.1f} s, "
                  f"training {train:6.1f} s, val accuracy {acc:.4f}"
                  + (f"\n    {note}" if note else ""), flush=True)
        ratios["whole"].append(pair[False][0] / pair[True][0])
        ratios["train"].append(pair[False][1] / pair[True][1])
    med = statistics.median
    print(f"machine: {os.cpu_count()} CPU(s), {platform.processor() or platform.machine()}, "
          f"{platform.system()}, Python {platform.python_version()}; "
          f"{datetime.date.today().isoformat()}")
    for key, label in (("train", "training phase (fit vs feature pass + fit on the cache)"),
                       ("whole", "whole run_training call")):
        print(f"{label}: plain median {med(runs[False][key]):.1f} s, cached median "
              f"{med(runs[True][key]):.1f} s, speed-up (median of paired ratios) "
              f"{med(ratios[key]):.2f}x (pairs: {', '.join(f'{r:.2f}' for r in ratios[key])})")
    a, b = med(runs[False]["acc"]), med(runs[True]["acc"])
    print(f"val accuracy plain {a:.4f}, cached {b:.4f} (difference {abs(a - b) * 100:.2f} "
          "points)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
