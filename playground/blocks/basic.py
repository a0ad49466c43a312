"""Input, dense head, regularization and reshaping blocks."""

from __future__ import annotations

import math
from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.geometry import fmt_shape, need_rank
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, RFStep, keras_value


def _spatial_rf(shape: tuple[int, ...]) -> RFStep | None:
    return RFStep() if len(shape) == 3 else None


# -------------------------------------------------------------------------- Input
# Beyond these no model can be built or drawn: a 52-axis Input of 10^6 per axis declares 10^312
# values per sample, past what a float (and so every figure of the editor) can hold.
MAX_INPUT_RANK = 5
MAX_INPUT_VALUES = 2**31 - 1


def input_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    shape = tuple(p["shape"])
    if len(shape) > MAX_INPUT_RANK:
        raise BlockProblem(f"shape has {len(shape)} axes; an Input takes at most "
                           f"{MAX_INPUT_RANK} (e.g. [height, width, channels])", param="shape")
    values = math.prod(shape)
    if values > MAX_INPUT_VALUES:
        digits = len(str(values))
        size = f"{values:,}" if digits <= 16 else f"about 10^{digits - 1}"
        raise BlockProblem(f"shape {fmt_shape(shape)} holds {size} values per sample; an Input "
                           f"holds at most {MAX_INPUT_VALUES:,}", param="shape")
    return Inference(shape, rf=_spatial_rf(shape))


def input_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                  ) -> ex.Explanation:
    return ex.Explanation(ex.given(inf.shape, ["the shape param"] * len(inf.shape)),
                          ex.no_params("the image itself; no weights"), ex.no_macs())


def input_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    return ctx.input(list(p["shape"]))


INPUT = BlockSpec(
    type="Input", label="Input", category="input", keras_class="InputLayer",
    natural_output=True,
    params=(Param("shape", "shape", [28, 28, 1], "[height, width, channels], no batch axis.",
                  minimum=1, maximum=1_000_000),),
    infer=input_infer, build=input_build, min_inputs=0, max_inputs=0, explain=input_explain,
    face=lambda p: "x".join(str(d) for d in p["shape"]),
    help="The image the network sees: height x width x channels.")


# -------------------------------------------------------------------------- Dense
def dense_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    cin, units = s[-1], p["units"]
    weights = cin * units + (units if p["use_bias"] else 0)
    macs = math.prod(s[:-1]) * cin * units
    out = tuple(s[:-1]) + (units,)
    inf = Inference(out, params=weights, macs=macs, rf=_spatial_rf(out))
    if len(s) > 1:
        # Only at the network's end: inside it, a Dense per position is a 1x1 convolution on
        # purpose (ConvNeXt's MLP); see Inference.head_warnings.
        inf.head_warnings.append((
            f"Dense on a {len(s) + 1}-D tensor {fmt_shape(s)} acts on the last axis only, "
            f"at every position; insert Flatten or GlobalAveragePooling2D before it",
            "insert_flatten"))
    return inf


def dense_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                  ) -> ex.Explanation:
    (s,) = shapes
    cin, units, bias = s[-1], p["units"], p["use_bias"]
    names = ex.axis_names(len(inf.shape))
    axes = [ex.Term(d, "", "as its input", name) for d, name in zip(s[:-1], names, strict=False)]
    axes.append(ex.Term(units, "", "units", names[-1]))
    params = ex.Term(cin * units + (units if bias else 0),
                     f"({cin} + 1) * {units}" if bias else f"{cin} * {units}",
                     f"every one of the {cin} inputs" + (" and a bias" if bias else "")
                     + f" feeds each of the {units} units")
    positions = math.prod(s[:-1])
    if positions > 1:
        macs = ex.Term(positions * cin * units, f"{ex.product_text(s[:-1])} * {cin}*{units}",
                       "the same weights at every position of the last axis")
    else:
        macs = ex.Term(cin * units, f"{cin}*{units}", "one multiply-add per weight")
    return ex.Explanation(axes, params, macs)


def dense_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    layer = ctx.L.Dense(units=p["units"], activation=p["activation"], use_bias=p["use_bias"],
                        name=ctx.name())
    return ctx.add(layer)(inputs[0])


DENSE = BlockSpec(
    type="Dense", label="Dense", category="head", keras_class="Dense",
    natural_output=True, head_width_param="units",
    params=(Param("units", "int", 10, "Number of outputs (the class count for a classifier).",
                  minimum=1, maximum=10_000_000),
            cp.activation(), cp.use_bias()),
    infer=dense_infer, build=dense_build, explain=dense_explain,
    face=lambda p: f"{p['units']}" + (f" {p['activation']}" if p["activation"] != "linear"
                                      else ""),
    help="Fully connected layer: every input feeds every output.")


