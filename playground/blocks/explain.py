"""Explain rules: the arithmetic behind a block's output size, weights and multiply-adds, written
with the node's own values (``(227 - 11 + 2*0) / 4 + 1 = 55``, ``(11*11*3 + 1) * 96 = 34,944``).

Students ask *why* a number is what it is; the checker only knows *what* it is. Each block type
carries its explain rule in its ``BlockSpec`` (``explain(values, in_shapes, inference)``), next to
its shape rule, so a new block cannot forget it. A rule computes each value again from its own
formula; the tests evaluate every formula and compare it with the checker's number, so an
explanation can never disagree with the count it explains.

Formulas are plain arithmetic: numbers (digit groups may carry commas), ``+ - * /``, parentheses
and ``floor``, ``ceil``, ``max``. Words go in ``note``. No Qt, no TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.blocks.spec import Inference, Shape

BYTES_PER_VALUE = 4  # float32


def num(value: float) -> str:
    """34944 -> '34,944'; 0.5 -> '0.5'; 1/7 -> '0.143' (formulas stay readable)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{round(float(value), 3):g}"


@dataclass(frozen=True)
class Term:
    """One explained number: ``formula`` evaluates to ``value``; "" when the value is just given
    (a channel count, a copied axis). ``name`` labels an axis (height, width, channels)."""

    value: float
    formula: str = ""
    note: str = ""
    name: str = ""

    def text(self) -> str:
        value = num(self.value)
        body = f"{self.formula} = {value}" if self.formula and self.formula != value else value
        return body + (f" ({self.note})" if self.note else "")


@dataclass
class Explanation:
    """What an explain rule returns: one term per output axis, the weights and the MACs.

    ``branch_of`` (composites) maps an inner layer's part name (``3x3_reduce``) to its branch
    (``3x3``), for the per-branch table. ``notes`` are sentences shown under the numbers.
    """

    axes: list[Term]
    params: Term
    macs: Term
    branch_of: Callable[[str], str] | None = None
    notes: list[str] = field(default_factory=list)


ExplainFn = Callable[[dict[str, Any], list[Shape], Inference], Explanation]


# ------------------------------------------------------------------------ axes
def axis_names(rank: int) -> tuple[str, ...]:
    if rank == 3:
        return ("height", "width", "channels")
    if rank == 1:
        return ("features",)
    return tuple(f"axis {i}" for i in range(1, rank + 1))


def passthrough(shape: Shape, note: str = "as its input") -> list[Term]:
    """Every axis copied from the input (activations, dropout, normalization, element-wise)."""
    return [Term(d, "", note, name) for d, name in zip(shape, axis_names(len(shape)), strict=True)]


def given(shape: Shape, notes: Sequence[str]) -> list[Term]:
    """Axes whose sizes are set directly by a parameter (Resizing, Reshape, Input)."""
    return [Term(d, "", note, name)
            for d, name, note in zip(shape, axis_names(len(shape)), notes, strict=True)]


def _span_text(k: int, d: int) -> str:
    return str(k) if d == 1 else f"(({k} - 1)*{d} + 1)"


def window_axis(name: str, n: int, k: int, s: int, padding: str, d: int = 1,
                what: str = "kernel") -> Term:
    """Output length of a sliding window along one axis, Keras' rule, with its arithmetic.

    "valid": (n - k + 2*0) / s + 1, floored when the windows do not tile the input exactly;
    "same": ceil(n / s), and how many zeros TensorFlow adds (the odd one after, not before).
    """
    span = (k - 1) * d + 1
    dilated = f"; dilation {d} spreads the {k}-tap {what} over {span}" if d > 1 else ""
    if padding == "same":
        out = math.ceil(n / s)
        total = max((out - 1) * s + span - n, 0)
        pad = (f"{total} zeros added: {total // 2} before, {total - total // 2} after"
               if total else "no padding needed")
        return Term(out, f"ceil({n} / {s})", f'"same": {pad}{dilated}', name)
    out = (n - span) // s + 1
    inner = f"{n} - {_span_text(k, d)} + 2*0"
    if (n - span) % s == 0:
        formula = f"({inner}) / {s} + 1"
        note = f'"valid": no padding{dilated}'
    else:
        formula = f"floor(({inner}) / {s}) + 1"
        left = (n - span) % s
        note = (f'"valid": no padding; the last {left} pixel(s) fit no whole window and are '
                f"dropped{dilated}")
    return Term(out, formula, note, name)


def transpose_axis(name: str, n: int, k: int, s: int, padding: str, d: int = 1) -> Term:
    """Keras' deconv_output_length (output_padding unset): "same" n*s; "valid" n*s + max(k-s, 0)."""
    if padding == "same":
        return Term(n * s, f"{n}*{s}", '"same": the input size times the stride', name)
    span = (k - 1) * d + 1
    return Term(n * s + max(span - s, 0), f"{n}*{s} + max({_span_text(k, d)} - {s}, 0)",
                '"valid": each input pixel spreads a whole kernel; the overhang stays', name)


