"""GoogLeNet's inception module as one composite block (1x1, 3x3, 5x5 and pool branches).

Described once, as a plan of catalogue primitives (:mod:`playground.blocks.composite`): the
checker, the compiler and "Expand into layers" all run :func:`inception_plan`.
"""

from __future__ import annotations

from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.composite import INPUT, Plan, plan_build, plan_infer
from playground.blocks.geometry import need_rank
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, Shape


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


def inception_plan(p: dict[str, Any], in_shape: Shape) -> Plan:
    """The module's layers: each branch's convolutions, the 3x3 max pool, the concatenation."""
    need_rank(in_shape, 3, "InceptionModule")
    plan = Plan()
    bn, act = p["batch_norm"], p["activation"]

    def conv(part: str, src: str, filters: int, k: int) -> str:
        if not bn:
            return plan.add(part, "Conv2D", {"filters": filters, "kernel_size": k,
                                             "padding": "same", "activation": act}, src)
        out = plan.add(part, "Conv2D", {"filters": filters, "kernel_size": k,
                                        "padding": "same", "use_bias": False}, src)
        out = plan.add(f"{part}_bn", "BatchNormalization", {}, out)
        if act != "linear":
            out = plan.add(f"{part}_act", "Activation", {"activation": act}, out)
        return out

    branches = []
    if p["f1x1"]:
        branches.append(conv("1x1", INPUT, p["f1x1"], 1))
    for part, reduce_key, width_key, k in BRANCHES:
        if not p[width_key]:
            if p[reduce_key]:
                raise BlockProblem(f"{reduce_key} is {p[reduce_key]} but {width_key} is 0: "
                                   f"set {width_key} or set {reduce_key} to 0", param=reduce_key)
            continue
        src = INPUT
        if p[reduce_key]:
            src = conv(f"{part}_reduce", src, p[reduce_key], 1)
        branches.append(conv(part, src, p[width_key], k))
    pool = plan.add("pool", "MaxPooling2D", {"pool_size": 3, "strides": 1, "padding": "same"},
                    INPUT)
    if p["pool_proj"]:
        pool = conv("pool_proj", pool, p["pool_proj"], 1)
    branches.append(pool)
    plan.output = plan.add("concat", "Concatenate", {}, *branches)
    return plan


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


def inception_face(p: dict[str, Any]) -> str:
    def branch(reduce_key: str, width_key: str) -> str:
        if not p[width_key]:
            return "-"
        return f"{p[reduce_key]}>{p[width_key]}" if p[reduce_key] else str(p[width_key])
    pool = f"p{p['pool_proj']}" if p["pool_proj"] else "pool"
    return (f"{p['f1x1'] or '-'} | {branch('f3x3_reduce', 'f3x3')} | "
            f"{branch('f5x5_reduce', 'f5x5')} | {pool}")


# Sample configurations whose inner layers, together, show every part (docs/FORMAT.md).
DOC_SAMPLES = (
    ("defaults (every branch, with reductions)", {}, (28, 28, 192)),
    ("`batch_norm: true`", {"batch_norm": True}, (28, 28, 192)),
    ("naive (`*_reduce` and `pool_proj` 0)",
     {"f3x3_reduce": 0, "f5x5_reduce": 0, "pool_proj": 0}, (28, 28, 192)),
)


INCEPTION = BlockSpec(
    type="InceptionModule", label="Inception Module", category="composite",
    natural_output=True, doc_samples=DOC_SAMPLES,
    params=PARAMS, infer=plan_infer(inception_plan), build=plan_build(inception_plan),
    face=inception_face, composite=True, plan=inception_plan, explain=inception_explain,
    help="GoogLeNet's module: parallel 1x1, 3x3, 5x5 convolutions and 3x3 max pooling, "
         "concatenated; 1x1 'reduce' convolutions cut the cost of the 3x3 and 5x5.")

SPECS = (INCEPTION,)
