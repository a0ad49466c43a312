"""Pieces of the post-2017 architectures: group normalization, ConvNeXt's layer scale and
stochastic depth, Inception-ResNet's scaled residual sum, and Permute (ShuffleNet's channel
shuffle is Reshape -> Permute -> Reshape).
"""

from __future__ import annotations

from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.geometry import fmt_shape, need_rank
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, RFStep, keras_value


def _rf(shape: tuple[int, ...]) -> RFStep | None:
    return RFStep() if len(shape) == 3 else None


def group_norm_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    if s[-1] % p["groups"]:
        raise BlockProblem(f"{s[-1]} channels cannot be split into {p['groups']} equal groups",
                           param="groups")
    return Inference(s, params=s[-1] * (int(p["center"]) + int(p["scale"])), rf=_rf(s))


_SCALE_NOT_MACS = "a scale (and shift) per value; not counted as MACs"


def group_norm_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                       ) -> ex.Explanation:
    c = shapes[0][-1]
    n = int(p["center"]) + int(p["scale"])
    names = " and ".join(w for w, on in (("gamma", p["scale"]), ("beta", p["center"])) if on)
    params = (ex.Term(n * c, f"{n}*{c}", f"{names} per channel; the statistics are the "
                      "sample's own (nothing stored)") if n else
              ex.no_params("no learned scale or offset; the statistics are the sample's own"))
    return ex.Explanation(ex.passthrough(inf.shape), params, ex.no_macs(_SCALE_NOT_MACS),
                          notes=[f"normalized over {p['groups']} group(s) of "
                                 f"{c // p['groups']} channel(s) each, per sample"])


GROUP_NORM = BlockSpec(
    type="GroupNormalization", label="Group Norm", category="normalization",
    keras_class="GroupNormalization",
    params=(Param("groups", "int", 32, "Channel groups normalized together (1: layer norm over "
                  "H, W, C; C: instance norm).", minimum=1, maximum=1_000_000),
            cp.epsilon(),
            Param("center", "bool", True, "Learn an offset (beta)."),
            Param("scale", "bool", True, "Learn a scale (gamma).")),
    infer=group_norm_infer, explain=group_norm_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.GroupNormalization(
        groups=p["groups"], axis=-1, epsilon=p["epsilon"], center=p["center"], scale=p["scale"],
        name=ctx.name()))(inputs[0]),
    face=lambda p: f"{p['groups']} groups",
    help="Normalizes each sample over groups of channels: batch-size independent.")


def layer_scale_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    return Inference(s, params=s[-1], rf=_rf(s))


def layer_scale_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                        ) -> ex.Explanation:
    c = shapes[0][-1]
    return ex.Explanation(ex.passthrough(inf.shape),
                          ex.Term(c, f"1*{c}", "one learned scale per channel"),
                          ex.no_macs(_SCALE_NOT_MACS))


LAYER_SCALE = BlockSpec(
    type="LayerScale", label="Layer Scale", category="normalization", keras_class="LayerScale",
    params=(Param("init_values", "float", 1e-6, "Starting value of every channel's scale "
                  "(ConvNeXt: 1e-6, so a new block starts near the identity)."),),
    infer=layer_scale_infer, explain=layer_scale_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.custom.LayerScale(
        init_values=p["init_values"], name=ctx.name()))(inputs[0]),
    face=lambda p: f"init {p['init_values']:g}",
    help="Multiplies each channel by a learned scale (ConvNeXt's residual branches; the app's "
         "own Keras layer).")


def stochastic_depth_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    return Inference(s, rf=_rf(s))


def stochastic_depth_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    rank = len(inputs[0].shape)
    layer = ctx.L.Dropout(rate=p["rate"], noise_shape=(None,) + (1,) * (rank - 1),
                          name=ctx.name())
    return ctx.add(layer)(inputs[0])


def stochastic_depth_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                             ) -> ex.Explanation:
    return ex.Explanation(ex.passthrough(inf.shape), ex.no_params(),
                          ex.no_macs("a mask per sample while training; nothing at inference"),
                          notes=[f"while training, a sample's branch is dropped with probability "
                                 f"{p['rate']:g} (the kept ones are scaled by "
                                 f"1/(1 - {p['rate']:g}))"])


STOCHASTIC_DEPTH = BlockSpec(
    type="StochasticDepth", label="Stochastic Depth", category="regularization",
    training_behaviour="random",
    params=(Param("rate", "float", 0.1, "Probability that a sample skips the branch while "
                  "training.", minimum=0.0, maximum=1.0, exclusive_max=True),),
    infer=stochastic_depth_infer, build=stochastic_depth_build, explain=stochastic_depth_explain,
    face=lambda p: f"p={p['rate']:g}",
    help="Drops a residual branch for whole samples while training (drop path: EfficientNet, "
         "ConvNeXt); compiles to Keras Dropout with noise_shape (batch, 1, 1, 1).")


