"""Weights follow the graph: a graph imported with its weights names its weights file.

``import --with-weights`` writes ``GRAPH.weights.h5`` beside ``GRAPH.json`` and records its name
in the graph's top-level ``weights`` key. ``export``, ``train`` and the editor's training panel
start from that file when no other initial weights are given, and say so; ``--init-weights none``
starts from fresh random weights instead.

The key comes from a file someone may have handed over, so it is read as a name inside the
graph's own folder only: no absolute paths, no ``..``, and the target must be a regular file (a
FIFO or device named like a weights file would block or stream forever).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from playground.core.graph import Graph

WEIGHTS_KEY = "weights"
FRESH = "none"          # --init-weights none: ignore the recorded weights


@dataclass
class InitWeights:
    """What a run or an export starts from, and the line that says why (None: nothing to say)."""

    spec: str | None
    note: str | None = None


def recorded_weights(graph: Graph, graph_path: str | os.PathLike[str] | None
                     ) -> tuple[Path | None, str | None]:
    """The weights file the graph records, resolved beside the graph file, or (None, reason)
    when the graph records one that cannot be used; (None, None) when it records none."""
    value = graph.extra.get(WEIGHTS_KEY)
    if value is None:
        return None, None
    if not isinstance(value, str) or not value.strip():
        return None, f"the graph's \"{WEIGHTS_KEY}\" key is not a file name; ignored"
    relative = PurePosixPath(value.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or ":" in value:
        return None, (f"the graph's weights {value!r} must be a file name beside the graph "
                      "(no absolute path, no '..'); ignored")
    if graph_path is None:
        return None, f"the graph records weights {value!r} but has no folder yet; ignored"
    path = Path(graph_path).resolve().parent / Path(*relative.parts)
    if not path.exists():
        return None, f"the graph records weights {value!r} but {path} is missing; fresh weights"
    if not path.is_file():
        return None, f"the graph's weights {path} is not a regular file; ignored"
    return path, None


def initial_weights(graph: Graph, graph_path: str | os.PathLike[str] | None,
                    given: str | None) -> InitWeights:
    """``--init-weights`` as given, else the graph's recorded weights (with a note saying so)."""
    if given is not None and given.strip().lower() == FRESH and not os.path.exists(given):
        return InitWeights(None, "starting from fresh random weights (--init-weights none)")
    if given:
        return InitWeights(given)
    path, problem = recorded_weights(graph, graph_path)
    if path is not None:
        return InitWeights(str(path), f"weights: starting from {path.name}, recorded in the "
                                      f"graph (--init-weights none for fresh weights)")
    return InitWeights(None, f"note: {problem}" if problem else None)
