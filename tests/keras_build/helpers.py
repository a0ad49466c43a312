"""Helpers for Keras-side tests: compiled graphs, weights by layer name, a legacy .h5 writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from playground.core import fileformat
from playground.keras_build.compile import build


def built_from(document: dict[str, Any]):
    return build(fileformat.from_document(document))


def randomize(model: Any, seed: int = 0) -> None:
    """Non-trivial weights everywhere (BN variances positive), so comparisons mean something."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "layers", None):
            randomize(layer, seed + 1)
            continue
        values = []
        for w in layer.weights:
            a = rng.normal(0, 0.3, size=tuple(w.shape)).astype("float32")
            if "variance" in w.path:
                a = np.abs(a) + 0.5
            values.append(a)
        if values:
            layer.set_weights(values)


def weights_by_name(model: Any) -> dict[str, list[np.ndarray]]:
    """Layer name -> arrays, the layers of nested models included (they import inlined)."""
    out = {}
    for layer in model.layers:
        if getattr(layer, "layers", None):
            out.update(weights_by_name(layer))
        elif layer.weights:
            out[layer.name] = [np.asarray(w) for w in layer.get_weights()]
    return out


def copy_by_name(source: Any, target: Any) -> int:
    weights = weights_by_name(source)
    n = 0
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(weights[layer.name])
            n += 1
    return n


def outputs(model: Any, x: Any) -> list[np.ndarray]:
    out = model(x, training=False)
    return [np.asarray(o) for o in (out if isinstance(out, list | tuple) else [out])]


def write_legacy_h5(path: Path, layers: list[tuple[str, list[np.ndarray]]]) -> Path:
    """Keras 2's weights layout (keras.applications' ImageNet files): ``layer_names`` on the
    root, one group per layer listing its ``weight_names`` in order."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name, _ in layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for name, arrays in layers:
            group = f.create_group(name)
            names = [f"{name}/w{i}:0" for i in range(len(arrays))]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for n, a in zip(names, arrays, strict=True):
                group.create_dataset(n, data=a)
    return path


def temporary_keras_home(tmp_path: Path, monkeypatch: Any) -> Path:
    """An empty Keras cache (``$KERAS_HOME/models``) for one test, where ImageNet files go."""
    home = tmp_path / "keras-home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home
