"""Initial weights from a file, matched to the model's layers by name and shape.

Accepted: a Keras 3 ``.keras`` model, a Keras 3 ``.weights.h5``, or a legacy (Keras 2 /
keras.applications) ``.h5`` weights or model file. Nothing in the file is ever deserialized into
Python objects: weights are read as arrays with h5py, and a model's ``config.json`` (or a legacy
``model_config``) is inspected as plain JSON first. A file that carries code (a ``Lambda`` layer,
a class Keras does not ship) is refused, even though its code would not run here, because a file
the user believes is a plain model but is not deserves a clear word.

Loading is all-or-nothing per call: every matching array is staged and checked first, and the
model's variables are assigned only when the whole file has been read without error, so a
corrupt file leaves the model exactly as it was.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from playground.core.errors import PlaygroundError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_CONFIG_BYTES = 64 * 1024 * 1024
# Keras' own containers whose nested "layers" are inspected like a model's.
MODEL_CLASSES = {"Functional", "Sequential", "Model"}
# Classes that carry arbitrary Python code in their config.
CODE_CLASSES = {"Lambda", "TFOpLambda", "SlicingOpLambda"}
# Keras layers that load another model from a path named in the file (a SavedModel runs TF ops).
EXTERNAL_CLASSES = {"TFSMLayer"}
PLAYGROUND_PACKAGE = "playground"


class WeightsError(PlaygroundError):
    """The weights file cannot be used; the message names the file and the reason."""


@dataclass
class LayerEntry:
    """One layer of an inspected model config (for the importer and for name mapping)."""

    name: str
    class_name: str
    config: dict[str, Any]
    inbound: list[Any]
    module: str | None = None
    registered_name: str | None = None
    parent: str = ""      # "" for the model's own layers, "<sub-model>/" inside a nested model


class Skipped(NamedTuple):
    """A layer that kept its weights, and why; ``str()`` is ``"layer: reason"``."""

    layer: str
    reason: str

    def __str__(self) -> str:
        return f"{self.layer}: {self.reason}"


@dataclass
class LoadReport:
    source: str
    matched: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)                # in the file, not the model

    @property
    def missing(self) -> list[str]:
        return [name for name, reason in self.skipped if reason.startswith("not in")]

    def lines(self) -> list[str]:
        out = [f"weights: {self.source}: loaded {len(self.matched)} layer(s), "
               f"skipped {len(self.skipped)}"]
        if self.matched:
            out.append("  loaded: " + ", ".join(self.matched))
        for name, reason in self.skipped:
            out.append(f"  skipped {name}: {reason}")
        if self.unused:
            out.append(f"  unused in the file: {', '.join(self.unused[:20])}"
                       + (f" (and {len(self.unused) - 20} more)" if len(self.unused) > 20
                          else ""))
        return out


# --------------------------------------------------------------------- config inspection
def _known_keras_layer(class_name: str) -> bool:
    import keras

    cls = getattr(keras.layers, class_name, None)
    return isinstance(cls, type) and issubclass(cls, keras.layers.Layer)


def _custom_ok(entry: dict[str, Any]) -> bool:
    from playground.keras_build.layers import CUSTOM_OBJECTS

    registered = entry.get("registered_name")
    return isinstance(registered, str) and registered in CUSTOM_OBJECTS


def inspect_model_config(config: Any, source: str, collect: list[str] | None = None
                         ) -> list[LayerEntry]:
    """Flatten a serialized model config into its layers, refusing code and foreign classes.

    Raises ``WeightsError`` naming every offending layer, or, given a ``collect`` list, appends
    the complaints there and returns the acceptable layers (the importer reports everything at
    once). Works on Keras 3 ``config.json`` and on Keras 2 ``model_config`` (same shape:
    ``{"class_name", "config": {"layers": [...]}}``).
    """
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise WeightsError(f"{source}: not a Keras model (its configuration is not a model)")
    class_name = config.get("class_name")
    if class_name not in MODEL_CLASSES:
        raise WeightsError(f"{source}: not a Keras functional or sequential model (it is a "
                           f"{class_name!r}); subclassed models carry code and are not read")
    entries: list[LayerEntry] = []
    bad: list[str] = []
    _collect(config, entries, bad, prefix="")
    if collect is not None:
        collect.extend(bad)
    elif bad:
        raise WeightsError(f"{source}: refused, the model carries code or classes this app "
                           "does not know (never loaded): " + "; ".join(bad))
    return entries


def _collect(model_config: dict[str, Any], entries: list[LayerEntry], bad: list[str],
             prefix: str) -> None:
    layers = model_config["config"].get("layers")
    if not isinstance(layers, list):
        bad.append(f"{prefix or 'model'}: no layer list")
        return
    for item in layers:
        if not isinstance(item, dict):
            bad.append(f"{prefix}a layer entry is not an object")
            continue
        cls = item.get("class_name")
        cfg = item.get("config") if isinstance(item.get("config"), dict) else {}
        name = cfg.get("name", item.get("name", "?"))
        where = f"layer {prefix}{name!r}"
        module = item.get("module")
        if not isinstance(cls, str):
            bad.append(f"{where} has no class name")
        elif cls in CODE_CLASSES:
            bad.append(f"{where} is a {cls} layer (it holds Python code)")
        elif cls in EXTERNAL_CLASSES:
            bad.append(f"{where} is a {cls} layer (it loads a model from a path named in the "
                       "file)")
        elif cls in MODEL_CLASSES:
            _collect(item, entries, bad, prefix=f"{prefix}{name}/")
            entries.append(LayerEntry(str(name), cls, cfg, item.get("inbound_nodes") or [],
                                      module, item.get("registered_name"), prefix))
        elif _custom_ok(item):
            entries.append(LayerEntry(str(name), cls, cfg, item.get("inbound_nodes") or [],
                                      module, item.get("registered_name"), prefix))
        elif (module not in (None, "keras.layers") or not _known_keras_layer(cls)
              or (item.get("registered_name") not in (None, cls))):
            origin = f" from {module!r}" if module else ""
            bad.append(f"{where} has class {cls!r}{origin}, which is not a Keras layer "
                       "(custom code)")
        else:
            entries.append(LayerEntry(str(name), cls, cfg, item.get("inbound_nodes") or [],
                                      module, item.get("registered_name"), prefix))


@dataclass
class KerasArchive:
    """The parts of a ``.keras`` zip, read without deserializing anything."""

    config: dict[str, Any]
    layers: list[LayerEntry]
    weights_h5: bytes | None
    metadata: dict[str, Any]


def read_keras_archive(path: str | os.PathLike[str], want_weights: bool = True,
                       collect: list[str] | None = None) -> KerasArchive:
    """Open a ``.keras`` file safely: zip integrity, config inspection, raw weights bytes.

    ``collect``: see ``inspect_model_config``."""
    source = str(path)
    _check_exists(path)
    if not zipfile.is_zipfile(path):
        raise WeightsError(f"{source}: not a .keras model (not a zip archive: the file is "
                           "truncated, damaged, or of another kind)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise WeightsError(f"{source}: not a Keras model (the archive has no "
                                   "config.json)")
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise WeightsError(f"{source}: config.json is {info.file_size:,} bytes; refused")
            try:
                config = json.loads(archive.read("config.json").decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise WeightsError(f"{source}: not a Keras model (config.json is not valid "
                                   f"JSON: {exc})") from None
            metadata: dict[str, Any] = {}
            if "metadata.json" in names:
                try:
                    metadata = json.loads(archive.read("metadata.json").decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    metadata = {}
            layers = inspect_model_config(config, source, collect)
            weights = None
            if want_weights:
                if "model.weights.h5" not in names:
                    raise WeightsError(f"{source}: the archive holds no model.weights.h5 "
                                       "(sharded or npz weights are not supported)")
                weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, zlib.error) as exc:
        raise WeightsError(f"{source}: damaged .keras archive ({exc})") from None
    except OSError as exc:
        raise WeightsError(f"{source}: cannot read: {exc.strerror or exc}") from None
    return KerasArchive(config, layers, weights, metadata if isinstance(metadata, dict) else {})


def _check_exists(path: str | os.PathLike[str]) -> None:
    p = Path(path)
    if not p.exists():
        raise WeightsError(f"{path}: no such file")
    if p.is_dir():
        raise WeightsError(f"{path}: is a folder (a SavedModel folder has no layer names; give "
                           "a .keras or .weights.h5 file)")


# --------------------------------------------------------------------- reading arrays
def _open_h5(data: bytes | str, source: str):
    import h5py

    if isinstance(data, bytes):
        if not data.startswith(HDF5_SIGNATURE):
            raise WeightsError(f"{source}: the weights inside are not an HDF5 file")
        handle: Any = io.BytesIO(data)
    else:
        with open(data, "rb") as probe:
            head = probe.read(8)
        if head != HDF5_SIGNATURE:
            text = head.decode("ascii", "replace").strip()
            hint = f" (it starts with {text!r})" if text.isprintable() and text else ""
            raise WeightsError(f"{source}: not an HDF5 weights file{hint}")
        handle = data
    try:
        return h5py.File(handle, "r")
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{source}: damaged HDF5 file ({exc})") from None


def _datasets_in_order(group: Any) -> list[np.ndarray]:
    keys = sorted(group.keys(), key=lambda k: int(k) if str(k).isdigit() else 10**9)
    return [np.asarray(group[k][()]) for k in keys]


def _read_keras3(h5: Any, source: str, layer_order: list[LayerEntry] | None
                 ) -> dict[str, list[np.ndarray]]:
    """Keras 3 layout: ``layers/<snake_class>[_n]/vars/<i>``; ``vars`` records the layer name
    (Keras >= 3.x); older files are mapped through the model config's layer order."""
    import h5py

    result: dict[str, list[np.ndarray]] = {}
    unnamed: dict[str, list[np.ndarray]] = {}

    def visit(path: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Group) or path.rsplit("/", 1)[-1] != "vars":
            return
        if not path.startswith("layers/"):
            return  # the optimizer's and metrics' state: not layer weights
        arrays = _datasets_in_order(obj)
        name = obj.attrs.get("name")
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        owner = path[: -len("/vars")] if path.endswith("/vars") else ""
        if isinstance(name, str) and owner:
            result.setdefault(name, arrays)
        elif owner:
            unnamed[owner] = arrays

    h5.visititems(visit)
    if unnamed and layer_order is not None:
        for entry_path, name in _keras3_paths(layer_order).items():
            if entry_path in unnamed and name not in result:
                result[name] = unnamed[entry_path]
    elif unnamed and not result:
        raise WeightsError(f"{source}: this weights file does not record layer names (an older "
                           "Keras 3 file); load the .keras model file instead")
    return {k: v for k, v in result.items() if v}


