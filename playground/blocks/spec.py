"""How a block type is declared: its params, arity, shape/param/MAC rule and Keras builder.

Every block type is declared once, as a ``BlockSpec``; the checker, the inspector, the palette, the
compiler and the exporters all read the same declaration. Nothing here imports Keras: the builder
receives a ``BuildContext`` whose ``L`` attribute is ``keras.layers``, handed in by the compiler.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Shape = tuple[int, ...]

ACTIVATIONS = (
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish",
    "sigmoid", "hard_sigmoid", "hard_silu", "tanh", "softmax", "log_softmax", "softplus",
    "softsign", "exponential", "hard_swish",
)
PADDINGS = ("valid", "same")
CATEGORIES = ("input", "convolution", "pooling", "normalization", "activation",
              "regularization", "reshape", "merge", "composite", "head")


class BlockProblem(Exception):
    """A problem of one node, raised by a shape rule; ``param`` names the culprit param and
    ``fix`` names a quick fix the editor can offer (``padding_same``, ``insert_flatten``...).

    ``too_small`` says the spatial size ran out here (a window or crop larger than its input,
    an output size of zero or below): a larger input would get past this node. The "needs at
    least HxWxC" search (``core.minimum_input``) reads this flag, never the wording, so a
    message can be reworded freely.
    """

    def __init__(self, message: str, param: str | None = None, fix: str | None = None, *,
                 too_small: bool = False) -> None:
        self.param = param
        self.fix = fix
        self.too_small = too_small
        super().__init__(message)


@dataclass(frozen=True)
class Param:
    """One constructor argument. ``kind`` decides validation and the inspector widget:

    int, float, bool, choice, activation, pair (int or [h, w]), pad2 (int, [h, w] or
    [[top, bottom], [left, right]]), shape (list of positive ints), int_list (list of ints),
    floats (a number, or a list of numbers: one per channel).
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_max: bool = False
    choices: tuple[Any, ...] = ()
    nullable: bool = False


@dataclass(frozen=True)
class RFStep:
    """Receptive-field effect of a block: r_out = r_in + (k - 1) * j_in and j_out = j_in * s."""

    kernel: tuple[float, float] = (1, 1)
    stride: tuple[float, float] = (1, 1)

    def then(self, other: RFStep) -> RFStep:
        """Compose this step followed by ``other`` (for composites)."""
        k = tuple(a + (b - 1) * s for a, b, s in zip(self.kernel, other.kernel, self.stride,
                                                     strict=True))
        st = tuple(a * b for a, b in zip(self.stride, other.stride, strict=True))
        return RFStep(k, st)  # type: ignore[arg-type]

    @staticmethod
    def widest(steps: Sequence[RFStep]) -> RFStep:
        return RFStep(
            (max(s.kernel[0] for s in steps), max(s.kernel[1] for s in steps)),
            (max(s.stride[0] for s in steps), max(s.stride[1] for s in steps)))


IDENTITY_RF = RFStep()


@dataclass(frozen=True)
class InnerLayer:
    """One Keras layer inside a composite block, for per-layer summaries."""

    name: str           # the part; the Keras layer is named ``<id>_<part>``
    type: str
    shape: Shape
    params: int
    fixed_params: int
    macs: int
    # The arithmetic behind ``params`` and ``macs`` (``(1*1*256 + 1) * 64``), for ``explain``;
    # "" where the count is simply 0. Filled by ``composite.plan_infer`` from each primitive's explain rule.
    params_formula: str = ""
    macs_formula: str = ""


@dataclass
class Inference:
    """What a shape rule says about a node given its input shapes.

    ``params`` counts the weights that train when the node is trainable; ``fixed_params`` the ones
    that never train (BatchNorm moving statistics). ``rf`` is None when the output is not spatial.
    ``activations`` is the number of float values the node's layers produce per sample.
    """

    shape: Shape
    params: int = 0
    fixed_params: int = 0
    macs: int = 0
    rf: RFStep | None = IDENTITY_RF
    activations: int | None = None
    inner: list[InnerLayer] = field(default_factory=list)
    warnings: list[tuple[str, str | None]] = field(default_factory=list)  # (message, fix)
    # Warnings that hold only where the node is the network's head: its output reaches a model
    # output through pass-through blocks of the same rank only. A Dense on an image tensor is a
    # forgotten Flatten there, but ConvNeXt's per-position MLP inside the network.
    head_warnings: list[tuple[str, str | None]] = field(default_factory=list)
    # Weight layers on the block's longest path (for network depth); None: 1 if it has MACs.
    depth: int | None = None

    def __post_init__(self) -> None:
        if self.activations is None:
            self.activations = math.prod(self.shape)
        if self.depth is None:
            self.depth = 1 if self.macs > 0 else 0


