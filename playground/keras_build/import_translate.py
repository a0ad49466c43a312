"""Rewrites a model config (plain JSON) into one the importer maps layer by layer to nodes.

Three things in real models are not one catalogue layer per config entry:

- nested models (ConvNeXt's stem and downsampling ``Sequential``s): their layers are inlined
  into the outer model, wired to what the nested model was called on, so the graph is flat and
  every layer keeps its name (and so its weights);
- ``keras.ops`` calls recorded in a functional model (``inputs + x``, ``x * (1 / 6)``): a sum or
  product of two tensors becomes an ``Add``/``Multiply`` layer, a sum, difference, product or
  quotient with one constant a ``Rescaling`` (x * scale + offset, exact for these); any other
  operation is refused naming it and its class, not called custom code;
- the helper layers keras.applications defines in its own modules (ConvNeXt's ``LayerScale`` and
  ``StochasticDepth``, Inception-ResNet's ``CustomScaleLayer``) become the app's equivalents.

Nothing here imports Keras or runs anything from the file: it only reads and rewrites JSON, and
every shape of input it does not recognise is reported as a problem naming the layer.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

TENSOR = "__keras_tensor__"
MODEL_CLASSES = {"Functional", "Sequential", "Model"}
OPS_PREFIXES = ("keras.src.ops", "keras.ops")
APPLICATION_PREFIXES = ("keras.src.applications.", "keras.applications.")
# keras.ops classes whose two-tensor form is a catalogue merge.
TENSOR_MERGES = {"Add": "Add", "Multiply": "Multiply"}
CONSTANT_OPS = {"Add", "Subtract", "Multiply", "Divide", "TrueDivide"}


# Keras' random augmentation layers that are the identity when predicting and keep the shape
# (the TensorFlow tutorials' first model starts with them): left out of the graph, their
# kind kept as the graph's training augmentation (the run's own strengths; RandomCrop, which
# centre-crops when predicting, is not among them).
AUGMENTATION_LAYERS = {"RandomFlip": "flip", "RandomRotation": "rotate", "RandomZoom": "zoom",
                       "RandomTranslation": "translate", "RandomContrast": "contrast",
                       "RandomShear": "shear"}
AUGMENTATION_NOTE = ("data augmentation layer(s) left out (the identity when predicting; the "
                     "graph's training recipe augments instead)")


@dataclass
class Translation:
    config: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ops: dict[str, list[str]] = field(default_factory=dict)   # note kind -> layer names
    augment: list[str] = field(default_factory=list)   # run augmentations of dropped layers

    def drop_augmentation(self, layer: dict[str, Any]) -> bool:
        """Record ``layer`` as left out when it is a random augmentation layer."""
        kind = AUGMENTATION_LAYERS.get(layer.get("class_name"))  # type: ignore[arg-type]
        if kind is None or not str(layer.get("module", "keras.layers")).startswith("keras"):
            return False
        if kind not in self.augment:
            self.augment.append(kind)
        self.ops.setdefault(AUGMENTATION_NOTE, []).append(_layer_name(layer))
        return True


def translate(config: Any) -> Translation:
    """A copy of ``config`` with nested models inlined and ops / application layers rewritten."""
    out = Translation(copy.deepcopy(config) if isinstance(config, dict) else config)
    if not isinstance(out.config, dict) or not isinstance(out.config.get("config"), dict):
        return out
    try:
        _normalize_model(out.config, out)
        if out.config.get("class_name") == "Sequential":
            _chain_sequential(out.config)
        _flatten(out.config, out, where="")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError,
            RecursionError) as exc:
        out.problems.append(f"the model configuration is damaged or crafted: it is not the "
                            f"structure Keras writes ({type(exc).__name__}: {exc})")
        return out
    for kind, names in out.ops.items():
        shown = ", ".join(repr(n) for n in names[:6]) + (" ..." if len(names) > 6 else "")
        out.notes.append(f"{len(names)} {kind}: {shown}")
    return out


# ------------------------------------------------------------------ helpers
def tensor(name: str, node: int = 0, index: int = 0) -> dict[str, Any]:
    return {"class_name": TENSOR, "config": {"keras_history": [name, node, index]}}


def is_tensor(item: Any) -> bool:
    return isinstance(item, dict) and item.get("class_name") == TENSOR


def _history(item: dict[str, Any]) -> list[Any]:
    return item["config"]["keras_history"]


def _layer_name(layer: dict[str, Any]) -> str:
    cfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    return str(cfg.get("name", layer.get("name", "?")))


def _refs(value: Any) -> list[list[Any]]:
    """``input_layers``/``output_layers`` as a list of [name, node, index]."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value]
    return [r for r in (value or []) if isinstance(r, list) and r and isinstance(r[0], str)]