def _keras3_paths(entries: list[LayerEntry]) -> dict[str, str]:
    """Top-level layers' paths as Keras' saving_lib names them (snake_case class + counter)."""
    from keras.src.utils.naming import to_snake_case

    used: dict[str, int] = {}
    paths = {}
    for entry in entries:
        if entry.parent:
            continue
        base = to_snake_case(entry.class_name)
        if base in used:
            used[base] += 1
            key = f"{base}_{used[base]}"
        else:
            used[base] = 0
            key = base
        paths[f"layers/{key}"] = entry.name
    return paths


def _read_legacy(h5: Any, source: str) -> dict[str, list[np.ndarray]]:
    """Keras 2 layout (also keras.applications' ImageNet files): ``layer_names`` on the root (or
    on ``model_weights``), each layer group listing its ``weight_names`` in order."""
    group = h5["model_weights"] if "model_weights" in h5 else h5
    if "model_config" in h5.attrs:
        raw = h5.attrs["model_config"]
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        try:
            config = json.loads(raw)
        except (TypeError, json.JSONDecodeError):
            raise WeightsError(f"{source}: the model configuration inside is damaged") from None
        inspect_model_config(config, source)
    result: dict[str, list[np.ndarray]] = {}
    for raw_name in group.attrs["layer_names"]:
        name = raw_name.decode("utf-8") if isinstance(raw_name, bytes) else str(raw_name)
        if name not in group:
            raise WeightsError(f"{source}: layer {name!r} is listed but missing (damaged file)")
        layer_group = group[name]
        weight_names = [w.decode("utf-8") if isinstance(w, bytes) else str(w)
                        for w in layer_group.attrs.get("weight_names", [])]
        arrays = [np.asarray(layer_group[w][()]) for w in weight_names]
        if arrays:
            result[name] = arrays
    return result