class BuildContext(Protocol):
    """What a Keras builder gets from the compiler."""

    L: Any             # keras.layers
    custom: Any        # namespace of the app's registered layers (LocalResponseNormalization...)
    node_id: str

    def name(self, part: str | None = None) -> str: ...

    def add(self, layer: Any) -> Any: ...


InferFn = Callable[[dict[str, Any], list[Shape]], Inference]
BuildFn = Callable[[BuildContext, dict[str, Any], list[Any]], Any]


@dataclass(frozen=True)
class BlockSpec:
    type: str
    label: str
    category: str
    params: tuple[Param, ...]
    infer: InferFn
    build: BuildFn
    min_inputs: int = 1
    max_inputs: int | None = 1
    help: str = ""
    face: Callable[[dict[str, Any]], str] | None = None   # key params for the node face
    composite: bool = False
    keras_class: str | None = None   # the Keras class a primitive compiles to
    # A composite's one description: ``plan(values, in_shape) -> blocks.composite.Plan`` of
    # catalogue primitives; its shape rule, Keras builder and expansion all run it.
    plan: Callable[[dict[str, Any], Shape], Any] | None = None
    # The arithmetic behind each number, with the node's own values (blocks/explain.py):
    # ``explain(values, in_shapes, inference) -> Explanation``. A block with weights or MACs
    # needs one (tests/blocks/test_explain.py iterates the catalogue); a parameter-free block
    # without one gets an exact generic explanation.
    explain: Callable[..., Any] | None = None
    # Per-type facts the checker, quick fixes, retargeting and docs read (once core tables;
    # tests/blocks/test_spec_facts.py checks each is declared consistently):
    # a natural model output: a dangling node of this type is not flagged as an extra output.
    natural_output: bool = False
    # has a "valid"/"same" ``padding`` param that the ``padding_same`` quick fix may set.
    padding_fix: bool = False
    # the param that is a classifier head's width (its class count), for ``--classes``.
    head_width_param: str | None = None
    # one input, passed on at the same width (a head's width reaches the model output).
    pass_through: bool = False
    # merges inputs of one shape value by value; a mismatch offers the 1x1 projection fix.
    elementwise: bool = False
    # how its output depends on Keras's training flag: "random" (a new draw on every call in
    # training: the feature cache cannot run it once per image), "batch_statistics" (normalizes
    # by the batch while training); None: the same output either way. Either kind makes an
    # imported call that forces the flag inexpressible.
    training_behaviour: str | None = None
    # a composite's sample configurations (label, params, input shape) for docs/FORMAT.md:
    # together their inner layers show every part the composite can have.
    doc_samples: tuple[tuple[str, dict[str, Any], Shape], ...] = ()

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def arity_text(self) -> str:
        if self.max_inputs == self.min_inputs:
            n = self.min_inputs
            return "no inputs" if n == 0 else f"exactly {n} input" + ("s" if n > 1 else "")
        if self.max_inputs is None:
            return f"at least {self.min_inputs} inputs"
        return f"{self.min_inputs} to {self.max_inputs} inputs"

    def describe(self, params: dict[str, Any]) -> str:
        if self.face is None:
            return ""
        try:
            return self.face(params)
        except (KeyError, TypeError, ValueError, IndexError):
            return ""


# ----------------------------------------------------------------- param validation
def _json(value: Any) -> str:
    """The value as the user wrote it in JSON, cut short: it is quoted in a one-line message."""
    import json

    if _is_int(value):
        return _fmt(value)
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except (ValueError, RecursionError):
            text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_range(p: Param, value: float, label: str = "") -> str | None:
    what = f"{p.name}{label}"
    if p.minimum is not None and value < p.minimum:
        return f"{what} must be >= {_fmt(p.minimum)}, not {_fmt(value)}"
    if p.maximum is not None:
        if p.exclusive_max and value >= p.maximum:
            return f"{what} must be below {_fmt(p.maximum)}, not {_fmt(value)}"
        if not p.exclusive_max and value > p.maximum:
            return f"{what} must be <= {_fmt(p.maximum)}, not {_fmt(value)}"
    return None


def _fmt(value: float) -> str:
    if isinstance(value, int):
        if abs(value) < 10**30:
            return str(value)
        # Huge ints (str() of one over 4300 digits even raises): give the order of magnitude.
        return f"{'-' if value < 0 else ''}about 10^{int(abs(value).bit_length() * 0.30103)}"
    return str(int(value)) if float(value).is_integer() else str(value)


