"""Convolution blocks: Conv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose."""

from __future__ import annotations

from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.geometry import (
    fmt_pair,
    need_rank,
    transpose_length,
    window_output,
)
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, RFStep, keras_value


def _no_stride_with_dilation(p: dict[str, Any]) -> None:
    """Conv2D and Conv2DTranspose only: Keras' constructors refuse the pair. Depthwise and
    separable convolutions take it (Keras >= 3.15 runs them dilated at stride 1, then subsamples),
    so their rules do not call this."""
    if max(p["strides"]) > 1 and max(p["dilation_rate"]) > 1:
        raise BlockProblem(f"strides {fmt_pair(p['strides'])} cannot be combined with "
                           f"dilation_rate {fmt_pair(p['dilation_rate'])} (Keras and TensorFlow "
                           "refuse strides > 1 with dilation > 1)", param="dilation_rate")


def conv_face(p: dict[str, Any]) -> str:
    parts = []
    if "filters" in p:
        parts.append(f"{p['filters']} @ {fmt_pair(p['kernel_size'])}")
    else:
        parts.append(f"dw {fmt_pair(p['kernel_size'])}")
    if max(p["strides"]) > 1:
        parts.append(f"/{p['strides'][0]}" if p["strides"][0] == p["strides"][1]
                     else f"/{fmt_pair(p['strides'])}")
    parts.append(p["padding"])
    if p.get("activation", "linear") != "linear":
        parts.append(p["activation"])
    return " ".join(parts)


def _rf(p: dict[str, Any]) -> RFStep:
    k = tuple((k - 1) * d + 1 for k, d in zip(p["kernel_size"], p["dilation_rate"], strict=True))
    return RFStep(k, p["strides"])  # type: ignore[arg-type]


