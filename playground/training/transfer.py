"""Transfer learning: initial weights from an earlier run or a file, freezing the feature extractor.

Weights are matched by layer name (= node id) and shape, so a retargeted head is skipped and
reported while the feature extractor loads. Every file, whatever sits beside it (a run folder's
``config.json``, or a stranger's), is read by the one safe loader,
``playground.keras_build.weights.load_weights``: arrays read with h5py, configs inspected as
JSON, nothing deserialized, no HDF5 link followed. A failed load leaves the model's weights as
they were.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from playground.core.errors import PlaygroundError
from playground.core.graph import Graph


class TransferError(PlaygroundError):
    pass


@dataclass
class LoadReport:
    matched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: reason"

    def lines(self, source: str) -> list[str]:
        out = [f"weights from {source}: {len(self.matched)} layer(s) loaded"
               + (f" ({', '.join(self.matched)})" if self.matched else "")]
        out += [f"  skipped {s}" for s in self.skipped]
        return out


def _run_dir_of(path: str) -> str | None:
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return folder if os.path.isfile(os.path.join(folder, "config.json")) else None


def _best_weights(run_dir: str) -> str:
    for name in ("best.weights.h5", "last.weights.h5", os.path.join("backup", "latest.weights.h5")):
        candidate = os.path.join(run_dir, name)
        if os.path.isfile(candidate):
            return candidate
    raise TransferError(f"{run_dir}: the run has no saved weights yet")


def weights_file(path: str) -> str:
    """The file whose weights ``path`` means: a run folder's best weights, else ``path``."""
    if os.path.isdir(path):
        if _run_dir_of(path) is None:
            raise TransferError(f"{path}: a folder, but not a run folder (no config.json); give "
                                "a run folder, a .keras model or a .weights.h5 file")
        return _best_weights(path)
    return path


def load_init_weights(model: Any, path: str) -> LoadReport:
    """Copy weights whose layer name and shapes match; all-or-nothing on error.

    Always through ``weights.load_weights`` (the safe reader): a run folder's config.json is
    never used to rebuild or deserialize anything, and a ``.keras`` beside one is read like any
    other stranger's file."""
    from playground.keras_build.weights import load_weights

    if not os.path.lexists(path):
        raise TransferError(f"{path}: file not found")
    result = load_weights(model, weights_file(path))
    report = LoadReport()
    report.matched = list(result.matched)
    report.skipped = [str(s) for s in result.skipped]
    return report


def feature_extractor_ids(graph: Graph) -> list[str]:
    """The trainable nodes other than the Input and the classifier head(s)."""
    from playground.core.retarget import find_heads

    heads = set(find_heads(graph))
    return [n.id for n in graph.nodes
            if n.type != "Input" and n.id not in heads and n.trainable]


def freeze_feature_extractor(graph: Graph) -> list[str]:
    """Freeze every node except the classifier head(s); returns the frozen ids.

    One action for the classic recipe: keep the pretrained features, train only the new head
    (then unfreeze and fine-tune at lr/10 with :meth:`RunConfig.fine_tuning`). The editor does
    the same through an undoable ``SetTrainable`` command on :func:`feature_extractor_ids`.
    """
    ids = feature_extractor_ids(graph)
    for node_id in ids:
        graph.set_trainable(node_id, False)
    return ids
