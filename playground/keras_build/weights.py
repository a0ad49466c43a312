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

import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from playground.core import safefile
from playground.core.errors import PlaygroundError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_METADATA_BYTES = 1024 * 1024
# model.weights.h5 inside a .keras is read into memory: a cap, and a compression ratio no real
# weights reach (float weights hardly compress; Keras stores them uncompressed), against a few
# MB of zip that declare gigabytes.
MAX_WEIGHTS_MEMBER_BYTES = 8 * 1024 ** 3
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_FROM_BYTES = 1024 * 1024
# One weight array: far above any layer of the catalogue (VGG's fc6 kernel is 411 MB), far
# below what a crafted header can declare.
MAX_ARRAY_BYTES = 2 * 1024 ** 3
MAX_ATTRIBUTE_BYTES = 64 * 1024 * 1024
# Keras' own containers whose nested "layers" are inspected like a model's.
MODEL_CLASSES = {"Functional", "Sequential", "Model"}
# Classes that carry arbitrary Python code in their config.
CODE_CLASSES = {"Lambda", "TFOpLambda", "SlicingOpLambda"}
# Keras layers that load another model from a path named in the file (a SavedModel runs TF ops).
EXTERNAL_CLASSES = {"TFSMLayer"}


class WeightsError(PlaygroundError):
    """The weights file cannot be used; the message names the file and the reason."""


class Unread(NamedTuple):
    """A weight array seen in the file but not read: its declared shape and dtype only.

    Arrays the model cannot use (no such layer, another shape) are never read, so a header that
    declares gigabytes costs nothing; reports still show their shapes."""

    shape: tuple[int, ...]
    dtype: Any


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
    try:
        with safefile.open_regular(path) as handle:
            if not zipfile.is_zipfile(handle):
                raise WeightsError(f"{source}: not a .keras model (not a zip archive: the file "
                                   "is truncated, damaged, or of another kind)")
            with zipfile.ZipFile(handle) as archive:
                return _read_archive(archive, source, want_weights, collect)
    except WeightsError:
        raise
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, zlib.error) as exc:
        raise WeightsError(f"{source}: damaged .keras archive ({exc})") from None
    except OSError as exc:
        raise WeightsError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except MemoryError:
        raise WeightsError(f"{source}: the archive declares more data than fits in memory; "
                           "refused") from None
    except RecursionError:
        raise WeightsError(f"{source}: config.json is nested too deeply to be a Keras model; "
                           "refused") from None
    except Exception as exc:  # noqa: BLE001 - a crafted archive may break anything below
        raise WeightsError(f"{source}: damaged or crafted .keras archive "
                           f"({type(exc).__name__}: {str(exc)[:200]})") from None