def _int_value(p: Param, value: Any, label: str = "") -> int:
    if not _is_int(value):
        hint = ""
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            hint = f" (write {value.strip()} without quotes)"
        raise BlockProblem(f"{p.name}{label} must be an integer, not {_json(value)}{hint}",
                           param=p.name)
    problem = _check_range(p, value, label)
    if problem:
        raise BlockProblem(problem, param=p.name)
    return value


def coerce_param(p: Param, value: Any) -> Any:
    """Validate one raw JSON value against its declaration; returns the normalized value."""
    if value is None:
        if p.nullable:
            return None
        if p.kind == "activation":
            return "linear"
        raise BlockProblem(f"{p.name} cannot be null", param=p.name)
    kind = p.kind
    if kind == "int":
        return _int_value(p, value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BlockProblem(f"{p.name} must be a number, not {_json(value)}", param=p.name)
        if isinstance(value, int) and abs(value) > 10**300:
            raise BlockProblem(f"{p.name} is far too large ({_fmt(value)})", param=p.name)
        if not math.isfinite(value):
            raise BlockProblem(f"{p.name} must be finite", param=p.name)
        problem = _check_range(p, value)
        if problem:
            raise BlockProblem(problem, param=p.name)
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise BlockProblem(f"{p.name} must be true or false, not {_json(value)}",
                               param=p.name)
        return value
    if kind in ("choice", "activation"):
        choices = p.choices if kind == "choice" else ACTIVATIONS
        if not isinstance(value, str) or value not in choices:
            listed = ", ".join(str(c) for c in choices)
            raise BlockProblem(f"{p.name} {_json(value)} is not one of: {listed}", param=p.name)
        return value
    if kind == "pair":
        if _is_int(value):
            v = _int_value(p, value)
            return (v, v)
        if isinstance(value, list | tuple) and len(value) == 2:
            return (_int_value(p, value[0], "[0]"), _int_value(p, value[1], "[1]"))
        raise BlockProblem(f"{p.name} must be an integer or [height, width], not "
                           f"{_json(value)}", param=p.name)
    if kind == "pad2":
        if _is_int(value):
            v = _int_value(p, value)
            return ((v, v), (v, v))
        if isinstance(value, list | tuple) and len(value) == 2:
            if all(_is_int(v) for v in value):
                h, w = _int_value(p, value[0], "[0]"), _int_value(p, value[1], "[1]")
                return ((h, h), (w, w))
            if all(isinstance(v, list | tuple) and len(v) == 2 for v in value):
                return tuple(tuple(_int_value(p, x, f"[{i}][{j}]") for j, x in enumerate(v))
                             for i, v in enumerate(value))
        raise BlockProblem(f"{p.name} must be an integer, [height, width] or "
                           f"[[top, bottom], [left, right]], not {_json(value)}", param=p.name)
    if kind in ("shape", "int_list"):
        if not isinstance(value, list | tuple) or not value:
            raise BlockProblem(f"{p.name} must be a non-empty list of integers, not "
                               f"{_json(value)}", param=p.name)
        return tuple(_int_value(p, v, f"[{i}]") for i, v in enumerate(value))
    if kind == "floats":
        if isinstance(value, list | tuple):
            if not value:
                raise BlockProblem(f"{p.name} must be a number or a non-empty list of numbers",
                                   param=p.name)
            try:
                return tuple(coerce_param(Param(f"{p.name}[{i}]", "float", 0.0), v)
                             for i, v in enumerate(value))
            except BlockProblem as exc:
                raise BlockProblem(str(exc), param=p.name) from None
        return coerce_param(Param(p.name, "float", 0.0), value)
    if kind == "str":
        if not isinstance(value, str):
            raise BlockProblem(f"{p.name} must be a string", param=p.name)
        return value
    raise AssertionError(f"unknown param kind {kind}")


def resolve_params(spec: BlockSpec, raw: dict[str, Any]) -> tuple[dict[str, Any],
                                                                   list[BlockProblem]]:
    """Defaults filled in, each given value validated; unknown names are problems too."""
    problems: list[BlockProblem] = []
    values: dict[str, Any] = {}
    known = spec.param_names
    for key in raw:
        if key not in known:
            listed = ", ".join(known) if known else "no parameters"
            problems.append(BlockProblem(
                f"unknown parameter {key!r} for {spec.type} (it takes {listed})", param=key))
    for p in spec.params:
        value = raw.get(p.name, p.default)
        try:
            values[p.name] = coerce_param(p, value)
        except BlockProblem as problem:
            problems.append(problem)
            values[p.name] = coerce_param(p, p.default) if p.default is not None else None
    return values, problems


def keras_value(value: Any) -> Any:
    """Normalized tuples back to the lists/ints Keras constructors and JSON like."""
    if isinstance(value, tuple):
        return [keras_value(v) for v in value]
    return value
