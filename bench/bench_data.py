"""Issue 10's "Measured" figure: ``train`` on a folder of photos against a plain Keras script.

Generates a folder of JPEG photos (500x375, two classes; 3,000 by default, ``--photos 12000``
for the flatness check), then times whole processes, alternating: ``python main.py train``
on a small 224x224x3 graph against ``bench/plain_folder_fit.py`` (the same model with
``image_dataset_from_directory``, batch 64, 2 epochs, Adam, no augmentation, no validation).
Each process's peak memory is its maximum resident set (``wait4``'s ru_maxrss: the process and
its threads; neither command starts child processes); wall time is the whole process, start to
exit; the second-epoch time is what each prints for its epoch 2.

    python bench/bench_data.py [--photos 3000] [--repeats 3] [--keep DIR]

Goals (issue 10): peak memory <= 1.5x the plain script and flat from 3,000 to 12,000 photos
(within 10 %); wall time <= 1.10x, and <= 1.0x from the second epoch on.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def make_photos(root: Path, count: int) -> Path:
    """``count`` JPEGs 500x375 (quality 85), half per class, reused when already there."""
    import numpy as np
    from PIL import Image

    folder = root / f"photos-{count}"
    done = folder / ".complete"
    if done.exists():
        return folder
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    for i in range(count):
        cls = ("cats", "dogs")[i % 2]
        (folder / cls).mkdir(parents=True, exist_ok=True)
        small = np.roll(base, i, axis=1).astype(np.int16) + (50 if i % 2 else -50)
        noise = rng.integers(-20, 20, small.shape)
        img = Image.fromarray(np.clip(small + noise, 0, 255).astype(np.uint8))
        img.resize((500, 375), Image.Resampling.BILINEAR).save(folder / cls / f"{i:05d}.jpg",
                                                               quality=85)
    done.write_text("ok")
    return folder


def graph_document(size: int = 224) -> dict:
    """The bench's graph: the same layers as plain_folder_fit.build (rescaling is the app's)."""
    layers = [("conv1", "Conv2D", {"filters": 16, "kernel_size": 3, "strides": 2,
                                   "activation": "relu"}),
              ("pool1", "MaxPooling2D", {"pool_size": 2}),
              ("conv2", "Conv2D", {"filters": 32, "kernel_size": 3, "strides": 2,
                                   "activation": "relu"}),
              ("pool2", "MaxPooling2D", {"pool_size": 2}),
              ("conv3", "Conv2D", {"filters": 64, "kernel_size": 3, "activation": "relu"}),
              ("gap", "GlobalAveragePooling2D", {}),
              ("out", "Dense", {"units": 2, "activation": "softmax"})]
    nodes = [{"id": "input", "type": "Input", "params": {"shape": [size, size, 3]},
              "pos": [0, 0]}]
    edges = []
    prev = "input"
    for i, (nid, typ, params) in enumerate(layers, 1):
        nodes.append({"id": nid, "type": typ, "params": params, "pos": [260 * i, 0]})
        edges.append({"from": prev, "to": nid})
        prev = nid
    return {"format": "keras-playground-graph", "version": 1, "name": "bench-photos",
            "nodes": nodes, "edges": edges}


def run_one(kind: str, folder: Path, graph: Path, work: Path, env: dict) -> dict:
    if kind == "plain":
        cmd = [PY, str(ROOT / "bench" / "plain_folder_fit.py"), str(folder)]
    else:
        run_dir = Path(tempfile.mkdtemp(dir=work, prefix="run-"))
        shutil.rmtree(run_dir)
        cmd = [PY, str(ROOT / "main.py"), "train", str(graph), "--dataset", str(folder),
               "--epochs", "2", "--batch-size", "64", "--optimizer", "adam", "--lr", "0.001",
               "--val-split", "0", "--run-dir", str(run_dir)]
    result = measure(cmd, env)
    if kind == "plain":
        epochs = json.loads(result["stdout"].strip().splitlines()[-1])["epoch_seconds"]
    else:
        epochs = [float(m) for m in re.findall(r"^epoch \d+/\d+:.*\((\d+\.\d+) s\)$",
                                               result["stdout"], re.MULTILINE)]
        cache = re.search(r"^cache: (.*)$", result["stderr"], re.MULTILINE)
        result["cache"] = cache.group(1) if cache else "?"
    result["epochs"] = epochs
    return result


def measure(cmd: list[str], env: dict) -> dict:
    """Run ``cmd``: wall seconds (start to exit), peak RSS in MiB (the child reaped with wait4
    gives its own ru_maxrss), its stdout and stderr."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"wall": wall, "peak_mib": usage.ru_maxrss / 1024, "stdout": stdout,
            "stderr": stderr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3, help="alternations (pairs)")
    parser.add_argument("--keep", metavar="DIR", help="where the photo folders live (kept)")
    parser.add_argument("--only", choices=["plain", "train"], help="run one side only")
    args = parser.parse_args()
    keep = Path(args.keep or os.path.join(tempfile.gettempdir(), "playground-bench-data"))
    keep.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    folder = make_photos(keep, args.photos)
    print(f"photos: {folder} ({args.photos}; {time.perf_counter() - t0:.0f} s)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-data-"))
    graph = work / "graph.json"
    graph.write_text(json.dumps(graph_document()), encoding="utf-8")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PLAYGROUND_RUNS_DIR=str(work / "runs"),
               PYTHONPATH=str(ROOT))
    rows: dict[str, list[dict]] = {"plain": [], "train": []}
    kinds = [args.only] if args.only else ["plain", "train"]
    try:
        for r in range(args.repeats):
            order = kinds if r % 2 == 0 else kinds[::-1]
            for kind in order:
                res = run_one(kind, folder, graph, work, env)
                rows[kind].append(res)
                print(f"{kind:5s} wall {res['wall']:6.1f} s  peak {res['peak_mib']:6.0f} MiB  "
                      f"epochs {[round(e, 1) for e in res['epochs']]}"
                      + (f"  [{res['cache']}]" if kind == "train" else ""), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(kind: str, key: str) -> float:
        if key == "epoch2":
            return statistics.median(r["epochs"][1] for r in rows[kind])
        return statistics.median(r[key] for r in rows[kind])

    print()
    print(f"date: {datetime.date.today()}  machine: {platform.machine()}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}; photos: {args.photos}; "
          f"{args.repeats} alternations")
    for key, label in (("peak_mib", "peak memory (MiB)"), ("wall", "wall time (s)"),
                       ("epoch2", "second epoch (s)")):
        if all(rows[k] for k in ("plain", "train")):
            p, t = med("plain", key), med("train", key)
            print(f"{label:20s} plain {p:8.1f}  train {t:8.1f}  ratio {t / p:5.2f}x")
        else:
            for k in kinds:
                print(f"{label:20s} {k} {med(k, key):8.1f}")


if __name__ == "__main__":
    main()
