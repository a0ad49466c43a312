"""GoogLeNet's inception module as one composite block (1x1, 3x3, 5x5 and pool branches)."""

from __future__ import annotations

from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.composite import Tally
from playground.blocks.geometry import need_rank
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, RFStep


def _width(name: str, default: int, help_text: str) -> Param:
    return Param(name, "int", default, help_text, minimum=0, maximum=100_000)


PARAMS = (
    _width("f1x1", 64, "Filters of the 1x1 branch (0: no such branch)."),
    _width("f3x3_reduce", 96, "1x1 bottleneck before the 3x3 (0: none, the naive module)."),
    _width("f3x3", 128, "Filters of the 3x3 branch (0: no such branch)."),
    _width("f5x5_reduce", 16, "1x1 bottleneck before the 5x5 (0: none)."),
    _width("f5x5", 32, "Filters of the 5x5 branch (0: no such branch)."),
    _width("pool_proj", 32, "1x1 projection after the 3x3 max pool (0: pass the input "
           "channels through)."),
    Param("batch_norm", "bool", False, "Conv (no bias) + BatchNorm + activation in every "
          "branch (Inception v2 style) instead of conv with bias."),
    cp.activation("relu"),
)

BRANCHES = (("3x3", "f3x3_reduce", "f3x3", 3), ("5x5", "f5x5_reduce", "f5x5", 5))


def _conv(t: Tally, part: str, shape: tuple[int, ...], filters: int, k: int, bn: bool,
          act: str) -> tuple[int, ...]:
    shape = t.conv(part, shape, filters, k, 1, "same", bias=not bn)
    if bn:
        t.batch_norm(f"{part}_bn", shape)
        if act != "linear":
            t.layer(f"{part}_act", "Activation", shape)
    return shape


def inception_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "InceptionModule")
    t, bn, act = Tally(), p["batch_norm"], p["activation"]
    channels = 0
    widest = 1
    if p["f1x1"]:
        channels += _conv(t, "1x1", s, p["f1x1"], 1, bn, act)[2]
    for part, reduce_key, width_key, k in BRANCHES:
        if not p[width_key]:
            if p[reduce_key]:
                raise BlockProblem(f"{reduce_key} is {p[reduce_key]} but {width_key} is 0: "
                                   f"set {width_key} or set {reduce_key} to 0", param=reduce_key)
            continue
        shape = s
        if p[reduce_key]:
            shape = _conv(t, f"{part}_reduce", shape, p[reduce_key], 1, bn, act)
        channels += _conv(t, part, shape, p[width_key], k, bn, act)[2]
        widest = max(widest, k)
    t.layer("pool", "MaxPooling2D", s)
    widest = max(widest, 3)
    if p["pool_proj"]:
        channels += _conv(t, "pool_proj", s, p["pool_proj"], 1, bn, act)[2]
    else:
        channels += s[2]
    out = (s[0], s[1], channels)
    t.layer("concat", "Concatenate", out)
    depth = 2 if (p["f3x3_reduce"] or p["f5x5_reduce"] or p["pool_proj"]) else 1
    return t.result(out, RFStep((widest, widest), (1, 1)), depth)


def _branch(part: str) -> str:
    """Inner part -> branch: ``3x3_reduce_bn`` -> ``3x3``, ``pool_proj`` -> ``pool``."""
    return part.split("_")[0]


def inception_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                      ) -> ex.Explanation:
    (s,) = shapes
    widths = [(name, p[key]) for name, key in (("1x1", "f1x1"), ("3x3", "f3x3"),
                                               ("5x5", "f5x5"), ("pool", "pool_proj"))]
    parts, names = [], []
    for name, width in widths:
        if name == "pool":
            parts.append(width or s[2])
            names.append("pool projection" if width else "pool (input channels passed on)")
        elif width:
            parts.append(width)
            names.append(name)
    axes = ex.passthrough(inf.shape, 'every branch keeps the size ("same", stride 1)')[:2]
    axes.append(ex.channels(inf.shape[2], " + ".join(str(c) for c in parts),
                            "concatenated branches: " + " + ".join(names)))
    params, macs = ex.composite_sums(inf.inner, _branch)
    notes = ["each term is counted once, per branch (the per-layer table lists them)"]
    if not (p["f3x3_reduce"] or p["f5x5_reduce"]):
        notes.append("no 1x1 reductions: the 3x3 and 5x5 convolutions see all "
                     f"{s[2]} input channels (the naive module)")
    return ex.Explanation(axes, params, macs, branch_of=_branch, notes=notes)


def _build_conv(ctx: Any, x: Any, part: str, filters: int, k: int, bn: bool, act: str) -> Any:
    L = ctx.L
    x = ctx.add(L.Conv2D(filters, k, padding="same", use_bias=not bn,
                         activation=None if bn else act, name=ctx.name(part)))(x)
    if bn:
        x = ctx.add(L.BatchNormalization(name=ctx.name(f"{part}_bn")))(x)
        if act != "linear":
            x = ctx.add(L.Activation(act, name=ctx.name(f"{part}_act")))(x)
    return x


def inception_build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
    (x,) = inputs
    bn, act = p["batch_norm"], p["activation"]
    outs = []
    if p["f1x1"]:
        outs.append(_build_conv(ctx, x, "1x1", p["f1x1"], 1, bn, act))
    for part, reduce_key, width_key, k in BRANCHES:
        if not p[width_key]:
            continue
        y = x
        if p[reduce_key]:
            y = _build_conv(ctx, y, f"{part}_reduce", p[reduce_key], 1, bn, act)
        outs.append(_build_conv(ctx, y, part, p[width_key], k, bn, act))
    y = ctx.add(ctx.L.MaxPooling2D(3, strides=1, padding="same", name=ctx.name("pool")))(x)
    if p["pool_proj"]:
        y = _build_conv(ctx, y, "pool_proj", p["pool_proj"], 1, bn, act)
    outs.append(y)
    return ctx.add(ctx.L.Concatenate(axis=-1, name=ctx.name("concat")))(outs)


def inception_face(p: dict[str, Any]) -> str:
    def branch(reduce_key: str, width_key: str) -> str:
        if not p[width_key]:
            return "-"
        return f"{p[reduce_key]}>{p[width_key]}" if p[reduce_key] else str(p[width_key])
    pool = f"p{p['pool_proj']}" if p["pool_proj"] else "pool"
    return (f"{p['f1x1'] or '-'} | {branch('f3x3_reduce', 'f3x3')} | "
            f"{branch('f5x5_reduce', 'f5x5')} | {pool}")


INCEPTION = BlockSpec(
    type="InceptionModule", label="Inception Module", category="composite",
    params=PARAMS, infer=inception_infer, build=inception_build, face=inception_face,
    composite=True, explain=inception_explain,
    help="GoogLeNet's module: parallel 1x1, 3x3, 5x5 convolutions and 3x3 max pooling, "
         "concatenated; 1x1 'reduce' convolutions cut the cost of the 3x3 and 5x5.")

SPECS = (INCEPTION,)
