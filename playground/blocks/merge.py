"""Merge blocks: element-wise (Add and friends) and Concatenate."""

from __future__ import annotations

from typing import Any

from playground.blocks import explain as ex
from playground.blocks.broadcast import broadcast_shape
from playground.blocks.geometry import fmt_shape
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, RFStep


def _merge_rf(shapes: list[tuple[int, ...]]) -> RFStep | None:
    # The checker merges the incoming receptive fields; the block itself adds nothing.
    return RFStep() if len(shapes[0]) == 3 else None


def elementwise_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    first = shapes[0]
    stretched = broadcast_shape(shapes) if any(s != first for s in shapes) else None
    if stretched is not None:   # Keras broadcasts size-1 axes (squeeze-and-excitation gates)
        return Inference(stretched, rf=_merge_rf([stretched]))
    for i, s in enumerate(shapes[1:], start=2):
        if s != first:
            fix = None
            if len(s) == len(first):
                # Channels and/or an integer spatial factor: a (strided) 1x1 projection fixes it.
                fix = "insert_projection"
            raise BlockProblem(
                f"input shapes differ: input 1 is {fmt_shape(first)}, input {i} is "
                f"{fmt_shape(s)}; element-wise merges need equal shapes"
                + ("; a 1x1 convolution (strided if the sizes differ) can match them" if fix else ""),
                fix=fix)
    return Inference(first, rf=_merge_rf(shapes))


def elementwise_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                        ) -> ex.Explanation:
    note = f"as each of its {len(shapes)} inputs"
    if any(s != shapes[0] for s in shapes):   # a squeeze-excite gate: 1 x 1 x C times H x W x C
        note = (f"the largest of its {len(shapes)} inputs: a size-1 axis is repeated "
                "(broadcast) to match")
    return ex.Explanation(ex.passthrough(inf.shape, note),
                          ex.no_params(), ex.no_macs("one operation per value; not counted"))


def _elementwise(type_name: str, label: str, help_text: str) -> BlockSpec:
    def build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
        return ctx.add(getattr(ctx.L, type_name)(name=ctx.name()))(list(inputs))

    return BlockSpec(type=type_name, label=label, category="merge", keras_class=type_name,
                     params=(), infer=elementwise_infer, build=build, min_inputs=2,
                     max_inputs=None, help=help_text, explain=elementwise_explain,
                     elementwise=True)


ADD = _elementwise("Add", "Add", "Sums its inputs element-wise: the residual connection.")
MULTIPLY = _elementwise("Multiply", "Multiply", "Multiplies its inputs element-wise (gating).")
AVERAGE = _elementwise("Average", "Average", "Averages its inputs element-wise.")
MAXIMUM = _elementwise("Maximum", "Maximum", "Element-wise maximum of its inputs.")


def concat_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    rank = len(shapes[0])
    axis = p["axis"]
    if axis == 0 or not -rank <= axis <= rank:
        raise BlockProblem(f"axis {axis} does not exist for inputs of rank {rank + 1} "
                           "(axis 0 is the batch)", param="axis")
    ax = axis - 1 if axis > 0 else rank + axis
    first = shapes[0]
    total = 0
    for i, s in enumerate(shapes, start=1):
        if len(s) != rank:
            raise BlockProblem(f"input {i} has rank {len(s) + 1}, input 1 has rank {rank + 1}")
        others = [d for j, d in enumerate(s) if j != ax]
        if others != [d for j, d in enumerate(first) if j != ax]:
            raise BlockProblem(
                f"inputs must match on every axis but the concatenation axis: input 1 is "
                f"{fmt_shape(first)}, input {i} is {fmt_shape(s)}")
        total += s[ax]
    out = tuple(total if j == ax else d for j, d in enumerate(first))
    return Inference(out, rf=_merge_rf(shapes))


def concat_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                   ) -> ex.Explanation:
    rank = len(inf.shape)
    ax = p["axis"] - 1 if p["axis"] > 0 else rank + p["axis"]
    axes = []
    for j, (d, name) in enumerate(zip(inf.shape, ex.axis_names(rank), strict=True)):
        if j == ax:
            axes.append(ex.Term(d, " + ".join(str(s[ax]) for s in shapes),
                                "the inputs' sizes along this axis, in edge order", name))
        else:
            axes.append(ex.Term(d, "", "as every input", name))
    return ex.Explanation(axes, ex.no_params(), ex.no_macs("copies only"))


CONCATENATE = BlockSpec(
    type="Concatenate", label="Concatenate", category="merge", keras_class="Concatenate",
    params=(Param("axis", "int", -1, "Axis to join along (-1: channels).", minimum=-8,
                  maximum=8),),
    infer=concat_infer, explain=concat_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Concatenate(axis=p["axis"], name=ctx.name()))(
        list(inputs)),
    min_inputs=2, max_inputs=None,
    help="Stacks its inputs along the channels (inception branches, U-Net skips, DenseNet).")

SPECS = (ADD, MULTIPLY, AVERAGE, MAXIMUM, CONCATENATE)
