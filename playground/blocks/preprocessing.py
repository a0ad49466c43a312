"""Input preprocessing inside the model: Rescaling (x * scale + offset) and Normalization
((x - mean) / sqrt(variance)), as keras.applications' EfficientNet, ConvNeXt and MobileNetV3 put
them right after the Input, so a model takes raw 0..255 pixels.

``scale``, ``offset``, ``mean`` and ``variance`` are one number or one number per channel. A
Normalization without ``mean``/``variance`` keeps them as non-trainable weights (2C + 1 values with
Keras' sample count) that come from a weights file or ``adapt``; with them given it has none.
"""

from __future__ import annotations

from typing import Any

from playground.blocks import explain as ex
from playground.blocks.geometry import fmt_shape
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, RFStep, keras_value


def _rf(shape: tuple[int, ...]) -> RFStep | None:
    return RFStep() if len(shape) == 3 else None


def _per_channel(name: str, value: Any, shape: tuple[int, ...]) -> None:
    if isinstance(value, tuple) and len(value) not in (1, shape[-1]):
        raise BlockProblem(f"{name} has {len(value)} values but the input {fmt_shape(shape)} has "
                           f"{shape[-1]} channels (give one number, or one per channel)",
                           param=name)


def _number(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{v:.3g}" for v in value) + "]"
    return f"{value:.4g}"


def rescaling_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    _per_channel("scale", p["scale"], s)
    _per_channel("offset", p["offset"], s)
    return Inference(s, rf=_rf(s))


def _rescaling_face(p: dict[str, Any]) -> str:
    text = f"x{_number(p['scale'])}"
    if p["offset"] not in (0.0, (0.0,)):
        offset = p["offset"]
        text += f" {'-' if not isinstance(offset, tuple) and offset < 0 else '+'} " + (
            _number(abs(offset)) if not isinstance(offset, tuple) else _number(offset))
    return text


def rescaling_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                      ) -> ex.Explanation:
    return ex.Explanation(ex.passthrough(inf.shape), ex.no_params("no weights: fixed numbers"),
                          ex.no_macs("x * scale + offset per value; not counted"),
                          notes=[f"x * {_number(p['scale'])} + {_number(p['offset'])}"])


RESCALING = BlockSpec(
    type="Rescaling", label="Rescaling", category="normalization", keras_class="Rescaling",
    params=(Param("scale", "floats", 1.0, "Multiplier: one number or one per channel (1/255 "
                  "maps pixels to 0..1; 1/127.5 with offset -1 to -1..1)."),
            Param("offset", "floats", 0.0, "Added after scaling: one number or one per channel.")),
    infer=rescaling_infer, explain=rescaling_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Rescaling(
        scale=keras_value(p["scale"]), offset=keras_value(p["offset"]), name=ctx.name()))(
        inputs[0]),
    face=_rescaling_face,
    help="x * scale + offset, element-wise; no weights. Also what `x + 3.0` or `x * 0.5` in a "
         "Keras model imports as.")


def normalization_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    if (p["mean"] is None) != (p["variance"] is None):
        raise BlockProblem("give both mean and variance, or neither (then they are weights)",
                           param="mean" if p["mean"] is None else "variance")
    if p["mean"] is None:
        return Inference(s, fixed_params=2 * s[-1] + 1, rf=_rf(s))
    _per_channel("mean", p["mean"], s)
    _per_channel("variance", p["variance"], s)
    if isinstance(p["mean"], tuple) != isinstance(p["variance"], tuple) or (
            isinstance(p["mean"], tuple) and len(p["mean"]) != len(p["variance"])):
        raise BlockProblem("mean and variance must have the same form: both one number, or "
                           "lists of the same length", param="variance")
    variances = p["variance"] if isinstance(p["variance"], tuple) else (p["variance"],)
    if any(v < 0 for v in variances):
        raise BlockProblem("variance cannot be negative", param="variance")
    return Inference(s, rf=_rf(s))


def normalization_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    layer = ctx.L.Normalization(axis=-1, mean=keras_value(p["mean"]),
                                variance=keras_value(p["variance"]), invert=p["invert"],
                                name=ctx.name())
    return ctx.add(layer)(inputs[0])


def normalization_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                          ) -> ex.Explanation:
    c = shapes[0][-1]
    if p["mean"] is None:
        params = ex.Term(2 * c + 1, f"2*{c} + 1", "a mean and a variance per channel and "
                         "Keras' sample count, stored as weights that never train")
    else:
        params = ex.no_params("none: the mean and variance are fixed numbers in the graph")
    return ex.Explanation(ex.passthrough(inf.shape), params,
                          ex.no_macs("a shift and scale per value; not counted"))


NORMALIZATION = BlockSpec(
    type="Normalization", label="Normalization", category="normalization",
    keras_class="Normalization",
    params=(Param("mean", "floats", None, "Per-channel mean (one number or one per channel); "
                  "null: a non-trainable weight loaded from a weights file.", nullable=True),
            Param("variance", "floats", None, "Per-channel variance, with mean; null: a weight.",
                  nullable=True),
            Param("invert", "bool", False, "Undo the normalization instead: x * sqrt(var) + "
                  "mean.")),
    infer=normalization_infer, build=normalization_build, explain=normalization_explain,
    face=lambda p: "mean/var weights" if p["mean"] is None else f"mean {_number(p['mean'])}",
    help="(x - mean) / sqrt(variance) per channel, with fixed statistics (ImageNet's, for "
         "pretrained models); they never train.")

SPECS = (RESCALING, NORMALIZATION)