def window_axes(in_shape: Shape, kernel: tuple[int, int], strides: tuple[int, int],
                padding: str, dilation: tuple[int, int] = (1, 1), what: str = "kernel"
                ) -> list[Term]:
    return [window_axis(name, n, k, s, padding, d, what)
            for name, n, k, s, d in zip(("height", "width"), in_shape[:2], kernel, strides,
                                        dilation, strict=True)]


def channels(value: int, formula: str = "", note: str = "") -> Term:
    return Term(value, formula, note, "channels")


# -------------------------------------------------------------------- counts
def no_params(note: str = "no weights") -> Term:
    return Term(0, "", note)


def no_macs(note: str = "only convolutions and dense layers count multiply-accumulates, as "
                        "in the papers and torchvision") -> Term:
    return Term(0, "", note)


def conv_params(kh: int, kw: int, cin: int, filters: int, bias: bool, groups: int = 1
                ) -> Term:
    """(kh*kw*cin + 1) * filters: one kernel spanning all input channels, plus a bias, per
    filter (per group's share of the channels with ``groups``)."""
    per_filter = cin // groups
    kin = f"{kh}*{kw}*{cin}" if groups == 1 else f"{kh}*{kw}*({cin}/{groups})"
    weights = kh * kw * per_filter * filters + (filters if bias else 0)
    formula = f"({kin} + 1) * {filters}" if bias else f"{kin} * {filters}"
    note = (f"one {kh}x{kw}x{per_filter} kernel" + (" and one bias" if bias else "")
            + f" per filter, {filters} filters")
    if groups > 1:
        note += f"; {groups} groups each see {per_filter} of the {cin} input channels"
    return Term(weights, formula, note)


def conv_macs(h: int, w: int, filters: int, kh: int, kw: int, cin: int) -> Term:
    """Each of the h*w*filters outputs is a dot product over a kh*kw*cin window."""
    return Term(h * w * filters * kh * kw * cin, f"{h}*{w}*{filters} * {kh}*{kw}*{cin}",
                f"{h}x{w}x{filters} outputs, each a dot product of {kh}x{kw}x{cin} inputs")


def sum_term(values: Sequence[int], note: str = "") -> Term:
    """A total written as its parts (``12,845,056 + 86,704,128 + ...``)."""
    parts = [v for v in values if v]
    if not parts:
        return Term(0, "", note)
    if len(parts) == 1:
        return Term(parts[0], "", note)
    return Term(sum(parts), " + ".join(num(v) for v in parts), note)


def composite_sums(inner: Sequence[Any], branch_of: Callable[[str], str]
                   ) -> tuple[Term, Term]:
    """A composite's weights and MACs as sums: over its branches when several contribute,
    else over its layers (a residual block's main path: conv + bn + conv + bn)."""
    def total(layer: Any, what: str) -> int:
        return layer.params + layer.fixed_params if what == "params" else layer.macs

    out = []
    for what in ("params", "macs"):
        by_branch: dict[str, int] = {}
        for layer in inner:
            name = branch_of(layer.name)
            by_branch[name] = by_branch.get(name, 0) + total(layer, what)
        used = [b for b, v in by_branch.items() if v]
        if len(used) > 1:
            out.append(sum_term([by_branch[b] for b in used], "branches " + " + ".join(used)))
        else:
            layers = [la for la in inner if total(la, what)]
            out.append(sum_term([total(la, what) for la in layers],
                                "layers " + " + ".join(la.name for la in layers)
                                if len(layers) > 1 else ""))
    return out[0], out[1]


def product_text(shape: Shape) -> str:
    return "*".join(str(d) for d in shape)


# ----------------------------------------------------------- the generic rule
def generic(values: dict[str, Any], in_shapes: list[Shape], inf: Inference) -> Explanation:
    """For a block without its own rule. Exact only for a block without weights or MACs: its
    axes are then stated (copied ones say so), and 0 weights / 0 MACs are the whole story.
    A block with weights and no rule says that its formula is missing instead of guessing.
    """
    first = in_shapes[0] if in_shapes else None
    if first is not None and tuple(first) == tuple(inf.shape):
        axes = passthrough(inf.shape)
    else:
        axes = given(inf.shape, ["from the block's shape rule"] * len(inf.shape))
    total = inf.params + inf.fixed_params
    if total == 0 and inf.macs == 0:
        return Explanation(axes, no_params(), no_macs())
    missing = "this block has no explain rule yet: the checker's count, without its formula"
    return Explanation(axes, Term(total, "", missing), Term(inf.macs, "", missing),
                       notes=[missing])
