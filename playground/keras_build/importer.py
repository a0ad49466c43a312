"""A functional (or sequential) ``.keras`` or legacy ``.h5`` model of catalogue layers -> a graph.

The file is read the safe way (``weights.read_keras_archive``: its ``config.json`` is inspected
as JSON; a ``.h5``'s ``model_config`` attribute likewise; nothing is deserialized, no code can
run). ``import_translate`` first inlines nested models and rewrites ``keras.ops`` calls and
keras.applications' helper layers into catalogue layers. Each layer becomes a node whose id is the
layer name and whose params are the catalogue params that differ from the catalogue defaults, so
the file reads like one written by hand. Keras bookkeeping (dtype, initializers, seeds, the
channels_last data format) is dropped; anything that changes what the model computes or how it
trains but has no catalogue param (a regularizer, a constraint, channels_first, a shared layer,
a layer outside the catalogue) is refused, every culprit named in one message, because silently
dropping it would give a different model.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.blocks import BY_KERAS_CLASS, CATALOGUE
from playground.blocks.spec import BlockProblem, BlockSpec, Param, coerce_param
from playground.core.errors import GraphEditError, PlaygroundError
from playground.core.graph import Graph, Node, valid_id
from playground.core.layout import auto_layout
from playground.core.shapes import analyze
from playground.keras_build.import_translate import translate
from playground.keras_build.weights import (
    MAX_CONFIG_BYTES,
    LayerEntry,
    WeightsError,
    inspect_model_config,
    read_keras_archive,
)

# Config keys that are bookkeeping, not architecture.
IGNORED_KEYS = {"name", "trainable", "dtype", "build_config", "seed", "compile_config",
                "autocast", "input_dim"}
# Keras 2 spelled some params differently.
ALIASES = {"LeakyReLU": {"alpha": "negative_slope"}}


class ModelImportError(PlaygroundError):
    """The model cannot become a graph; ``problems`` lists every culprit."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


# Normalization layers whose channel axis is the only one the catalogue supports.
CHANNEL_AXIS_TYPES = ("BatchNormalization", "LayerNormalization", "Normalization",
                      "GroupNormalization")


@dataclass
class Imported:
    graph: Graph
    model_params: int | None              # weights stored in the file (None: not counted)
    notes: list[str] = field(default_factory=list)
    weights: dict[str, list[Any]] | None = None   # layer name -> arrays, read safely


# ------------------------------------------------------------------ params
def _keras_defaults(class_name: str) -> dict[str, Any]:
    import keras

    from playground.keras_build.codegen import CUSTOM_CLASSES, constructor_defaults

    cls = CUSTOM_CLASSES.get(class_name) or getattr(keras.layers, class_name, None)
    return constructor_defaults(cls) if isinstance(cls, type) else {}


