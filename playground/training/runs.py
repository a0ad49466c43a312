"""Runs kept on disk so they can be resumed and compared.

A run folder holds ``config.json`` (settings, dataset, graph document), ``history.csv`` (one row
per epoch), ``best.weights.h5`` (lowest validation loss), ``last.weights.h5`` and ``backup/``
(``keras.callbacks.BackupAndRestore``: weights + optimizer state + epoch, for resume).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.core.atomic import write_text_atomic

HISTORY_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")


def runs_root() -> Path:
    """``$PLAYGROUND_RUNS_DIR``, else the user's data folder (``~/.local/share/...``)."""
    env = os.environ.get("PLAYGROUND_RUNS_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return Path(base) / "keras-playground" / "runs"


SLUG_CHARS = 80   # of the graph's and dataset's names in a run folder's name


def new_run_dir(name: str, root: Path | str | None = None) -> Path:
    """A new folder ``STAMP-SLUG`` under ``root``; the slug keeps ASCII letters, digits, ``_.-``
    of ``name``, cut so that the folder's name stays far below the 255-byte limit of file
    systems (a graph named with 300 characters still trains)."""
    root = Path(root) if root is not None else runs_root()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    if len(slug) > SLUG_CHARS:
        slug = slug[:SLUG_CHARS // 2 - 1].rstrip("_.-") + "--" + slug[-(SLUG_CHARS // 2 - 1):] \
            .lstrip("_.-")
    slug = slug or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{stamp}-{slug}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{slug}-{n}"
    path.mkdir(parents=True)
    return path


def write_config(run_dir: Path | str, data: dict[str, Any]) -> None:
    write_text_atomic(os.path.join(run_dir, "config.json"), json.dumps(data, indent=2))


def read_config(run_dir: Path | str) -> dict[str, Any]:
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def write_history(run_dir: Path | str, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    extra = sorted({k for r in rows for k in r} - set(HISTORY_KEYS))
    writer = csv.DictWriter(buf, fieldnames=[*HISTORY_KEYS, *extra], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in writer.fieldnames})
    write_text_atomic(os.path.join(run_dir, "history.csv"), buf.getvalue())


def read_history(run_dir: Path | str) -> list[dict[str, float]]:
    path = os.path.join(run_dir, "history.csv")
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for raw in csv.DictReader(f):
            row: dict[str, float] = {}
            for k, v in raw.items():
                if v not in ("", None):
                    try:
                        row[k] = float(v)
                    except ValueError:
                        continue
            rows.append(row)
    return rows


@dataclass
class RunInfo:
    path: Path
    config: dict[str, Any]
    history: list[dict[str, float]]

    @property
    def label(self) -> str:
        return self.path.name


def list_runs(root: Path | str | None = None) -> list[RunInfo]:
    """Runs under ``root``, newest first; folders that are not runs are passed over."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    runs = []
    for entry in sorted(root.iterdir(), reverse=True):
        if (entry / "config.json").is_file():
            try:
                runs.append(RunInfo(entry, read_config(entry), read_history(entry)))
            except (OSError, ValueError):
                continue
    return runs