def read_weights(path: str | os.PathLike[str]) -> dict[str, list[np.ndarray]]:
    """Layer name -> arrays (in the layer's ``weights`` order) from any accepted file."""
    source = str(path)
    _check_exists(path)
    suffix = "".join(Path(path).suffixes[-2:]).lower()
    try:
        if suffix.endswith(".keras"):
            archive = read_keras_archive(path)
            assert archive.weights_h5 is not None
            with _open_h5(archive.weights_h5, source) as h5:
                return _read_keras3(h5, source, archive.layers)
        if suffix.endswith((".h5", ".hdf5")):
            with _open_h5(str(path), source) as h5:
                if "layer_names" in h5.attrs or ("model_weights" in h5
                                                 and "layer_names" in h5["model_weights"].attrs):
                    return _read_legacy(h5, source)
                if "layers" in h5 or "vars" in h5:
                    weights = _read_keras3(h5, source, None)
                    if not weights and "layers" not in h5:
                        raise WeightsError(f"{source}: holds no layer weights")
                    return weights
                raise WeightsError(f"{source}: an HDF5 file, but not Keras weights (no layers "
                                   "in it)")
    except WeightsError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise WeightsError(f"{source}: damaged or unexpected weights file "
                           f"({type(exc).__name__}: {exc})") from None
    raise WeightsError(f"{source}: expected a .keras model or a .weights.h5 / .h5 weights file")