def _keras_required(class_name: str) -> set[str]:
    """Constructor arguments Keras has no default for (``filters``, ``units``...): always written,
    so a file never leans on a catalogue default where Keras itself has none."""
    import inspect

    import keras

    from playground.keras_build.codegen import CUSTOM_CLASSES

    cls = CUSTOM_CLASSES.get(class_name) or getattr(keras.layers, class_name, None)
    try:
        parameters = inspect.signature(cls.__init__).parameters  # type: ignore[union-attr]
    except (TypeError, ValueError, AttributeError):
        return set()
    return {name for name, p in parameters.items()
            if p.default is inspect.Parameter.empty and name != "self"
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _activation(value: Any) -> Any:
    """Keras serializes built-in activations as names; a dict is a custom function."""
    if value is None:
        return "linear"
    if isinstance(value, dict):
        inner = value.get("config")
        if value.get("module") in ("keras.activations", "keras.src.activations") and \
                isinstance(inner, str):
            return inner
        raise BlockProblem(f"activation {value.get('class_name', value)!r} is custom code",
                           param="activation")
    return value


def _compact(p: Param, value: Any) -> Any:
    """A normalized value back to the shortest JSON a person would write."""
    if p.kind == "pair" and isinstance(value, tuple):
        return value[0] if value[0] == value[1] else list(value)
    if p.kind == "pad2" and isinstance(value, tuple):
        (t, b), (lft, rgt) = value
        if t == b == lft == rgt:
            return t
        if t == b and lft == rgt:
            return [t, lft]
        return [[t, b], [lft, rgt]]
    if isinstance(value, tuple):
        return list(value)
    return value


def _same_as_keras_default(key: str, value: Any, default: Any) -> bool:
    from playground.keras_build.codegen import same_as_default

    return same_as_default(key, value, default)


def convert_params(spec: BlockSpec, entry: LayerEntry) -> tuple[dict[str, Any], list[str]]:
    """Catalogue params (only non-defaults) for one layer, and what cannot be expressed."""
    config = dict(entry.config)
    for old, new in ALIASES.get(entry.class_name, {}).items():
        if old in config and new not in config:
            config[new] = config.pop(old)
    problems: list[str] = []
    params: dict[str, Any] = {}
    where = f"layer {entry.name!r} ({entry.class_name})"
    if spec.type == "Input":
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        if not isinstance(shape, list) or len(shape) < 2 or any(
                not isinstance(d, int) or d <= 0 for d in shape[1:]):
            problems.append(f"{where}: the input shape {shape} must be fully known (no None "
                            "besides the batch axis)")
            return {}, problems
        return {"shape": list(shape[1:])}, problems
    names = set(spec.param_names)
    required = _keras_required(entry.class_name)
    for p in spec.params:
        if p.name not in config:
            continue
        raw = config[p.name]
        try:
            if p.kind == "activation":
                raw = _activation(raw)
            if spec.type in ("MaxPooling2D", "AveragePooling2D") and p.name == "strides":
                if raw is not None and list(raw) == list(config.get("pool_size") or []):
                    continue    # Keras stores strides=pool_size for the default None
            value = coerce_param(p, _lists(raw))
            default = coerce_param(p, p.default) if p.default is not None or p.nullable \
                else None
        except BlockProblem as exc:
            problems.append(f"{where}: {exc}")
            continue
        if value != default or p.name in required:
            params[p.name] = _compact(p, value)
    keras_defaults = _keras_defaults(entry.class_name)
    for key, value in config.items():
        if key in names or key in IGNORED_KEYS or key.endswith("_initializer"):
            continue
        if key == "axis" and spec.type in CHANNEL_AXIS_TYPES:
            if value in (-1, 3, [-1], [3]):
                continue
        if key in ("batch_shape", "batch_input_shape") and spec.type != "Input":
            continue
        if key in keras_defaults and _same_as_keras_default(key, value, keras_defaults[key]):
            continue
        if key not in keras_defaults and value in (None, False, {}, []):
            continue
        problems.append(f"{where}: {key}={_short(value)} has no equivalent in the catalogue's "
                        f"{spec.type}")
    return params, problems


def _lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_lists(v) for v in value]
    if isinstance(value, list):
        return [_lists(v) for v in value]
    return value


def _short(value: Any) -> str:
    if isinstance(value, dict) and "class_name" in value:
        return f"{value['class_name']}({_short(value.get('config', ''))[:60]})"
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


# ------------------------------------------------------------------ topology
def _history(item: Any) -> tuple[str, int, int] | None:
    """(layer, call, output) a tensor reference names; None when it is not one (or malformed:
    the file is a stranger's, its numbers may be anything)."""
    history = None
    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
        config = item.get("config")
        history = config.get("keras_history") if isinstance(config, dict) else None
    elif isinstance(item, list) and len(item) >= 3 and isinstance(item[0], str):  # Keras 2
        history = item[:3]
    if not isinstance(history, list) or len(history) != 3:
        return None
    try:
        return str(history[0]), int(history[1]), int(history[2])
    except (TypeError, ValueError, OverflowError):
        return None


def _training_dependent(block: str) -> bool:
    """The block's output depends on the training flag (BlockSpec.training_behaviour): a call
    that forces the flag changes what it computes, which a graph node cannot express."""
    spec = CATALOGUE.get(block) if block else None
    return spec is not None and spec.training_behaviour is not None