def _normalize_model(model: dict[str, Any], out: Translation) -> None:
    """Keras 2's inbound lists ``[[name, node, index, kwargs], ...]`` -> Keras 3 call dicts,
    so the rest of the importer reads one form."""
    for layer in model["config"].get("layers") or []:
        if not isinstance(layer, dict):
            continue
        nodes = layer.get("inbound_nodes") or []
        fixed = []
        for node in nodes:
            if isinstance(node, dict):
                fixed.append(node)
            elif isinstance(node, list):
                items = [tensor(str(i[0]), int(i[1]), int(i[2])) for i in node
                         if isinstance(i, list) and len(i) >= 3 and isinstance(i[0], str)]
                kwargs = node[0][3] if node and isinstance(node[0], list) and len(node[0]) > 3 \
                    and isinstance(node[0][3], dict) else {}
                if len(items) != len(node):
                    out.problems.append(f"layer {_layer_name(layer)!r}: an input is not a "
                                        "layer's output")
                fixed.append({"args": [items if len(items) > 1 else (items or [None])[0]],
                              "kwargs": kwargs})
        layer["inbound_nodes"] = fixed
        if layer.get("class_name") in MODEL_CLASSES and isinstance(layer.get("config"), dict):
            _normalize_model(layer, out)


def _chain_sequential(model: dict[str, Any]) -> None:
    """A top-level Sequential's layers called one after the other (as Keras does), so nested
    models in it can be inlined like in a functional model. Keras 2 put the input shape on the
    first layer (``batch_input_shape``): it becomes an InputLayer."""
    layers = [layer for layer in model["config"].get("layers") or [] if isinstance(layer, dict)]
    if layers and layers[0].get("class_name") != "InputLayer":
        first = layers[0].get("config") if isinstance(layers[0].get("config"), dict) else {}
        shape = first.get("batch_input_shape") or first.get("batch_shape")
        if isinstance(shape, list):
            name = f"{_layer_name(layers[0])}_input"
            layers.insert(0, {"class_name": "InputLayer", "module": "keras.layers",
                              "config": {"name": name, "batch_shape": shape}, "name": name})
    previous = None
    for layer in layers:
        if previous is not None:
            layer["inbound_nodes"] = [{"args": [tensor(previous)], "kwargs": {}}]
        previous = _layer_name(layer)
    model["config"]["layers"] = layers


def _call_tensors(layer: dict[str, Any]) -> list[dict[str, Any]]:
    node = layer["inbound_nodes"][0]
    args = node.get("args") or []
    first = args[0] if args else []
    items = first if isinstance(first, list) else [first]
    return [t for t in items if is_tensor(t)]


def _replace_refs(layers: list[dict[str, Any]], mapping: dict[str, dict[str, Any]]) -> None:
    """Point every use of a replaced layer (a nested model, an inner Input) at its stand-in."""
    def fix(value: Any) -> Any:
        if is_tensor(value):
            name = _history(value)[0]
            return copy.deepcopy(mapping[name]) if name in mapping else value
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    for layer in layers:
        for node in layer.get("inbound_nodes") or []:
            if isinstance(node, dict):
                node["args"] = fix(node.get("args") or [])


# ------------------------------------------------------------------ flattening
def _flatten(model: dict[str, Any], out: Translation, where: str) -> None:
    cfg = model["config"]
    flat: list[dict[str, Any]] = []
    outputs: dict[str, dict[str, Any]] = {}
    for layer in cfg.get("layers") or []:
        if not isinstance(layer, dict):
            flat.append(layer)
            continue
        name = _layer_name(layer)
        if layer.get("class_name") in MODEL_CLASSES and isinstance(layer.get("config"), dict):
            inlined = _inline(layer, out, f"{where}{name}/")
            if inlined is None:
                continue
            layers, output = inlined
            flat.extend(layers)
            outputs[name] = output
            continue
        inbound = layer.get("inbound_nodes") or []
        if inbound and AUGMENTATION_LAYERS.get(layer.get("class_name")):
            inputs = _call_tensors(layer)
            if len(inputs) == 1 and out.drop_augmentation(layer):
                source = outputs.get(_history(inputs[0])[0], inputs[0])  # a dropped chain
                outputs[name] = source         # its users read its input instead
                continue
        translated = _translate_layer(layer, out, where)
        if translated is not None:
            flat.append(translated)
    _replace_refs(flat, outputs)
    for key in ("output_layers", "input_layers"):
        refs = cfg.get(key)
        if refs is None:
            continue
        single = isinstance(refs, list) and bool(refs) and isinstance(refs[0], str)
        fixed = []
        for ref in _refs(refs):
            stand_in = outputs.get(ref[0])
            fixed.append(list(_history(stand_in)) if stand_in is not None else ref)
        cfg[key] = fixed[0] if single and len(fixed) == 1 else fixed
    cfg["layers"] = flat
    seen: set[str] = set()
    for layer in flat:
        if isinstance(layer, dict):
            name = _layer_name(layer)
            if name in seen:
                out.problems.append(f"layer name {name!r} appears twice once nested models are "
                                    "inlined; rename one of them")
            seen.add(name)


