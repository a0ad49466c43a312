"""Issue 16's measured figures: a U-Net-shaped small graph on the generated shapes, and the
peak memory of a streamed mask folder.

    python bench/bench_segmentation.py [--seeds 0,1,2] [--images 800] [--size 32] [--epochs 15]
    python bench/bench_segmentation.py --memory [--pairs 3000] [--repeats 2] [--before /work/main]

Trains :func:`playground.presetgen.unet.small_unet` (one level, ~6k parameters) through the
same run the app and ``train`` use (:func:`playground.training.runner.run_training`), Adam with
a cosine schedule, and prints per seed: the held-out (test split) mean IoU, pixel accuracy,
mean Dice and the median seconds per epoch (the first epoch, which traces, left out).

``--memory`` generates a folder of full-size pairs (500x375 JPEG photos of shapes on a textured
background, PNG masks; reused when there) and times whole processes, alternating: ``python
main.py train`` of the same one-level U-Net at 128x128 (2 epochs, batch 32, no validation)
against ``bench/plain_seg_fit.py`` (a plain ``tf.data`` script, no cache). Peak memory is each
process's maximum resident set (``wait4``). ``--before DIR`` adds a run of another checkout's
``main.py`` (e.g. the code before streaming, which decoded every pair into memory).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
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


def make_pairs(root: Path, count: int) -> Path:
    """``count`` 500x375 JPEG photos (quality 90) of one to three shapes on a textured
    background with their PNG masks (0 background, 1 shape), reused when already there."""
    import numpy as np
    from PIL import Image

    folder = root / f"pairs-{count}"
    if (folder / ".complete").exists():
        return folder
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    h, w = 375, 500
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    texture = rng.integers(0, 40, (h // 5 + 1, w // 5 + 1, 3)).repeat(5, 0).repeat(5, 1)[:h, :w]
    for i in range(count):
        image = (texture + rng.integers(60, 140, 3)).astype(np.float32)
        mask = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            r = rng.uniform(30, 90)
            cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
            inside = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) if rng.random() < 0.5 else \
                ((np.abs(yy - cy) <= r * 0.8) & (np.abs(xx - cx) <= r * 0.8))
            image[inside] = rng.integers(0, 256, 3)
            mask[inside] = 1
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(
            folder / "images" / f"{i:05d}.jpg", quality=90)
        Image.fromarray(mask).save(folder / "masks" / f"{i:05d}.png")
    (folder / "classes.txt").write_text("background\nshape\n")
    (folder / ".complete").write_text("ok")
    return folder


def memory_runs(pairs: int, repeats: int, before: str | None) -> int:
    """Alternating whole-process runs (ours, plain[, before]); medians of peak memory and wall."""
    import json
    import os
    import platform
    import re
    import tempfile

    sys.path.insert(0, str(ROOT / "bench"))
    from bench_data import measure  # noqa: E402 - the same wait4 measurement as issue 10's

    from playground.core.fileformat import save as save_graph

    work = Path(tempfile.mkdtemp(prefix="bench-seg-"))
    cache_root = Path(os.environ.get("BENCH_SEG_DATA", tempfile.gettempdir()))
    t0 = time.perf_counter()
    folder = make_pairs(cache_root, pairs)
    print(f"{folder}: {pairs} pairs ({time.perf_counter() - t0:.0f} s to make or find)",
          flush=True)
    graph = work / "unet.json"
    save_graph(small_unet(128), graph)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    kinds = ["ours", "plain"] + (["before"] if before else [])
    rows: dict[str, list[dict]] = {k: [] for k in kinds}
    for rep in range(repeats):
        for kind in kinds:
            if kind == "plain":
                cmd = [PY, str(ROOT / "bench" / "plain_seg_fit.py"), str(folder)]
            else:
                main_py = ROOT / "main.py" if kind == "ours" else Path(before) / "main.py"
                cmd = [PY, str(main_py), "train", str(graph), "--dataset", str(folder),
                       "--epochs", "2", "--batch-size", "32", "--optimizer", "adam", "--lr",
                       "0.001", "--val-split", "0", "--test-split", "0", "--no-run"]
            run_env = dict(env, PYTHONPATH=str(Path(before))) if kind == "before" else env
            result = measure(cmd, run_env)
            if kind == "plain":
                result["epochs"] = json.loads(result["stdout"].strip().splitlines()[-1])[
                    "epoch_seconds"]
            else:
                result["epochs"] = [float(m) for m in re.findall(
                    r"^epoch \d+/\d+:.*\((\d+\.\d+) s\)$", result["stdout"], re.MULTILINE)]
                cache = re.search(r"^cache: (.*)$", result["stderr"], re.MULTILINE)
                result["cache"] = cache.group(1) if cache else "-"
            rows[kind].append(result)
            print(f"{rep + 1}/{repeats} {kind}: peak {result['peak_mib']:.0f} MiB, wall "
                  f"{result['wall']:.1f} s, epochs "
                  f"{', '.join(f'{e:.1f}' for e in result['epochs'])} s"
                  + (f" ({result['cache']})" if result.get("cache") else ""), flush=True)

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[kind])

    load = os.getloadavg()
    print(f"{platform.node()}, {os.cpu_count()} cores, load {load[0]:.1f}/{load[1]:.1f}; "
          f"{pairs} pairs 500x375 -> 128x128, 2 epochs")
    for kind in kinds:
        print(f"{kind}: median peak {med(kind, 'peak_mib'):.0f} MiB, wall "
              f"{med(kind, 'wall'):.1f} s")
    print(f"peak ours/plain {med('ours', 'peak_mib') / med('plain', 'peak_mib'):.2f}x, wall "
          f"{med('ours', 'wall') / med('plain', 'wall'):.2f}x")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--images", type=int, default=800)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--memory", action="store_true",
                        help="peak memory of a streamed mask folder against a plain script")
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--before", help="another checkout to run as 'before' (--memory)")
    args = parser.parse_args()
    if args.memory:
        return memory_runs(args.pairs, args.repeats, args.before)
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