def _sources(entry: LayerEntry, problems: list[str], block: str = "") -> list[str]:
    where = f"layer {entry.name!r} ({entry.class_name})"
    nodes = entry.inbound
    if not nodes:
        return []
    if len(nodes) > 1:
        problems.append(f"{where} is shared (called {len(nodes)} times); a graph node runs once, "
                        "so give each use its own layer")
        return []
    node = nodes[0]
    if isinstance(node, dict):            # Keras 3: {"args": [...], "kwargs": {...}}
        args = node.get("args") or []
        # Keras records training=False for Dropout/BN calls made while building (the default)
        # and training=True on preprocessing layers (Resizing...), where it changes nothing.
        kwargs = {k: v for k, v in (node.get("kwargs") or {}).items()
                  if v is not None and not (k == "training" and (
                      v is False or not _training_dependent(block)))}
        if kwargs:
            problems.append(f"{where} is called with {', '.join(sorted(kwargs))}=...; the "
                            "catalogue cannot express call arguments")
        items = args[0] if args and isinstance(args[0], list) else args[:1]
        if len(args) > 1:
            problems.append(f"{where} is called with {len(args)} positional arguments")
    else:                                 # Keras 2: [[name, node, tensor, kwargs], ...]
        items = node
    out = []
    for item in items:
        history = _history(item)
        if history is None:
            problems.append(f"{where}: an input is not a layer's output (a constant or an "
                            "operation outside a layer)")
            continue
        name, node_index, tensor_index = history
        if node_index != 0 or tensor_index != 0:
            problems.append(f"{where} uses output {tensor_index} of call {node_index} of "
                            f"{name!r}; only single-output, single-call layers map to nodes")
        out.append(name)
    return out


def _sequential_inbound(entries: list[LayerEntry]) -> None:
    previous = None
    for entry in entries:
        if previous is not None:
            entry.inbound = [{"args": [{"class_name": "__keras_tensor__",
                                        "config": {"keras_history": [previous, 0, 0]}}]}]
        previous = entry.name


def _ids(entries: list[LayerEntry]) -> tuple[dict[str, str], list[str]]:
    """Keras layer name -> node id (names valid as ids are kept as they are)."""
    mapping: dict[str, str] = {}
    notes = []
    used: set[str] = set()
    for entry in entries:
        nid = entry.name
        if not valid_id(nid):
            base = re.sub(r"[^A-Za-z0-9_.-]+", "_", nid).strip("_") or "layer"
            nid, n = base, 1
            while nid in used or nid in mapping.values():
                n += 1
                nid = f"{base}_{n}"
            notes.append(f"layer {entry.name!r} became node {nid!r} (ids allow letters, digits, "
                         "'_', '.', '-')")
        used.add(nid)
        mapping[entry.name] = nid
    return mapping, notes


# ------------------------------------------------------------------ import
def _spec_for(entry: LayerEntry) -> tuple[BlockSpec | None, LayerEntry]:
    """The block a layer becomes (and the entry as that block reads it): a Dropout that drops
    whole samples (noise_shape (batch, 1, 1, ...)) is stochastic depth."""
    noise = entry.config.get("noise_shape")
    if entry.class_name == "Dropout" and isinstance(noise, list) and len(noise) >= 2 \
            and noise[0] is None and all(d == 1 for d in noise[1:]):
        config = {k: v for k, v in entry.config.items() if k != "noise_shape"}
        return CATALOGUE["StochasticDepth"], LayerEntry(
            entry.name, "StochasticDepth", config, entry.inbound, entry.module,
            entry.registered_name, entry.parent)
    return BY_KERAS_CLASS.get(entry.class_name), entry