# ------------------------------------------------------------------------- Conv2D
def conv2d_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "Conv2D")
    _no_stride_with_dilation(p)
    cin, groups = s[2], p["groups"]
    if cin % groups or p["filters"] % groups:
        raise BlockProblem(f"groups={groups} must divide both the input channels ({cin}) and "
                           f"filters ({p['filters']})", param="groups")
    h, w = window_output(s, p["kernel_size"], p["strides"], p["padding"], p["dilation_rate"])
    kh, kw = p["kernel_size"]
    f = p["filters"]
    weights = kh * kw * (cin // groups) * f + (f if p["use_bias"] else 0)
    macs = h * w * f * kh * kw * (cin // groups)
    return Inference((h, w, f), params=weights, macs=macs, rf=_rf(p))


def conv2d_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                   ) -> ex.Explanation:
    (s,) = shapes
    kh, kw = p["kernel_size"]
    f, cin, groups = p["filters"], s[2], p["groups"]
    axes = ex.window_axes(s, p["kernel_size"], p["strides"], p["padding"], p["dilation_rate"])
    h, w = int(axes[0].value), int(axes[1].value)
    return ex.Explanation(
        axes + [ex.channels(f, note="one feature map per filter")],
        ex.conv_params(kh, kw, cin, f, p["use_bias"], groups),
        ex.conv_macs(h, w, f, kh, kw, cin // groups))


def conv2d_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    layer = ctx.L.Conv2D(
        filters=p["filters"], kernel_size=keras_value(p["kernel_size"]),
        strides=keras_value(p["strides"]), padding=p["padding"],
        dilation_rate=keras_value(p["dilation_rate"]), groups=p["groups"],
        activation=p["activation"], use_bias=p["use_bias"], name=ctx.name())
    return ctx.add(layer)(inputs[0])


CONV2D = BlockSpec(
    type="Conv2D", label="Conv 2D", category="convolution", keras_class="Conv2D",
    natural_output=True, padding_fix=True, head_width_param="filters",
    params=(cp.filters(), cp.kernel_size(), cp.strides(), cp.padding(), cp.dilation(),
            Param("groups", "int", 1, "Split channels into independent groups.", minimum=1,
                  maximum=100_000),
            cp.activation(), cp.use_bias()),
    infer=conv2d_infer, build=conv2d_build, face=conv_face, explain=conv2d_explain,
    help="Slides learned kernels over the image; each filter produces one feature map.")


# --------------------------------------------------------------- DepthwiseConv2D
def depthwise_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "DepthwiseConv2D")
    h, w = window_output(s, p["kernel_size"], p["strides"], p["padding"], p["dilation_rate"])
    kh, kw = p["kernel_size"]
    out_c = s[2] * p["depth_multiplier"]
    weights = kh * kw * out_c + (out_c if p["use_bias"] else 0)
    return Inference((h, w, out_c), params=weights, macs=h * w * out_c * kh * kw, rf=_rf(p))


def depthwise_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                      ) -> ex.Explanation:
    (s,) = shapes
    kh, kw = p["kernel_size"]
    cin, m = s[2], p["depth_multiplier"]
    axes = ex.window_axes(s, p["kernel_size"], p["strides"], p["padding"], p["dilation_rate"])
    h, w = int(axes[0].value), int(axes[1].value)
    out_c = cin * m
    bias = p["use_bias"]
    params = ex.Term(kh * kw * out_c + (out_c if bias else 0),
                     f"({kh}*{kw} + 1) * {cin}*{m}" if bias else f"{kh}*{kw} * {cin}*{m}",
                     f"one {kh}x{kw} kernel" + (" and a bias" if bias else "")
                     + f" per input channel ({cin}) and multiplier ({m}); no channel mixing")
    macs = ex.Term(h * w * out_c * kh * kw, f"{h}*{w}*{cin}*{m} * {kh}*{kw}",
                   f"each output sees a {kh}x{kw} window of one channel only")
    return ex.Explanation(
        axes + [ex.channels(out_c, f"{cin}*{m}", "input channels x depth_multiplier")],
        params, macs)


def depthwise_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    layer = ctx.L.DepthwiseConv2D(
        kernel_size=keras_value(p["kernel_size"]), strides=keras_value(p["strides"]),
        padding=p["padding"], depth_multiplier=p["depth_multiplier"],
        dilation_rate=keras_value(p["dilation_rate"]), activation=p["activation"],
        use_bias=p["use_bias"], name=ctx.name())
    return ctx.add(layer)(inputs[0])


DEPTH_MULTIPLIER = Param("depth_multiplier", "int", 1, "Output channels per input channel.",
                         minimum=1, maximum=10_000)

DEPTHWISE = BlockSpec(
    type="DepthwiseConv2D", label="Depthwise Conv 2D", category="convolution",
    padding_fix=True,
    keras_class="DepthwiseConv2D",
    params=(cp.kernel_size(), cp.strides(), cp.padding(), DEPTH_MULTIPLIER, cp.dilation(),
            cp.activation(), cp.use_bias()),
    infer=depthwise_infer, build=depthwise_build, face=conv_face, explain=depthwise_explain,
    help="One kernel per input channel (MobileNet's spatial step).")


# --------------------------------------------------------------- SeparableConv2D
def separable_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "SeparableConv2D")
    h, w = window_output(s, p["kernel_size"], p["strides"], p["padding"], p["dilation_rate"])
    kh, kw = p["kernel_size"]
    mid = s[2] * p["depth_multiplier"]
    f = p["filters"]
    weights = kh * kw * mid + mid * f + (f if p["use_bias"] else 0)
    macs = h * w * mid * kh * kw + h * w * mid * f
    return Inference((h, w, f), params=weights, macs=macs, rf=_rf(p))


def separable_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                      ) -> ex.Explanation:
    (s,) = shapes
    kh, kw = p["kernel_size"]
    cin, m, f = s[2], p["depth_multiplier"], p["filters"]
    mid = cin * m
    axes = ex.window_axes(s, p["kernel_size"], p["strides"], p["padding"], p["dilation_rate"])
    h, w = int(axes[0].value), int(axes[1].value)
    bias = p["use_bias"]
    params = ex.Term(kh * kw * mid + mid * f + (f if bias else 0),
                     f"{kh}*{kw}*{mid} + {mid}*{f}" + (f" + {f}" if bias else ""),
                     f"depthwise {kh}x{kw} per channel ({mid}), then a 1x1 pointwise "
                     f"{mid} -> {f}" + (", then the biases" if bias else ""))
    macs = ex.Term(h * w * mid * kh * kw + h * w * mid * f,
                   f"{h}*{w}*{mid} * {kh}*{kw} + {h}*{w}*{f} * {mid}",
                   "the depthwise step plus the pointwise step")
    return ex.Explanation(axes + [ex.channels(f, note="filters of the pointwise step")],
                          params, macs)


