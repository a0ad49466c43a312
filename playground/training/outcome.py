"""A finished run as the editor sees it when the training happened in another process.

The training child keeps its model and data; what crosses back is the run's last event (status,
history, evaluation, image shapes, the pictures of the worst samples) and the run folder (the
graph document in ``config.json``, ``last.weights.h5``). :class:`RunOutcome` offers the same
fields as the in-process ``runner.RunResult``, so exports, File > Export and the evaluation view
treat both alike; the Keras model is rebuilt from the run folder only when something asks for it
(an export job), since that imports TensorFlow.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground.core.graph import Graph

WEIGHTS_FILE = "last.weights.h5"


def _graph_of_run(run_dir: str | None) -> Graph | None:
    """The graph the run's model was built from (retargeted heads included), or None."""
    if not run_dir:
        return None
    try:
        from playground.core.fileformat import from_document
        from playground.training.runs import read_config

        document = read_config(run_dir).get("graph")
        return from_document(document) if isinstance(document, dict) else None
    except Exception:  # noqa: BLE001 - a damaged run folder just has no model to offer
        return None


@dataclass
class RunOutcome:
    status: str                       # the run's own word: finished, stopped, nan, error, ...
    message: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    evaluation: dict[str, Any] | None = None
    run_dir: str | None = None
    graph: Graph | None = None
    raw_shape: tuple[int, int, int] | None = None
    model_shape: tuple[int, int, int] | None = None
    wrong_images: list[Any] = field(default_factory=list)
    dataset: Any = None               # the data stayed in the training process
    eval_source: str = "train"
    eval_indices: Any = None
    notes: list[str] = field(default_factory=list)
    _built: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> RunOutcome:
        run_dir = event.get("run_dir")

        def shape(key: str) -> tuple[int, int, int] | None:
            value = event.get(key)
            return tuple(int(d) for d in value) if value else None  # type: ignore[return-value]

        rows = event.get("eval_indices")
        return cls(str(event.get("status", "error")), str(event.get("message", "")),
                   list(event.get("history") or []), event.get("evaluation"), run_dir,
                   _graph_of_run(run_dir), shape("raw_shape"), shape("model_shape"),
                   list(event.get("wrong_images") or []),
                   eval_source=str(event.get("eval_source") or "train"),
                   eval_indices=None if rows is None else np.asarray(rows, dtype=np.int64))

    @property
    def ok(self) -> bool:
        return self.status in ("finished", "stopped", "early_stopped")

    @property
    def weights_path(self) -> str | None:
        if not self.run_dir:
            return None
        path = os.path.join(self.run_dir, WEIGHTS_FILE)
        return path if os.path.isfile(path) else None

    @property
    def has_model(self) -> bool:
        """The run left trained weights and the graph they belong to (no TensorFlow needed)."""
        return self.graph is not None and self.weights_path is not None

    @property
    def built(self) -> Any:
        """The run's model rebuilt from its folder (``compile.Built``), on first use."""
        with self._lock:
            if self._built is None and self.has_model:
                from playground.keras_build.compile import build
                from playground.keras_build.weights import load_weights

                built = build(self.graph)  # type: ignore[arg-type]
                load_weights(built.model, self.weights_path)  # type: ignore[arg-type]
                self._built = built
            return self._built

    @property
    def model(self) -> Any:
        built = self.built
        return built.model if built is not None else None
