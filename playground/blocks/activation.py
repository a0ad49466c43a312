"""Activation blocks."""

from __future__ import annotations

from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, RFStep


def same_shape_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    return Inference(s, rf=RFStep() if len(s) == 3 else None)


def same_shape_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                       ) -> ex.Explanation:
    return ex.Explanation(ex.passthrough(inf.shape), ex.no_params(),
                          ex.no_macs("an element-wise function; not counted as MACs"))


ACTIVATION = BlockSpec(
    type="Activation", label="Activation", category="activation", keras_class="Activation",
    natural_output=True, pass_through=True,
    params=(cp.activation("relu"),), infer=same_shape_infer, explain=same_shape_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Activation(p["activation"], name=ctx.name()))(
        inputs[0]),
    face=lambda p: p["activation"],
    help="Applies a named non-linearity element-wise.")

RELU = BlockSpec(
    type="ReLU", label="ReLU", category="activation", keras_class="ReLU",
    pass_through=True,
    params=(Param("max_value", "float", None, "Upper clip (6 for ReLU6, MobileNet); null: none.",
                  minimum=0.0, nullable=True),
            Param("negative_slope", "float", 0.0, "Slope below the threshold.", minimum=0.0),
            Param("threshold", "float", 0.0, "Values below it are damped (Keras refuses a "
                  "negative threshold).", minimum=0.0)),
    infer=same_shape_infer, explain=same_shape_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.ReLU(
        max_value=p["max_value"], negative_slope=p["negative_slope"],
        threshold=p["threshold"], name=ctx.name()))(inputs[0]),
    face=lambda p: f"max {p['max_value']:g}" if p["max_value"] is not None else "",
    help="max(x, 0), optionally clipped (ReLU6).")

LEAKY_RELU = BlockSpec(
    type="LeakyReLU", label="Leaky ReLU", category="activation", keras_class="LeakyReLU",
    pass_through=True,
    params=(Param("negative_slope", "float", 0.3, "Slope for negative inputs.", minimum=0.0),),
    infer=same_shape_infer, explain=same_shape_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.LeakyReLU(
        negative_slope=p["negative_slope"], name=ctx.name()))(inputs[0]),
    face=lambda p: f"{p['negative_slope']:g}",
    help="Like ReLU but lets a small slope through for negative inputs.")


def softmax_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    rank = len(s) + 1  # with the batch axis
    if not -rank < p["axis"] < rank or p["axis"] == 0:
        raise BlockProblem(f"axis {p['axis']} is not a feature axis of an input of rank {rank} "
                           f"(use 1 to {rank - 1} or -1 to -{rank - 1}; axis 0 is the batch)",
                           param="axis")
    return same_shape_infer(p, shapes)


SOFTMAX = BlockSpec(
    type="Softmax", label="Softmax", category="activation", keras_class="Softmax",
    natural_output=True, pass_through=True,
    params=(Param("axis", "int", -1, "Axis the probabilities sum to 1 over.", minimum=-8,
                  maximum=8),),
    infer=softmax_infer, explain=same_shape_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Softmax(axis=p["axis"], name=ctx.name()))(
        inputs[0]),
    help="Turns scores into class probabilities.")

SPECS = (ACTIVATION, RELU, LEAKY_RELU, SOFTMAX)
