"""A built model as a readable, standalone Keras script (functional API).

The script is generated from the compiled ``keras.Model`` itself (each layer's ``get_config()`` and
its inbound connections), not from a second description of the blocks, so it cannot drift from
what ``compile.py`` builds: composites appear expanded into their inner layers with the same
``<id>_<part>`` names, grouped under a comment naming the node. Arguments equal to the Keras
constructor's defaults are left out, so the code reads like a hand-written model. The app's own
layers (LocalResponseNormalization, ZeroPadChannels) are pasted in from ``layers.py`` so the script
needs only keras and tensorflow.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import inspect
import keyword
import re
from typing import Any

import keras

from playground.blocks import get_spec
from playground.core.graph import Graph
from playground.keras_build import layers as custom_layers
from playground.keras_build.compile import Built

# Config keys that are never arguments worth writing (Keras' bookkeeping).
SKIP_KEYS = {"name", "trainable", "dtype", "build_config", "compile_config"}
# Keys whose value is a pair/quad of sizes, written as one int when all are equal.
SIZE_KEYS = {"kernel_size", "strides", "pool_size", "dilation_rate", "padding", "cropping",
             "size"}
CUSTOM_CLASSES = {
    "LocalResponseNormalization": custom_layers.LocalResponseNormalization,
    "ZeroPadChannels": custom_layers.ZeroPadChannels,
    "LayerScale": custom_layers.LayerScale,
    "ScaledAdd": custom_layers.ScaledAdd,
    "ChannelShuffle": custom_layers.ChannelShuffle,
}


class CodegenError(Exception):
    """The compiled model holds something the generator cannot write (a bug, not user input)."""


def _layer_class(class_name: str) -> type:
    if class_name in CUSTOM_CLASSES:
        return CUSTOM_CLASSES[class_name]
    cls = getattr(keras.layers, class_name, None)
    if not isinstance(cls, type):
        raise CodegenError(f"no Keras layer class {class_name!r}")
    return cls


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def same_as_default(key: str, value: Any, default: Any) -> bool:
    """Is a config value the constructor default? (``3`` == ``[3, 3]``, None == 'linear')."""
    value, default = _plain(value), _plain(default)
    if value == default:
        return True
    if key == "activation" and {value, default} <= {None, "linear"}:
        return True
    if key == "data_format" and value in (None, "channels_last") and default is None:
        return True
    if key.endswith(("_initializer", "_regularizer", "_constraint")) and isinstance(default, str):
        try:
            module = {"_initializer": keras.initializers, "_regularizer": keras.regularizers,
                      "_constraint": keras.constraints}[key[key.rindex("_"):]]
            return keras.saving.serialize_keras_object(module.get(default)) == value
        except (ValueError, TypeError):
            return False
    if isinstance(value, list) and not isinstance(default, list | str | type(None)):
        return all(leaf == default for leaf in _leaves(value))
    if isinstance(default, list) and not isinstance(value, list | str | type(None)):
        return all(leaf == value for leaf in _leaves(default))
    return False


def constructor_defaults(cls: type) -> dict[str, Any]:
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return {}
    return {name: p.default for name, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty}


def _literal(key: str, value: Any) -> str:
    value = _plain(value)
    if key in SIZE_KEYS and isinstance(value, list):
        leaves = _leaves(value)
        if leaves and all(isinstance(v, int) for v in leaves) and len(set(leaves)) == 1:
            return repr(leaves[0])
        return repr(_tuples(value))
    if isinstance(value, list):
        return repr(_tuples(value))
    return repr(value)


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def layer_arguments(class_name: str, config: dict[str, Any]) -> list[tuple[str, str]]:
    """(keyword, Python literal) for the arguments that differ from the class defaults."""
    defaults = constructor_defaults(_layer_class(class_name))
    out = []
    for key, value in config.items():
        if key in SKIP_KEYS:
            continue
        if key in defaults and same_as_default(key, value, defaults[key]):
            continue
        if key not in defaults and value is None:
            continue
        out.append((key, _literal(key, value)))
    return out


class _Names:
    """Python variable names for tensors: the layer name when it is a usable identifier."""

    def __init__(self) -> None:
        self.by_layer: dict[str, str] = {}
        self.used: set[str] = {"keras", "layers", "ops", "tf", "model", "build_model", "inputs",
                               "outputs"}

    def make(self, layer_name: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", layer_name)  # ASCII: always an identifier
        if not base or base[0].isdigit():
            base = f"x_{base}"
        if keyword.iskeyword(base) or hasattr(builtins, base):
            base = f"{base}_"
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        self.used.add(name)
        self.by_layer[layer_name] = name
        return name


def _inbound_names(layer_config: dict[str, Any]) -> list[str] | str:
    """Names of the layers feeding a layer: a list for merge layers, one name otherwise."""
    nodes = layer_config.get("inbound_nodes") or []
    if not nodes:
        return []
    if len(nodes) > 1:
        raise CodegenError(f"layer {layer_config['name']!r} is called more than once")
    args = nodes[0].get("args") or []
    if not args:
        return []
    first = args[0]

    def tensor_source(item: Any) -> str:
        if not (isinstance(item, dict) and item.get("class_name") == "__keras_tensor__"):
            raise CodegenError(f"layer {layer_config['name']!r}: unexpected call argument")
        return item["config"]["keras_history"][0]

    if isinstance(first, list):
        return [tensor_source(t) for t in first]
    return tensor_source(first)


def escaped(text: str, quotes: bool = False) -> str:
    r"""``text`` with every character that could end a comment or a string written as an escape.

    Strings from the user's graph (its name, description, source path, node ids) reach the
    script's docstring and comments. A newline there would end a comment and start code, three
    double quotes would close the docstring, a backslash would start an escape (``C:\Users`` is a
    SyntaxError) and a lone surrogate cannot be written as UTF-8. Non-printable characters
    become their ``repr`` escapes; with ``quotes`` (inside a triple-double-quoted docstring)
    backslashes and double quotes are escaped too, so the docstring's value is exactly ``text``.
    """
    out = []
    for ch in str(text):
        if quotes and ch in ('\\', '"'):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])   # \n, \t, \x00, \u2028, \ud800
    return "".join(out)


def _node_comment(graph: Graph, node_id: str) -> str:
    node = graph.node(node_id)
    spec = get_spec(node.type)
    text = f"{node_id}: {node.type}"
    if spec is not None and spec.composite:
        values = ", ".join(f"{k}={v!r}" for k, v in node.params.items())
        text += f"({values})" if values else ""
    if not node.trainable:
        text += " (frozen)"
    return "# " + escaped(text)


def generate(built: Built, graph: Graph, source: str | None = None) -> str:
    """The Python source of a script whose ``build_model()`` rebuilds ``built.model``."""
    model = built.model
    config = model.get_config()
    node_of_layer = {layer.name: nid for nid, layer_list in built.layers_by_node.items()
                     for layer in layer_list}
    names = _Names()
    body: list[str] = []
    used_custom: list[str] = []
    current_node = None
    for layer_config in config["layers"]:
        class_name = layer_config["class_name"]
        layer_name = layer_config["config"]["name"]
        node_id = node_of_layer.get(layer_name, layer_name)
        if node_id != current_node and node_id in graph:
            body.append("")
            body.append("    " + _node_comment(graph, node_id))
            current_node = node_id
        var = names.make(layer_name)
        if class_name == "InputLayer":
            shape = tuple(layer_config["config"]["batch_shape"][1:])
            body.append(f"    {var} = keras.Input(shape={shape!r}, name={layer_name!r})")
            continue
        args = layer_arguments(class_name, layer_config["config"])
        if layer_config["config"].get("trainable") is False:
            args.append(("trainable", "False"))
        args.append(("name", repr(layer_name)))
        if class_name in CUSTOM_CLASSES:
            if class_name not in used_custom:
                used_custom.append(class_name)
            ctor = class_name
        else:
            ctor = f"layers.{class_name}"
        inbound = _inbound_names(layer_config)
        call = ("[" + ", ".join(names.by_layer[n] for n in inbound) + "]"
                if isinstance(inbound, list) else names.by_layer[inbound])
        arg_text = ", ".join(f"{k}={v}" for k, v in args)
        line = f"    {var} = {ctor}({arg_text})({call})"
        if len(line) > 99:
            inner = ",\n".join(f"        {k}={v}" for k, v in args)
            line = f"    {var} = {ctor}(\n{inner},\n    )({call})"
        body.append(line)

    def tensors(key: str) -> str:
        refs = config[key]
        if refs and isinstance(refs[0], str):  # a single tensor: [name, node, index]
            refs = [refs]
        items = [names.by_layer[r[0]] for r in refs]
        return items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"

    body.append("")
    body.append(f"    return keras.Model(inputs={tensors('input_layers')}, "
                f"outputs={tensors('output_layers')}, name={model.name!r})")
    return _assemble(graph, source, used_custom, body)


def _assemble(graph: Graph, source: str | None, used_custom: list[str], body: list[str]) -> str:
    stamp = _dt.date.today().isoformat()
    origin = f" from {escaped(source, quotes=True)}" if source else ""
    header = [
        f'"""{escaped(graph.name, quotes=True)}: generated by Keras Architecture Playground'
        f'{origin} on {stamp}.',
        "",
        "Rebuilds the model with the Keras functional API. Layer names are the graph's node ids",
        "(a composite block's layers are named <id>_<part>), so weights saved by the app load by",
        "name: model.load_weights(...) or layer.set_weights(...). Needs only keras and tensorflow.",
    ]
    if graph.description:
        header += ["", *_wrap(graph.description)]
    header += ['"""', "", "import keras"]
    if "LocalResponseNormalization" in used_custom:
        header.append("import tensorflow as tf")
    header += ["from keras import layers"]
    if used_custom:
        header.append("from keras import ops")
    parts = ["\n".join(header), ""]
    for class_name in used_custom:
        parts.append("")
        parts.append(inspect.getsource(CUSTOM_CLASSES[class_name]).rstrip())
        parts.append("")
    parts += ["", "def build_model() -> keras.Model:"]
    parts += body[1:] if body and body[0] == "" else body
    parts += ["", "", 'if __name__ == "__main__":', "    build_model().summary()", ""]
    return "\n".join(parts)


def _wrap(text: str, width: int = 96) -> list[str]:
    """The description as docstring lines: wrapped first, then each line escaped."""
    import textwrap

    return [escaped(line, quotes=True) for line in textwrap.wrap(str(text), width)] or [""]