# --------------------------------------------------------------------- applying
def _model_layers(model: Any) -> list[Any]:
    """Every layer with weights, nested models flattened (names are unique in our models)."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            out.extend(_model_layers(layer))
        elif layer.weights:
            out.append(layer)
    return out


def _shapes(arrays: list[Any]) -> str:
    return ", ".join(str(tuple(a.shape)) for a in arrays)


def apply_weights(model: Any, weights: dict[str, list[np.ndarray]], source: str,
                  only: set[str] | None = None) -> LoadReport:
    """Assign matching arrays; all checks happen before the first assignment."""
    report = LoadReport(source)
    staged: list[tuple[Any, np.ndarray]] = []
    seen = set()
    for layer in _model_layers(model):
        if only is not None and layer.name not in only:
            continue
        seen.add(layer.name)
        arrays = weights.get(layer.name)
        if arrays is None:
            report.skipped.append(Skipped(layer.name, "not in the file"))
            continue
        variables = layer.weights
        if len(arrays) != len(variables) or any(
                tuple(a.shape) != tuple(v.shape) for a, v in zip(arrays, variables, strict=False)):
            report.skipped.append(Skipped(layer.name, f"shape mismatch: the file has "
                                   f"[{_shapes(arrays)}], the model needs "
                                   f"[{_shapes(variables)}]"))
            continue
        for variable, array in zip(variables, arrays, strict=True):
            if not np.all(np.isfinite(array)) and np.issubdtype(array.dtype, np.floating):
                raise WeightsError(f"{source}: layer {layer.name!r} holds NaN or infinite "
                                   "values; refusing the file")
            staged.append((variable, array))
        report.matched.append(layer.name)
    report.unused = [name for name in weights if name not in seen]
    for variable, array in staged:
        variable.assign(array.astype(variable.dtype, copy=False))
    for layer in _model_layers(model):   # Normalization keeps tensors derived from its weights
        if layer.name in report.matched and callable(getattr(layer, "finalize_state", None)):
            layer.finalize_state()
    return report


def load_weights(model: Any, path: str | os.PathLike[str]) -> LoadReport:
    """``--init-weights FILE``: read the file (safely), then apply by name and shape."""
    weights = read_weights(path)
    if not weights:
        raise WeightsError(f"{path}: holds no layer weights")
    report = apply_weights(model, weights, str(path))
    return report


def save_weights(model: Any, path: str | os.PathLike[str]) -> None:
    """``model.save_weights`` through a temp file beside ``path`` (atomic)."""
    import contextlib
    import tempfile

    target = Path(path)
    if not target.name.endswith(".weights.h5"):
        raise WeightsError(f"{target}: a weights file must end in .weights.h5")
    parent = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp.weights.h5", dir=parent)
    os.close(fd)
    try:
        os.unlink(tmp)  # h5py wants to create the file itself
        model.save_weights(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