# ------------------------------------------------------------------------ Flatten
def flatten_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    return Inference((math.prod(s),), rf=None)


def flatten_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                    ) -> ex.Explanation:
    (s,) = shapes
    axis = ex.Term(math.prod(s), ex.product_text(s) if len(s) > 1 else "",
                   "all values of the input in one vector", "features")
    return ex.Explanation([axis], ex.no_params(), ex.no_macs())


FLATTEN = BlockSpec(
    type="Flatten", label="Flatten", category="reshape", keras_class="Flatten", params=(),
    infer=flatten_infer, explain=flatten_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Flatten(name=ctx.name()))(inputs[0]),
    help="Unrolls H x W x C into one vector for a Dense head.")


# ------------------------------------------------------------------------ Reshape
def reshape_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    target = list(p["target_shape"])
    total = math.prod(s)
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1 or any(d == 0 or d < -1 for d in target):
        raise BlockProblem("target_shape may hold one -1 and otherwise positive sizes",
                           param="target_shape")
    known = math.prod(d for d in target if d != -1)
    if unknown:
        if total % known:
            raise BlockProblem(f"cannot reshape {fmt_shape(s)} ({total} values) to "
                               f"{fmt_shape(tuple(target))}", param="target_shape")
        target[unknown[0]] = total // known
    elif known != total:
        raise BlockProblem(f"cannot reshape {fmt_shape(s)} ({total} values) to "
                           f"{fmt_shape(tuple(target))} ({known} values)", param="target_shape")
    out = tuple(target)
    return Inference(out, rf=_spatial_rf(out) if len(s) == 3 else None)


def reshape_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                    ) -> ex.Explanation:
    (s,) = shapes
    target = p["target_shape"]
    known = [d for d in target if d != -1]
    axes = []
    for d, t, name in zip(inf.shape, target, ex.axis_names(len(inf.shape)), strict=True):
        if t == -1:
            axes.append(ex.Term(d, f"{ex.product_text(s)} / ({ex.product_text(tuple(known))})"
                                if known else ex.product_text(s),
                                "-1: what is left of the input's values", name))
        else:
            axes.append(ex.Term(d, "", "target_shape", name))
    return ex.Explanation(axes, ex.no_params(), ex.no_macs())


RESHAPE = BlockSpec(
    type="Reshape", label="Reshape", category="reshape", keras_class="Reshape",
    natural_output=True, pass_through=True,
    params=(Param("target_shape", "int_list", [-1], "New shape without the batch axis; one "
                  "entry may be -1.", minimum=-1, maximum=1_000_000_000),),
    infer=reshape_infer, explain=reshape_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Reshape(
        target_shape=keras_value(p["target_shape"]), name=ctx.name()))(inputs[0]),
    face=lambda p: "x".join(str(d) for d in p["target_shape"]),
    help="Rearranges values into a new shape (same count).")


# ----------------------------------------------------------------------- Dropouts
def dropout_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    return Inference(s, rf=_spatial_rf(s))


def dropout_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                    ) -> ex.Explanation:
    rate = p["rate"]
    return ex.Explanation(ex.passthrough(inf.shape), ex.no_params(), ex.no_macs(),
                          notes=[f"while training, {rate:.0%} of the values are zeroed and the "
                                 f"rest scaled by 1/(1 - {rate:g}); at inference it does nothing"])


DROPOUT = BlockSpec(
    type="Dropout", label="Dropout", category="regularization", keras_class="Dropout",
    pass_through=True, training_behaviour="random",
    params=(cp.rate(),), infer=dropout_infer, explain=dropout_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Dropout(rate=p["rate"], name=ctx.name()))(
        inputs[0]),
    face=lambda p: f"p={p['rate']:g}",
    help="Zeroes a random fraction of units while training (AlexNet's regularizer).")


def spatial_dropout_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "SpatialDropout2D")
    return Inference(s)


SPATIAL_DROPOUT = BlockSpec(
    type="SpatialDropout2D", label="Spatial Dropout 2D", category="regularization",
    keras_class="SpatialDropout2D", training_behaviour="random",
    params=(cp.rate(),), infer=spatial_dropout_infer,
    explain=dropout_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.SpatialDropout2D(rate=p["rate"],
                                                                name=ctx.name()))(inputs[0]),
    face=lambda p: f"p={p['rate']:g}",
    help="Drops whole feature maps instead of single values.")

SPECS = (INPUT, DENSE, FLATTEN, RESHAPE, DROPOUT, SPATIAL_DROPOUT)