def scaled_add_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    a, b = shapes
    if a != b:
        raise BlockProblem(f"input shapes differ: input 1 is {fmt_shape(a)}, input 2 is "
                           f"{fmt_shape(b)}; the scaled sum needs equal shapes")
    return Inference(a, rf=_rf(a))


def scaled_add_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                       ) -> ex.Explanation:
    return ex.Explanation(ex.passthrough(inf.shape, "as each of its 2 inputs"), ex.no_params(),
                          ex.no_macs("one multiply-add per value; not counted"))


SCALED_ADD = BlockSpec(
    type="ScaledAdd", label="Scaled Add", category="merge", keras_class="ScaledAdd",
    params=(Param("scale", "float", 0.1, "Factor of the second input (the residual branch; "
                  "Inception-ResNet: 0.17, 0.1, 0.2)."),),
    infer=scaled_add_infer, explain=scaled_add_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.custom.ScaledAdd(
        scale=p["scale"], name=ctx.name()))(list(inputs)),
    min_inputs=2, max_inputs=2, face=lambda p: f"+ {p['scale']:g} x",
    help="input 1 + scale * input 2: Inception-ResNet's residual connection, whose branch is "
         "scaled down to keep training stable (the app's own Keras layer).")


def permute_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    dims = p["dims"]
    if sorted(dims) != list(range(1, len(s) + 1)):
        raise BlockProblem(f"dims {list(dims)} must order the axes 1..{len(s)} of the input "
                           f"{fmt_shape(s)} (each once; axis 0 is the batch)", param="dims")
    out = tuple(s[d - 1] for d in dims)
    return Inference(out, rf=_rf(out) if dims[-1] == len(s) and len(s) == 3 else None)


def permute_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                    ) -> ex.Explanation:
    (s,) = shapes
    names = ex.axis_names(len(s))
    axes = [ex.Term(s[d - 1], "", f"input axis {d} ({names[d - 1]})", name)
            for d, name in zip(p["dims"], ex.axis_names(len(inf.shape)), strict=True)]
    return ex.Explanation(axes, ex.no_params(), ex.no_macs("copies only"))


PERMUTE = BlockSpec(
    type="Permute", label="Permute", category="reshape", keras_class="Permute",
    params=(Param("dims", "int_list", [2, 1, 3], "The input axes in their new order, counted "
                  "from 1 (the batch axis stays first).", minimum=1, maximum=8),),
    infer=permute_infer, explain=permute_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Permute(dims=tuple(keras_value(p["dims"])),
                                                       name=ctx.name()))(inputs[0]),
    face=lambda p: ",".join(str(d) for d in p["dims"]),
    help="Reorders the axes: with Reshape before and after, ShuffleNet's channel shuffle.")



def channel_shuffle_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "ChannelShuffle")
    if s[-1] % p["groups"]:
        raise BlockProblem(f"{s[-1]} channels cannot be split into {p['groups']} equal groups",
                           param="groups")
    return Inference(s)


def channel_shuffle_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                            ) -> ex.Explanation:
    c, g = shapes[0][-1], p["groups"]
    return ex.Explanation(ex.passthrough(inf.shape), ex.no_params(), ex.no_macs("copies only"),
                          notes=[f"the {c} channels are read as {g} groups of {c // g} and "
                                 f"interleaved, so each next group sees every group"])


CHANNEL_SHUFFLE = BlockSpec(
    type="ChannelShuffle", label="Channel Shuffle", category="reshape",
    keras_class="ChannelShuffle",
    params=(Param("groups", "int", 3, "Groups of the grouped convolution before it.",
                  minimum=1, maximum=100_000),),
    infer=channel_shuffle_infer, explain=channel_shuffle_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.custom.ChannelShuffle(
        groups=p["groups"], name=ctx.name()))(inputs[0]),
    face=lambda p: f"{p['groups']} groups",
    help="ShuffleNet's channel shuffle: Reshape (H, W, g, C/g) -> Permute (swap the last two) "
         "-> Reshape (H, W, C) as one block that follows the input size (the app's own Keras "
         "layer).")

SPECS = (GROUP_NORM, LAYER_SCALE, STOCHASTIC_DEPTH, SCALED_ADD, PERMUTE, CHANNEL_SHUFFLE)
