"""Issue 16's measured figures: a U-Net-shaped small graph on the generated shapes.

    python bench/bench_segmentation.py [--seeds 0,1,2] [--images 800] [--size 32] [--epochs 15]

Trains :func:`playground.presetgen.unet.small_unet` (one level, ~6k parameters) through the
same run the app and ``train`` use (:func:`playground.training.runner.run_training`), Adam with
a cosine schedule, and prints per seed: the held-out (test split) mean IoU, pixel accuracy,
mean Dice and the median seconds per epoch (the first epoch, which traces, left out).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playground.data.dataset import load_dataset  # noqa: E402
from playground.presetgen.unet import small_unet  # noqa: E402
from playground.training.config import RunConfig  # noqa: E402
from playground.training.runner import run_training  # noqa: E402


def one_run(seed: int, images: int, size: int, epochs: int, lr: float) -> dict[str, float]:
    data = load_dataset("shapes", (size, size, 1))
    data.x, data.y = data.x[:images], data.y[:images]
    config = RunConfig.from_dict({"dataset": "shapes", "epochs": epochs, "batch_size": 16,
                                  "optimizer": "adam", "lr": lr, "schedule": "cosine",
                                  "val_split": 0.15, "test_split": 0.15, "seed": seed})
    t0 = time.perf_counter()
    result = run_training(small_unet(size), config, dataset=data, keep_runs=False)
    wall = time.perf_counter() - t0
    if result.status != "finished":
        raise SystemExit(f"seed {seed}: {result.status}: {result.message}")
    ev = result.evaluation
    per_epoch = [r["seconds"] for r in result.history[1:]] or [result.history[0]["seconds"]]
    return {"seed": seed, "mean_iou": ev["mean_iou"], "pixel_accuracy": ev["pixel_accuracy"],
            "mean_dice": ev["mean_dice"], "epoch_s": statistics.median(per_epoch),
            "wall_s": wall, "params": result.model.count_params()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--images", type=int, default=800)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=5e-3)
    args = parser.parse_args()
    rows = [one_run(int(s), args.images, args.size, args.epochs, args.lr)
            for s in args.seeds.split(",")]
    for r in rows:
        print(f"seed {r['seed']}: test mean IoU {r['mean_iou']:.3f}, pixel accuracy "
              f"{r['pixel_accuracy']:.3f}, mean Dice {r['mean_dice']:.3f}, "
              f"{r['epoch_s']:.2f} s/epoch, {r['wall_s']:.1f} s whole run, "
              f"{r['params']:,} params", flush=True)
    ious = [r["mean_iou"] for r in rows]
    print(f"mean IoU: min {min(ious):.3f}, median {statistics.median(ious):.3f}; "
          f"s/epoch median {statistics.median(r['epoch_s'] for r in rows):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