def import_config(config: dict[str, Any], source: str, notes: list[str] | None = None
                  ) -> Graph:
    """The graph of an inspected model config; raises ``ModelImportError`` naming every culprit.

    Nested models are inlined and ``keras.ops`` calls rewritten first (``import_translate``);
    what that did is appended to ``notes``."""
    problems: list[str] = []
    translation = translate(config)
    problems.extend(translation.problems)
    config = translation.config
    if notes is not None:
        notes.extend(translation.notes)
    try:
        entries = inspect_model_config(config, source, collect=problems)
    except WeightsError as exc:
        raise ModelImportError(str(exc)) from None
    top = [e for e in entries if not e.parent]
    nested = [e for e in top if e.class_name in ("Functional", "Sequential", "Model")]
    for e in nested:
        problems.append(f"layer {e.name!r} is a nested model that could not be inlined")
    if config.get("class_name") == "Sequential":
        if not top or top[0].class_name != "InputLayer":
            problems.append("the Sequential model has no Input layer; build it with "
                            "keras.Input(shape=...) first")
        _sequential_inbound(top)
    for e in top:
        if e.class_name not in BY_KERAS_CLASS and e not in nested:
            problems.append(f"layer {e.name!r} ({e.class_name}) is not in the catalogue "
                            "(see `playground blocks`)")
    ids, renamed = _ids(top)
    if notes is not None:
        notes.extend(renamed)       # a user looking for a layer by name learns its new id
    graph = Graph(name=str(config.get("config", {}).get("name") or Path(source).stem))
    edges: list[tuple[str, str]] = []
    for entry in top:
        spec, as_block = _spec_for(entry)
        if spec is None or entry in nested:
            continue
        params, bad = convert_params(spec, as_block)
        problems.extend(bad)
        trainable = entry.config.get("trainable", True) is not False
        graph.add_node(Node(id=ids[entry.name], type=spec.type, params=params,
                            trainable=trainable))
        for src in _sources(entry, problems, spec.type):
            if src in ids:
                edges.append((ids[src], ids[entry.name]))
    for src, dst in edges:
        if src not in graph or dst not in graph:
            continue        # a refused layer: already reported
        if graph.has_edge(src, dst):
            problems.append(f"layer {dst!r} takes {src!r} twice; a graph edge exists once")
            continue
        try:
            graph.add_edge(src, dst, check_cycle=False)   # Keras graphs are acyclic
        except GraphEditError as exc:
            problems.append(str(exc))
    outputs = config.get("config", {}).get("output_layers")
    if outputs and not problems:
        refs = [outputs] if isinstance(outputs[0], str) else outputs
        for ref in refs:
            nid = ids.get(ref[0])
            if nid is not None and graph.outputs_of(nid):
                problems.append(f"layer {ref[0]!r} is a model output but also feeds other "
                                "layers; a graph's outputs are its nodes without outgoing edges")
    if problems:
        raise ModelImportError(f"{source}: cannot import ({len(problems)} problem(s)):\n  "
                               + "\n  ".join(problems), problems)
    for nid, pos in auto_layout(graph).items():
        graph.set_pos(nid, (round(pos[0], 1), round(pos[1], 1)))
    graph.extra["imported_from"] = Path(source).name
    if translation.augment:   # the left-out augmentation layers, as the run's augmentation
        graph.extra["training"] = {"augmentation": list(translation.augment)}
    return graph


def _stored_params(weights_h5: bytes | None, source: str) -> int | None:
    if not weights_h5:
        return None

    from playground.keras_build.weights import _open_h5

    with _open_h5(weights_h5, source) as h5:  # links and external data refused first
        return _count_variables(h5)


def _count_variables(h5: Any) -> int:
    """Weights stored in an open Keras 3 ``model.weights.h5`` (optimizer state left out)."""
    import h5py

    total = 0

    def visit(_path: str, obj: Any) -> None:
        nonlocal total
        if isinstance(obj, h5py.Dataset) and "/vars/" in f"/{_path}":
            # Optimizer state lives under "optimizer/"; count model variables only.
            if not _path.startswith("optimizer"):
                total += math.prod(obj.shape)
    h5.visititems(visit)
    return total


def _keras_config(source: str) -> tuple[dict[str, Any], Any]:
    """A ``.keras`` archive's config (read as JSON, nothing deserialized) and the archive."""
    try:
        archive = read_keras_archive(source, want_weights=True, collect=[])
    except WeightsError as exc:
        raise ModelImportError(str(exc)) from None
    return archive.config, archive


def _keras_weights(source: str, archive: Any) -> tuple[dict[str, list[Any]], int | None]:
    """The archive's weights by layer name, read as arrays with h5py."""
    from playground.keras_build.weights import _open_h5, _read_keras3

    try:
        assert archive.weights_h5 is not None
        # One open file for both: a second h5py file on the same bytes, opened and closed
        # inside the first, crashed h5py when the import ran in a worker thread.
        with _open_h5(archive.weights_h5, source) as h5:
            weights = _read_keras3(h5, source, archive.layers)
            stored = _count_variables(h5)
        return weights, stored
    except WeightsError as exc:
        raise ModelImportError(str(exc)) from None
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelImportError(f"{source}: damaged weights inside the archive "
                               f"({type(exc).__name__}: {exc})") from None


