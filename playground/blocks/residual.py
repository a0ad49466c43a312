"""ResNet's residual block as one composite (basic or bottleneck; option A or B shortcuts).

Described once, as a plan of catalogue primitives (:mod:`playground.blocks.composite`): the
checker, the compiler and "Expand into layers" all run :func:`residual_plan`. Inner layer names
follow keras.applications' ResNet (``<id>_1_conv``, ``<id>_0_bn``,
``<id>_add``, ``<id>_out``) so that weights of Keras' own ResNet load by name into a preset whose
node ids are Keras' block names (``conv2_block1``).
"""

from __future__ import annotations

import math
from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.composite import INPUT, Plan, plan_build, plan_infer
from playground.blocks.geometry import need_rank
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, Shape

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


def residual_plan(p: dict[str, Any], in_shape: Shape) -> Plan:
    """The main path (conv, BN, ReLU per step), the shortcut where the shape changes (a
    projection, or option A's subsample and zero channels), the sum and the last ReLU."""
    need_rank(in_shape, 3, "ResidualBlock")
    plan = Plan()
    bias, act, eps = p["use_bias"], p["activation"], p["epsilon"]
    filters, cout, stride = p["filters"], out_channels(p), p["strides"]
    widths = [filters, filters] if p["kind"] == "basic" else [filters, filters, cout]
    main = INPUT
    for i, ((k, step), width) in enumerate(zip(_steps(p), widths, strict=True), start=1):
        main = plan.add(f"{i}_conv", "Conv2D", {"filters": width, "kernel_size": k,
                                                "strides": step, "padding": "same",
                                                "use_bias": bias}, main)
        main = plan.add(f"{i}_bn", "BatchNormalization", {"epsilon": eps}, main)
        if i < len(widths):
            main = plan.add(f"{i}_relu", "Activation", {"activation": act}, main)
    short = INPUT
    out_shape = (math.ceil(in_shape[0] / stride), math.ceil(in_shape[1] / stride), cout)
    if out_shape != tuple(in_shape):
        if p["shortcut"] == "projection":
            short = plan.add("0_conv", "Conv2D", {"filters": cout, "kernel_size": 1,
                                                  "strides": stride, "use_bias": bias}, INPUT)
            short = plan.add("0_bn", "BatchNormalization", {"epsilon": eps}, short)
        else:
            if cout < in_shape[2]:
                raise BlockProblem(f"a zero_pad shortcut cannot shrink {in_shape[2]} channels "
                                   f"to {cout}; use shortcut \"projection\"", param="shortcut")
            if stride > 1:
                short = plan.add("0_pool", "MaxPooling2D", {"pool_size": 1, "strides": stride,
                                                            "padding": "same"}, short)
            # A pad of 0 when only the size changes, so the layer names stay the same.
            short = plan.add("0_pad", "ZeroPadChannels", {"pad": cout - in_shape[2]}, short)
    add = plan.add("add", "Add", {}, short, main)
    plan.output = plan.add("out", "Activation", {"activation": act}, add)
    return plan


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


def residual_face(p: dict[str, Any]) -> str:
    text = f"{p['kind']} {p['filters']}"
    if p["kind"] == "bottleneck":
        text += f">{out_channels(p)}"
    if p["strides"] > 1:
        text += f" /{p['strides']}"
    return text + (" proj" if p["shortcut"] == "projection" else " pad")


# Sample configurations whose inner layers, together, show every part (docs/FORMAT.md).
DOC_SAMPLES = (
    ("basic, same shape (identity shortcut)", {"filters": 64}, (56, 56, 64)),
    ("basic, `strides: 2`, projection shortcut",
     {"filters": 128, "strides": 2}, (56, 56, 64)),
    ("basic, `strides: 2`, zero_pad shortcut",
     {"filters": 128, "strides": 2, "shortcut": "zero_pad"}, (56, 56, 64)),
    ("bottleneck, projection shortcut",
     {"filters": 64, "kind": "bottleneck"}, (56, 56, 64)),
)


RESIDUAL = BlockSpec(
    type="ResidualBlock", label="Residual Block", category="composite",
    natural_output=True, doc_samples=DOC_SAMPLES,
    params=PARAMS, infer=plan_infer(residual_plan), build=plan_build(residual_plan),
    face=residual_face, composite=True, plan=residual_plan, explain=residual_explain,
    help="ResNet's block: the layers learn a residual F(x) that is added to the input x "
         "(shortcut), so extra depth starts as the identity.")

SPECS = (RESIDUAL,)