def _member(archive: zipfile.ZipFile, name: str, limit: int, source: str) -> bytes:
    """One archive member, its declared size and compression ratio checked before reading.

    ``zipfile`` never returns more than the declared size (and fails the CRC on a liar), so
    the declared size bounds the memory this read can take."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise WeightsError(f"{source}: {name} declares {info.file_size:,} bytes (more than "
                           f"{limit:,}); refused")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_CHECK_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
        raise WeightsError(f"{source}: {name} would expand {info.compress_size:,} bytes to "
                           f"{info.file_size:,} (ratio {ratio:,.0f}:1, a zip bomb); refused")
    return archive.read(name)


def _read_archive(archive: zipfile.ZipFile, source: str, want_weights: bool,
                  collect: list[str] | None) -> KerasArchive:
    names = set(archive.namelist())
    if "config.json" not in names:
        raise WeightsError(f"{source}: not a Keras model (the archive has no config.json)")
    try:
        config = json.loads(_member(archive, "config.json", MAX_CONFIG_BYTES, source)
                            .decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{source}: not a Keras model (config.json is not valid "
                           f"JSON: {exc})") from None
    metadata: Any = {}
    if "metadata.json" in names:
        raw = _member(archive, "metadata.json", MAX_METADATA_BYTES, source)
        try:
            metadata = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            metadata = {}
    layers = inspect_model_config(config, source, collect)
    weights = None
    if want_weights:
        if "model.weights.h5" not in names:
            raise WeightsError(f"{source}: the archive holds no model.weights.h5 "
                               "(sharded or npz weights are not supported)")
        weights = _member(archive, "model.weights.h5", MAX_WEIGHTS_MEMBER_BYTES, source)
    return KerasArchive(config, layers, weights, metadata if isinstance(metadata, dict) else {})


def _check_exists(path: str | os.PathLike[str]) -> None:
    p = Path(path)
    if not p.exists():
        raise WeightsError(f"{path}: no such file")
    if p.is_dir():
        raise WeightsError(f"{path}: is a folder (a SavedModel folder has no layer names; give "
                           "a .keras or .weights.h5 file)")
    try:
        safefile.check_regular(path)  # a FIFO would hang the reader, a device never ends
    except safefile.NotARegularFile as exc:
        raise WeightsError(f"{path}: {exc.strerror}; refused") from None
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read: {exc.strerror or exc}") from None


# --------------------------------------------------------------------- reading arrays
def _open_h5(data: bytes | str, source: str):
    import h5py

    if isinstance(data, bytes):
        if not data.startswith(HDF5_SIGNATURE):
            raise WeightsError(f"{source}: the weights inside are not an HDF5 file")
        # An HDF5 file image in memory (the core driver, all C): a BytesIO through h5py's
        # file-object driver calls back into Python for every read and crashed h5py when a file
        # was closed in the editor's worker thread.
        handle: Any = data
    else:
        with open(data, "rb") as probe:
            head = probe.read(8)
        if head != HDF5_SIGNATURE:
            text = head.decode("ascii", "replace").strip()
            hint = f" (it starts with {text!r})" if text.isprintable() and text else ""
            raise WeightsError(f"{source}: not an HDF5 weights file{hint}")
        handle = data
    try:
        h5 = (h5py.File(h5py.h5f.open_file_image(handle)) if isinstance(handle, bytes)
              else h5py.File(handle, "r"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{source}: damaged HDF5 file ({exc})") from None
    try:
        _refuse_links_and_foreign_storage(h5, source)
    except BaseException:
        h5.close()
        raise
    return h5


def _refuse_links_and_foreign_storage(h5: Any, source: str) -> None:
    """Every link must be a hard link and every dataset's data must live inside this file.

    HDF5 can make a dataset's bytes come from another file (external storage, a virtual
    dataset) and a name point elsewhere (soft and external links): followed, they put the bytes
    of a local file (a key, a password store) into the model. The whole file is checked
    before any array is read; compact, contiguous and chunked layouts are data in the file."""
    import h5py
    from h5py import h5d

    problems: list[str] = []

    def visit(name: str, link: Any) -> None:
        if isinstance(link, h5py.SoftLink):
            problems.append(f"{name!r} is a soft link to {link.path!r}")
        elif isinstance(link, h5py.ExternalLink):
            problems.append(f"{name!r} is an external link to {link.filename!r}")
        elif not isinstance(link, h5py.HardLink):
            problems.append(f"{name!r} is a {type(link).__name__}")

    h5.visititems_links(visit)
    if not problems:
        def storage(name: str, obj: Any) -> None:
            if not isinstance(obj, h5py.Dataset):
                return
            plist = obj.id.get_create_plist()
            layout = plist.get_layout()
            if plist.get_external_count() or obj.external:
                files = ", ".join(repr(str(e[0])) for e in (obj.external or []))
                problems.append(f"dataset {name!r} stores its data in another file ({files})")
            elif layout not in (h5d.COMPACT, h5d.CONTIGUOUS, h5d.CHUNKED) or obj.is_virtual:
                problems.append(f"dataset {name!r} is virtual (its data comes from other "
                                "files)")

        h5.visititems(storage)
    if problems:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)"
                                           if len(problems) > 5 else "")
        raise WeightsError(f"{source}: refused, the HDF5 file points outside itself (links and "
                           f"external data are never followed): {shown}")


def _attribute(obj: Any, name: str, source: str) -> Any:
    """An HDF5 attribute, its declared size checked before it is read."""
    attr_id = obj.attrs.get_id(name)
    try:
        size = attr_id.get_storage_size()
    except RuntimeError:     # HDF5 reports an empty attribute (a layer without weights) so
        size = 0             # ("Unspecified error in H5Aget_storage_size"): nothing to read
    if size > MAX_ATTRIBUTE_BYTES:
        raise WeightsError(f"{source}: attribute {name!r} of {obj.name!r} declares "
                           f"{size:,} bytes; refused")
    return obj.attrs[name]


def _read_dataset(obj: Any, source: str, expected: tuple[int, ...] | None,
                  read: bool) -> np.ndarray | Unread:
    """The array, or ``Unread`` when it is not wanted (``read`` False or another shape)."""
    import h5py

    if not isinstance(obj, h5py.Dataset):
        raise WeightsError(f"{source}: {obj.name!r} is not a dataset (damaged weights)")
    shape = tuple(int(d) for d in (obj.shape or ()))
    if not read or (expected is not None and shape != tuple(expected)):
        return Unread(shape, obj.dtype)
    if obj.dtype.kind not in "fiub":   # strings, objects, compounds: never weights, not read
        raise WeightsError(f"{source}: dataset {obj.name!r} holds {obj.dtype} data, not "
                           "numbers; refused")
    declared = math.prod(shape) * obj.dtype.itemsize
    if declared > MAX_ARRAY_BYTES:
        raise WeightsError(f"{source}: dataset {obj.name!r} declares {shape} "
                           f"({declared:,} bytes); refused")
    return np.asarray(obj[()])


def _datasets_in_order(group: Any, source: str, expected: list[tuple[int, ...]] | None = None,
                       read: bool = True) -> list[np.ndarray | Unread]:
    """A layer's arrays by index; with ``expected`` (the model's shapes for the layer) only
    arrays that match are read."""
    keys = sorted(group.keys(), key=lambda k: int(k) if str(k).isdigit() else 10**9)
    if expected is not None and len(expected) != len(keys):
        read = False
    return [_read_dataset(group[k], source, expected[i] if expected is not None else None, read)
            for i, k in enumerate(keys)]


Expected = dict[str, list[tuple[int, ...]]]


def _read_keras3(h5: Any, source: str, layer_order: list[LayerEntry] | None,
                 expected: Expected | None = None) -> dict[str, list[np.ndarray | Unread]]:
    """Keras 3 layout: ``layers/<snake_class>[_n]/vars/<i>``; ``vars`` records the layer name
    (Keras >= 3.x); older files are mapped through the model config's layer order. Layers are
    located first and their arrays read last, only where ``expected`` wants them."""
    import h5py

    named: dict[str, str] = {}      # layer name -> path of its vars group
    unnamed: dict[str, str] = {}    # owner path -> path of its vars group

    def visit(path: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Group) or path.rsplit("/", 1)[-1] != "vars":
            return
        if not path.startswith("layers/"):
            return  # the optimizer's and metrics' state: not layer weights
        name = _attribute(obj, "name", source) if "name" in obj.attrs else None
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        owner = path[: -len("/vars")]
        if isinstance(name, str) and owner:
            named.setdefault(name, path)
        elif owner:
            unnamed[owner] = path

    h5.visititems(visit)
    if unnamed and layer_order is not None:
        for entry_path, name in _keras3_paths(layer_order).items():
            if entry_path in unnamed and name not in named:
                named[name] = unnamed[entry_path]
    elif unnamed and not named:
        raise WeightsError(f"{source}: this weights file does not record layer names (an older "
                           "Keras 3 file); load the .keras model file instead")
    result = {}
    for name, group_path in named.items():
        want = None if expected is None else expected.get(name)
        arrays = _datasets_in_order(h5[group_path], source, want,
                                    read=expected is None or want is not None)
        if arrays:
            result[name] = arrays
    return result


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


def _read_legacy(h5: Any, source: str, expected: Expected | None = None
                 ) -> dict[str, list[np.ndarray | Unread]]:
    """Keras 2 layout (also keras.applications' ImageNet files): ``layer_names`` on the root (or
    on ``model_weights``), each layer group listing its ``weight_names`` in order."""
    group = h5["model_weights"] if "model_weights" in h5 else h5
    if "model_config" in h5.attrs:
        raw = _attribute(h5, "model_config", source)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        try:
            config = json.loads(raw)
        except (TypeError, json.JSONDecodeError):
            raise WeightsError(f"{source}: the model configuration inside is damaged") from None
        inspect_model_config(config, source)
    result: dict[str, list[np.ndarray | Unread]] = {}
    for raw_name in _attribute(group, "layer_names", source):
        name = raw_name.decode("utf-8") if isinstance(raw_name, bytes) else str(raw_name)
        if name not in group:
            raise WeightsError(f"{source}: layer {name!r} is listed but missing (damaged file)")
        layer_group = group[name]
        weight_names = [w.decode("utf-8") if isinstance(w, bytes) else str(w)
                        for w in (_attribute(layer_group, "weight_names", source)
                                  if "weight_names" in layer_group.attrs else [])]
        want = None if expected is None else expected.get(name)
        read = expected is None or (want is not None and len(want) == len(weight_names))
        arrays = [_read_dataset(layer_group[w], source, want[i] if read and want else None,
                                read) for i, w in enumerate(weight_names)]
        if arrays:
            result[name] = arrays
    return result


def read_weights(path: str | os.PathLike[str], expected: Expected | None = None
                 ) -> dict[str, list[np.ndarray | Unread]]:
    """Layer name -> arrays (in the layer's ``weights`` order) from any accepted file.

    ``expected`` (layer name -> the model's weight shapes): only arrays of those layers with
    those shapes are read; the others come back as ``Unread`` (declared shape and dtype), so a
    crafted header declaring gigabytes is never allocated. Without it every array is read
    (each capped at ``MAX_ARRAY_BYTES``). Every failure is a ``WeightsError`` naming the file.
    """
    source = str(path)
    _check_exists(path)
    suffix = "".join(Path(path).suffixes[-2:]).lower()
    try:
        if suffix.endswith(".keras"):
            archive = read_keras_archive(path)
            assert archive.weights_h5 is not None
            with _open_h5(archive.weights_h5, source) as h5:
                return _read_keras3(h5, source, archive.layers, expected)
        if suffix.endswith((".h5", ".hdf5")):
            with _open_h5(str(path), source) as h5:
                if "layer_names" in h5.attrs or ("model_weights" in h5
                                                 and "layer_names" in h5["model_weights"].attrs):
                    return _read_legacy(h5, source, expected)
                if "layers" in h5 or "vars" in h5:
                    weights = _read_keras3(h5, source, None, expected)
                    if not weights and "layers" not in h5:
                        raise WeightsError(f"{source}: holds no layer weights")
                    return weights
                raise WeightsError(f"{source}: an HDF5 file, but not Keras weights (no layers "
                                   "in it)")
    except WeightsError:
        raise
    except MemoryError:
        raise WeightsError(f"{source}: the file declares more data than fits in memory; "
                           "refused") from None
    except RecursionError:
        raise WeightsError(f"{source}: nested too deeply to be a weights file; refused") from None
    except Exception as exc:  # noqa: BLE001 - h5py/numpy on a crafted file may raise anything
        raise WeightsError(f"{source}: damaged or unexpected weights file "
                           f"({type(exc).__name__}: {str(exc)[:200]})") from None
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
            staged.append((variable, _checked_cast(array, variable, layer.name, source)))
        report.matched.append(layer.name)
    report.unused = [name for name in weights if name not in seen]
    for variable, array in staged:
        variable.assign(array)
    for layer in _model_layers(model):   # Normalization keeps tensors derived from its weights
        if layer.name in report.matched and callable(getattr(layer, "finalize_state", None)):
            layer.finalize_state()
    return report


def _checked_cast(array: Any, variable: Any, layer: str, source: str) -> np.ndarray:
    """The array in the variable's dtype, refused unless it is float data and stays finite.

    Integer, boolean or string arrays are not weights a float layer can take (a float64 1e300
    is finite and turns into inf in float32, so finiteness is checked after the cast)."""
    if isinstance(array, Unread):   # cannot happen for a matched layer; never assign a stand-in
        raise WeightsError(f"{source}: layer {layer!r}: its weights were not read")
    target = np.dtype(_numpy_dtype(variable))
    if target.kind == "f" and array.dtype.kind != "f":
        raise WeightsError(f"{source}: layer {layer!r} holds {array.dtype} weights, not floating "
                           "point numbers; refusing the file")
    if target.kind != "f":
        return np.asarray(array)
    with np.errstate(over="ignore", invalid="ignore"):
        cast = np.asarray(array).astype(target, copy=False)
    if not np.all(np.isfinite(cast)):
        raise WeightsError(f"{source}: layer {layer!r} holds NaN or infinite values (or values "
                           f"beyond the range of {target}); refusing the file")
    return cast


def _numpy_dtype(variable: Any) -> str:
    dtype = getattr(variable, "dtype", "float32")
    name = getattr(dtype, "name", dtype)
    try:
        return np.dtype(str(name)).name
    except TypeError:
        return "float32"   # bfloat16 and other dtypes numpy lacks: checked as float32


def model_shapes(model: Any) -> Expected:
    """Layer name -> the shapes of its weights: what ``read_weights(expected=...)`` may read."""
    return {layer.name: [tuple(int(d) for d in v.shape) for v in layer.weights]
            for layer in _model_layers(model)}


def load_weights(model: Any, path: str | os.PathLike[str]) -> LoadReport:
    """``--init-weights FILE``: read the file (safely), then apply by name and shape.

    Only the arrays the model can take are read (see ``read_weights``)."""
    weights = read_weights(path, expected=model_shapes(model))
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