def _inline(model: dict[str, Any], out: Translation, where: str
            ) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """The nested model's layers wired to its call's inputs, and the tensor standing for its
    output; None (a problem recorded) when it cannot be inlined."""
    name = where.rstrip("/").rsplit("/", 1)[-1]
    label = f"nested model {where.rstrip('/')!r}"
    calls = model.get("inbound_nodes") or []
    if len(calls) != 1:
        out.problems.append(f"{label} is called {len(calls)} times; a graph node runs once, so "
                            "give each use its own layers" if calls else
                            f"{label} is never called")
        return None
    _flatten(model, out, where)       # its own nested models first
    inputs = _call_tensors(model)
    layers = [layer for layer in model["config"].get("layers") or [] if isinstance(layer, dict)]
    if model.get("class_name") == "Sequential":
        if len(inputs) != 1:
            out.problems.append(f"{label} takes {len(inputs)} inputs; a Sequential takes one")
            return None
        previous = inputs[0]
        chained = []
        dropped = False
        for layer in layers:
            if layer.get("class_name") == "InputLayer":
                continue
            if out.drop_augmentation(layer):
                dropped = True
                continue
            layer["inbound_nodes"] = [{"args": [copy.deepcopy(previous)], "kwargs": {}}]
            chained.append(layer)
            previous = tensor(_layer_name(layer))
        if not chained and not dropped:
            out.problems.append(f"{label} holds no layers")
            return None
        out.ops.setdefault("nested models inlined", []).append(name)
        return chained, previous
    input_refs = _refs(model["config"].get("input_layers"))
    output_refs = _refs(model["config"].get("output_layers"))
    if len(input_refs) != len(inputs):
        out.problems.append(f"{label} has {len(input_refs)} inputs but is called with "
                            f"{len(inputs)}")
        return None
    if len(output_refs) != 1:
        out.problems.append(f"{label} has {len(output_refs)} outputs; only single-output "
                            "nested models are inlined")
        return None
    mapping = {ref[0]: inputs[i] for i, ref in enumerate(input_refs)}
    inner = [layer for layer in layers if _layer_name(layer) not in mapping]
    _replace_refs(inner, mapping)
    ref = output_refs[0]
    output = mapping.get(ref[0]) or tensor(str(ref[0]), int(ref[1]), int(ref[2]))
    out.ops.setdefault("nested models inlined", []).append(name)
    return inner, output


# ------------------------------------------------------------------ ops and app layers
def _translate_layer(layer: dict[str, Any], out: Translation, where: str
                     ) -> dict[str, Any] | None:
    if layer.get("class_name") == "TFOpLambda":
        return _translate_tf_op(layer, out, where)
    module = layer.get("module")
    if not isinstance(module, str):
        return layer
    if module.startswith(OPS_PREFIXES):
        return _translate_op(layer, out, where)
    if module.startswith(APPLICATION_PREFIXES):
        return _translate_application(layer, out, where, module)
    return layer


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _translate_op(layer: dict[str, Any], out: Translation, where: str) -> dict[str, Any] | None:
    cls = layer.get("class_name")
    name = _layer_name(layer)
    label = f"layer {where}{name!r} (keras.ops {cls} from {layer.get('module')!r})"
    nodes = layer.get("inbound_nodes") or []
    if len(nodes) != 1 or not isinstance(nodes[0], dict):
        out.problems.append(f"{label}: an operation used {len(nodes)} times cannot be a node")
        return None
    args = nodes[0].get("args") or []
    kwargs = {k: v for k, v in (nodes[0].get("kwargs") or {}).items() if v is not None}
    tensors = [a for a in args if is_tensor(a)]
    constants = [a for a in args if _number(a)]
    if cls in TENSOR_MERGES and len(args) == 2 and len(tensors) == 2 and not kwargs:
        out.ops.setdefault("keras.ops sums/products of two tensors became Add/Multiply",
                           []).append(name)
        return {"class_name": TENSOR_MERGES[cls], "module": "keras.layers",
                "registered_name": None, "config": {"name": name, "trainable": True},
                "name": name, "inbound_nodes": [{"args": [tensors], "kwargs": {}}]}
    if cls in CONSTANT_OPS and len(args) == 2 and len(tensors) == 1 and len(constants) == 1 \
            and not kwargs:
        c = float(constants[0])
        first = is_tensor(args[0])
        scale, offset = 1.0, 0.0
        if cls == "Add":
            offset = c
        elif cls == "Subtract":
            scale, offset = (1.0, -c) if first else (-1.0, c)
        elif cls == "Multiply":
            scale = c
        elif first and c != 0:                      # x / c
            scale = 1.0 / c
        else:
            out.problems.append(f"{label}: dividing by a tensor has no catalogue block")
            return None
        out.ops.setdefault("keras.ops calls with a constant became Rescaling (x * scale + "
                           "offset)", []).append(name)
        return {"class_name": "Rescaling", "module": "keras.layers", "registered_name": None,
                "config": {"name": name, "trainable": True, "scale": scale, "offset": offset},
                "name": name, "inbound_nodes": [{"args": [tensors[0]], "kwargs": {}}]}
    what = "with these arguments " if cls in CONSTANT_OPS else ""
    out.problems.append(f"{label}: this operation {what}has no catalogue block (supported: "
                        "tensor + tensor, tensor * tensor, and +, -, *, / with one number)")
    return None