def separable_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    layer = ctx.L.SeparableConv2D(
        filters=p["filters"], kernel_size=keras_value(p["kernel_size"]),
        strides=keras_value(p["strides"]), padding=p["padding"],
        depth_multiplier=p["depth_multiplier"], dilation_rate=keras_value(p["dilation_rate"]),
        activation=p["activation"], use_bias=p["use_bias"], name=ctx.name())
    return ctx.add(layer)(inputs[0])


SEPARABLE = BlockSpec(
    type="SeparableConv2D", label="Separable Conv 2D", category="convolution",
    padding_fix=True,
    keras_class="SeparableConv2D",
    params=(cp.filters(), cp.kernel_size(), cp.strides(), cp.padding(), DEPTH_MULTIPLIER,
            cp.dilation(), cp.activation(), cp.use_bias()),
    infer=separable_infer, build=separable_build, face=conv_face, explain=separable_explain,
    help="Depthwise then 1x1 pointwise convolution: far fewer weights than Conv2D.")


# --------------------------------------------------------------- Conv2DTranspose
def transpose_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "Conv2DTranspose")
    _no_stride_with_dilation(p)
    kh, kw = p["kernel_size"]
    (sh, sw), (dh, dw) = p["strides"], p["dilation_rate"]
    h = transpose_length(s[0], kh, sh, p["padding"], dh)
    w = transpose_length(s[1], kw, sw, p["padding"], dw)
    f, cin = p["filters"], s[2]
    weights = kh * kw * cin * f + (f if p["use_bias"] else 0)
    macs = s[0] * s[1] * cin * kh * kw * f
    rf = RFStep((1 + (kh - 1) / sh, 1 + (kw - 1) / sw), (1 / sh, 1 / sw))
    return Inference((h, w, f), params=weights, macs=macs, rf=rf)


def transpose_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                      ) -> ex.Explanation:
    (s,) = shapes
    kh, kw = p["kernel_size"]
    f, cin = p["filters"], s[2]
    axes = [ex.transpose_axis(name, n, k, st, p["padding"], d)
            for name, n, k, st, d in zip(("height", "width"), s[:2], p["kernel_size"],
                                         p["strides"], p["dilation_rate"], strict=True)]
    macs = ex.Term(s[0] * s[1] * cin * kh * kw * f, f"{s[0]}*{s[1]}*{cin} * {kh}*{kw}*{f}",
                   f"each of the {s[0]}x{s[1]}x{cin} inputs scatters into a {kh}x{kw}x{f} patch")
    return ex.Explanation(axes + [ex.channels(f, note="filters")],
                          ex.conv_params(kh, kw, cin, f, p["use_bias"]), macs)


def transpose_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    layer = ctx.L.Conv2DTranspose(
        filters=p["filters"], kernel_size=keras_value(p["kernel_size"]),
        strides=keras_value(p["strides"]), padding=p["padding"],
        dilation_rate=keras_value(p["dilation_rate"]), activation=p["activation"],
        use_bias=p["use_bias"], name=ctx.name())
    return ctx.add(layer)(inputs[0])


TRANSPOSE = BlockSpec(
    type="Conv2DTranspose", label="Transposed Conv 2D", category="convolution",
    natural_output=True, padding_fix=True,
    keras_class="Conv2DTranspose",
    params=(cp.filters(), cp.kernel_size(), cp.strides(), cp.padding(), cp.dilation(),
            cp.activation(), cp.use_bias()),
    infer=transpose_infer, build=transpose_build, face=conv_face, explain=transpose_explain,
    help="Learned upsampling (U-Net decoders): output = input x stride with \"same\".")

SPECS = (CONV2D, DEPTHWISE, SEPARABLE, TRANSPOSE)
