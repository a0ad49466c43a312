"""Transfer learning: initial weights from an earlier run or a file, freezing the feature extractor.

Weights are matched by layer name (= node id) and shape, so a retargeted head is skipped and
reported while the feature extractor loads. Uses ``playground.keras_build.weights.load_weights``
when that module exists (the CLI's loader), else the loader below. A failed load leaves the
model's weights as they were.
"""

from __future__ import annotations

import json
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


def _source_model(path: str) -> Any:
    """A Keras model holding the weights at ``path`` (a run folder/its weights, or ``.keras``)."""
    import keras

    from playground.keras_build.layers import CUSTOM_OBJECTS

    run_dir = _run_dir_of(path)
    if run_dir is not None and (os.path.isdir(path) or path.endswith(".weights.h5")):
        from playground.core.fileformat import from_document
        from playground.keras_build.compile import build_model

        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        model = build_model(from_document(config["graph"], source=run_dir))
        weights = path if not os.path.isdir(path) else _best_weights(run_dir)
        model.load_weights(weights)
        return model
    if path.endswith(".keras"):
        return keras.saving.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False,
                                       safe_mode=True)
    raise TransferError(f"{path}: weights alone (.h5) carry no layer names this loader can "
                        "match; use a .keras model or a run folder")


def _best_weights(run_dir: str) -> str:
    for name in ("best.weights.h5", "last.weights.h5", os.path.join("backup", "latest.weights.h5")):
        candidate = os.path.join(run_dir, name)
        if os.path.isfile(candidate):
            return candidate
    raise TransferError(f"{run_dir}: the run has no saved weights yet")


def load_init_weights(model: Any, path: str) -> LoadReport:
    """Copy weights whose layer name and shapes match; all-or-nothing on error."""
    if not os.path.exists(path):
        raise TransferError(f"{path}: file not found")
    try:
        from playground.keras_build import weights as shared_weights  # the CLI developer's
    except ImportError:
        shared_weights = None
    loader = getattr(shared_weights, "load_weights", None) if shared_weights else None
    if loader is not None and _run_dir_of(path) is None:
        result = loader(model, path)
        report = LoadReport()
        report.matched = list(getattr(result, "matched", []) or [])
        report.skipped = [f"{s[0]}: {s[1]}" if isinstance(s, tuple) and len(s) == 2 else str(s)
                          for s in (getattr(result, "skipped", []) or [])]
        return report
    before = model.get_weights()
    try:
        source = _source_model(path)
    except PlaygroundError:
        raise
    except Exception as exc:  # noqa: BLE001 - foreign/corrupt files: report, keep the model
        raise TransferError(f"{path}: cannot read weights ({type(exc).__name__}: {exc})") from None
    report = LoadReport()
    by_name = {layer.name: layer for layer in source.layers}
    try:
        for layer in model.layers:
            if not layer.weights:
                continue
            other = by_name.get(layer.name)
            if other is None:
                report.skipped.append(f"{layer.name}: not in the source")
                continue
            mine = [tuple(w.shape) for w in layer.weights]
            theirs = [tuple(w.shape) for w in other.weights]
            if mine != theirs:
                report.skipped.append(f"{layer.name}: shapes {theirs} != {mine}")
                continue
            layer.set_weights(other.get_weights())
            report.matched.append(layer.name)
    except Exception as exc:
        model.set_weights(before)
        raise TransferError(f"{path}: loading failed, model unchanged ({exc})") from None
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