def _translate_tf_op(layer: dict[str, Any], out: Translation, where: str
                     ) -> dict[str, Any] | None:
    """tf.keras 2's record of ``x + 3.0`` or ``x * y`` in a functional model: a TFOpLambda
    naming the TF function (``__operators__.add``, ``math.multiply``...) with the second operand
    in the call's ``y``. The arithmetic ones become what the keras.ops calls become; any other
    is left for the safety check, which refuses it by name (it is never called)."""
    cfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    op = TF_FUNCTIONS.get(str(cfg.get("function")))
    nodes = layer.get("inbound_nodes") or []
    if op is None or len(nodes) != 1 or not isinstance(nodes[0], dict):
        return layer
    args = nodes[0].get("args") or []
    kwargs = dict(nodes[0].get("kwargs") or {})
    y = kwargs.pop("y", None)
    kwargs.pop("name", None)
    if len(args) != 1 or not is_tensor(args[0]) or kwargs:
        return layer
    if isinstance(y, list) and len(y) >= 3 and isinstance(y[0], str):
        y = tensor(y[0], int(y[1]), int(y[2]))
    as_op = {"class_name": op, "module": "keras.src.ops.numpy", "config": {"name": cfg.get(
        "name", layer.get("name"))}, "name": cfg.get("name", layer.get("name")),
             "inbound_nodes": [{"args": [args[0], y], "kwargs": {}}]}
    return _translate_op(as_op, out, where)


# tf.keras 2 TFOpLambda functions -> the keras.ops class they compute.
TF_FUNCTIONS = {"__operators__.add": "Add", "math.add": "Add", "math.multiply": "Multiply",
                "math.subtract": "Subtract", "math.truediv": "TrueDivide",
                "math.divide": "TrueDivide"}


def _translate_application(layer: dict[str, Any], out: Translation, where: str,
                           module: str) -> dict[str, Any] | None:
    cls = layer.get("class_name")
    cfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    name = _layer_name(layer)
    family = module.rsplit(".", 1)[-1]
    base = {"name": name, "trainable": cfg.get("trainable", True)}
    new: dict[str, Any] | None = None
    if family == "convnext" and cls == "LayerScale":
        new = {"class_name": "LayerScale", "registered_name": "playground>LayerScale",
               "config": {**base, "init_values": cfg.get("init_values", 1e-6)}}
    elif family == "convnext" and cls == "StochasticDepth":
        new = {"class_name": "Dropout", "registered_name": None,
               "config": {**base, "rate": cfg.get("drop_path_rate", 0.0),
                          "noise_shape": [None, 1, 1, 1]}}
    elif family == "inception_resnet_v2" and cls == "CustomScaleLayer":
        new = {"class_name": "ScaledAdd", "registered_name": "playground>ScaledAdd",
               "config": {**base, "scale": cfg.get("scale", 1.0)}}
    if new is None:
        out.problems.append(f"layer {where}{name!r} has class {cls!r} from {module!r}, a helper "
                            "of keras.applications with no catalogue block")
        return None
    out.ops.setdefault("keras.applications helper layers became catalogue blocks",
                       []).append(name)
    new["module"] = "keras.layers" if new["registered_name"] is None else "playground"
    new["name"] = name
    new["inbound_nodes"] = layer.get("inbound_nodes") or []
    return new
