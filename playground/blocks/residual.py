"""ResNet's residual block as one composite (basic or bottleneck; option A or B shortcuts).

Inner layer names follow keras.applications' ResNet (``<id>_1_conv``, ``<id>_0_bn``,
``<id>_add``, ``<id>_out``) so that weights of Keras' own ResNet load by name into a preset whose
node ids are Keras' block names (``conv2_block1``).
"""

from __future__ import annotations

import math
from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.composite import Tally
from playground.blocks.geometry import need_rank
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, RFStep

EXPANSION = 4

PARAMS = (
    cp.filters(64),
    Param("strides", "int", 1, "Stride of the block (2 halves the size, as each ResNet stage "
          "begins).", minimum=1, maximum=64),
    Param("kind", "choice", "basic", "\"basic\": two 3x3 convs (ResNet-18/34); \"bottleneck\": "
          "1x1, 3x3, 1x1 with 4x filters out (ResNet-50 and deeper).",
          choices=("basic", "bottleneck")),
    Param("shortcut", "choice", "projection", "Where the shape changes: \"projection\" 1x1 conv + "
          "BN (option B) or \"zero_pad\" subsample and pad channels with zeros (option A).",
          choices=("projection", "zero_pad")),
    Param("stride_on", "choice", "1x1", "Bottleneck only: stride on the first 1x1 (paper, "
          "Keras) or on the 3x3 (torchvision's ResNet v1.5).", choices=("1x1", "3x3")),
    Param("use_bias", "bool", False, "Biases in the convolutions (Keras' ResNet has them; "
          "torchvision's has not)."),
    cp.epsilon(1e-5),
    cp.activation("relu"),
)


def out_channels(p: dict[str, Any]) -> int:
    return p["filters"] * (EXPANSION if p["kind"] == "bottleneck" else 1)


def _steps(p: dict[str, Any]) -> list[tuple[int, int]]:
    """(kernel, stride) of the main path's convolutions."""
    s = p["strides"]
    if p["kind"] == "basic":
        return [(3, s), (3, 1)]
    if p["stride_on"] == "1x1":
        return [(1, s), (3, 1), (1, 1)]
    return [(1, 1), (3, s), (1, 1)]


def residual_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "ResidualBlock")
    t, bias = Tally(), p["use_bias"]
    filters, cout = p["filters"], out_channels(p)
    widths = [filters, filters] if p["kind"] == "basic" else [filters, filters, cout]
    x = s
    rf = RFStep()
    for i, ((k, stride), width) in enumerate(zip(_steps(p), widths, strict=True), start=1):
        x = t.conv(f"{i}_conv", x, width, k, stride, "same", bias)
        t.batch_norm(f"{i}_bn", x)
        if i < len(widths):
            t.layer(f"{i}_relu", "Activation", x)
        rf = rf.then(RFStep((k, k), (stride, stride)))
    out = x
    if out != s:
        if p["shortcut"] == "projection":
            short = t.conv("0_conv", s, cout, 1, p["strides"], "same", bias)
            t.batch_norm("0_bn", short)
        else:
            if cout < s[2]:
                raise BlockProblem(f"a zero_pad shortcut cannot shrink {s[2]} channels to "
                                   f"{cout}; use shortcut \"projection\"", param="shortcut")
            sub = (math.ceil(s[0] / p["strides"]), math.ceil(s[1] / p["strides"]), s[2])
            if p["strides"] > 1:
                t.layer("0_pool", "MaxPooling2D", sub)
            short = t.layer("0_pad", "ZeroPadChannels", (sub[0], sub[1], cout))
        if short != out:
            raise BlockProblem(f"shortcut shape {short} does not match {out}")
    t.layer("add", "Add", out)
    t.layer("out", "Activation", out)
    return t.result(out, rf, len(widths))


def _branch(part: str) -> str:
    head = part.split("_")[0]
    if head == "0":
        return "shortcut"
    return "main" if head.isdigit() else "merge"


def residual_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                     ) -> ex.Explanation:
    (s,) = shapes
    st = p["strides"]
    if st > 1:
        axes = [ex.Term(d, f"ceil({n} / {st})", f'stride {st}, "same" padding', name)
                for d, n, name in zip(inf.shape[:2], s[:2], ("height", "width"), strict=True)]
    else:
        axes = ex.passthrough(inf.shape, 'stride 1, "same" padding')[:2]
    cout = inf.shape[2]
    axes.append(ex.channels(cout, f"4*{p['filters']}" if p["kind"] == "bottleneck" else "",
                            "4 x filters (bottleneck)" if p["kind"] == "bottleneck"
                            else "filters"))
    params, macs = ex.composite_sums(inf.inner, _branch)
    if any(_branch(layer.name) == "shortcut" for layer in inf.inner):
        shortcut = ("a 1x1 projection conv + BN (option B)" if p["shortcut"] == "projection"
                    else "subsampling and zero channels (option A, no weights)")
        notes = [f"the shape changes from {tuple(s)} to {tuple(inf.shape)}: the shortcut is "
                 + shortcut]
    else:
        notes = ["the shortcut is the identity: the input is added as it is"]
    return ex.Explanation(axes, params, macs, branch_of=_branch, notes=notes)


def residual_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    (x,) = inputs
    L, bias, act, eps = ctx.L, p["use_bias"], p["activation"], p["epsilon"]
    cout = out_channels(p)
    widths = [p["filters"]] * 2 if p["kind"] == "basic" else [p["filters"]] * 2 + [cout]
    y = x
    for i, ((k, stride), width) in enumerate(zip(_steps(p), widths, strict=True), start=1):
        y = ctx.add(L.Conv2D(width, k, strides=stride, padding="same", use_bias=bias,
                             name=ctx.name(f"{i}_conv")))(y)
        y = ctx.add(L.BatchNormalization(epsilon=eps, name=ctx.name(f"{i}_bn")))(y)
        if i < len(widths):
            y = ctx.add(L.Activation(act, name=ctx.name(f"{i}_relu")))(y)
    in_shape = tuple(x.shape[1:])
    if tuple(y.shape[1:]) != in_shape:
        if p["shortcut"] == "projection":
            x = ctx.add(L.Conv2D(cout, 1, strides=p["strides"], use_bias=bias,
                                 name=ctx.name("0_conv")))(x)
            x = ctx.add(L.BatchNormalization(epsilon=eps, name=ctx.name("0_bn")))(x)
        else:
            if p["strides"] > 1:
                x = ctx.add(L.MaxPooling2D(1, strides=p["strides"], padding="same",
                                           name=ctx.name("0_pool")))(x)
            x = ctx.add(ctx.custom.ZeroPadChannels(cout - in_shape[2],
                                                   name=ctx.name("0_pad")))(x)
    y = ctx.add(L.Add(name=ctx.name("add")))([x, y])
    return ctx.add(L.Activation(act, name=ctx.name("out")))(y)


def residual_face(p: dict[str, Any]) -> str:
    text = f"{p['kind']} {p['filters']}"
    if p["kind"] == "bottleneck":
        text += f">{out_channels(p)}"
    if p["strides"] > 1:
        text += f" /{p['strides']}"
    return text + (" proj" if p["shortcut"] == "projection" else " pad")


RESIDUAL = BlockSpec(
    type="ResidualBlock", label="Residual Block", category="composite",
    params=PARAMS, infer=residual_infer, build=residual_build, face=residual_face,
    composite=True, explain=residual_explain,
    help="ResNet's block: the layers learn a residual F(x) that is added to the input x "
         "(shortcut), so extra depth starts as the identity.")

SPECS = (RESIDUAL,)