def _h5_config(source: str) -> dict[str, Any]:
    """A legacy full-model ``.h5`` (tf.keras 2.x ``model.save('m.h5')``): the ``model_config``
    attribute, parsed as JSON with h5py; nothing in the file is deserialized or run."""
    import json

    from playground.keras_build.weights import _check_exists, _open_h5

    try:
        _check_exists(source)
        with _open_h5(source, source) as h5:
            raw = h5.attrs.get("model_config")
    except WeightsError as exc:
        raise ModelImportError(str(exc)) from None
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelImportError(f"{source}: damaged .h5 model file "
                               f"({type(exc).__name__}: {exc})") from None
    if raw is None:
        raise ModelImportError(f"{source}: a weights-only .h5 file (no model_config); it has "
                               "no architecture to import")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str) or len(raw) > MAX_CONFIG_BYTES:
        raise ModelImportError(f"{source}: the model configuration is not text or is too "
                               "large; refused")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelImportError(f"{source}: the model configuration is not valid JSON "
                               f"({exc})") from None
    return config


def _h5_weights(source: str) -> tuple[dict[str, list[Any]], int | None]:
    """The weights under ``model_weights``, by layer name (its config was read already)."""
    from playground.keras_build.weights import _open_h5, _read_legacy

    try:
        with _open_h5(source, source) as h5:
            group = h5["model_weights"] if "model_weights" in h5 else None
            weights = _read_legacy(group, source) if group is not None else {}
    except WeightsError as exc:
        raise ModelImportError(str(exc)) from None
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelImportError(f"{source}: damaged .h5 model file "
                               f"({type(exc).__name__}: {exc})") from None
    total = sum(math.prod(a.shape) for arrays in weights.values() for a in arrays)
    return weights, total if weights else None


def import_model(path: str | os.PathLike[str]) -> Imported:
    """Read a ``.keras`` (Keras 3) or legacy ``.h5`` (tf.keras 2.x) model file and return its
    graph, checked by the pure checker, with the file's weights by layer name.

    Every failure is a ``ModelImportError`` naming the file: a crafted config can make the
    parsing below fail in any way (a number where a list belongs, nesting, a damaged HDF5)."""
    source = str(path)
    try:
        return _import_model(source)
    except ModelImportError:
        raise
    except PlaygroundError as exc:
        raise ModelImportError(str(exc) if source in str(exc) else f"{source}: {exc}") from None
    except MemoryError:
        raise ModelImportError(f"{source}: the file declares more data than fits in memory; "
                               "refused") from None
    except RecursionError:
        raise ModelImportError(f"{source}: the model is nested too deeply; refused") from None
    except Exception as exc:  # noqa: BLE001 - a crafted file must end in a message, not a crash
        raise ModelImportError(f"{source}: damaged or crafted model file "
                               f"({type(exc).__name__}: {str(exc)[:200]})") from None


def _import_model(source: str) -> Imported:
    archive = None
    if source.endswith(".keras"):
        config, archive = _keras_config(source)
    elif source.lower().endswith((".h5", ".hdf5")):
        config = _h5_config(source)
    else:
        raise ModelImportError(f"{source}: expected a .keras model file (Keras 3 format) or a "
                               "full-model .h5 file (tf.keras 2.x)")
    notes: list[str] = []
    graph = import_config(config, source, notes)     # every refusal, before any weights
    analysis = analyze(graph)
    if not analysis.valid:
        lines = "; ".join(str(p) for p in analysis.errors[:10])
        raise ModelImportError(f"{source}: the imported graph does not check: {lines}",
                               [str(p) for p in analysis.errors])
    weights, stored = _keras_weights(source, archive) if archive is not None \
        else _h5_weights(source)
    if stored is not None and stored != analysis.total_params:
        notes.append(f"warning: the file stores {stored:,} weights but the graph counts "
                     f"{analysis.total_params:,}")
    return Imported(graph, stored, notes, weights)
