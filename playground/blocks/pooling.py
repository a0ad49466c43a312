"""Pooling blocks: windowed max/average and global pooling."""

from __future__ import annotations

from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.geometry import fmt_pair, need_rank, window_output
from playground.blocks.spec import BlockSpec, Inference, Param, RFStep, keras_value

POOL_SIZE = Param("pool_size", "pair", 2, "Window size, an int or [height, width].",
                  minimum=1, maximum=10_000)


def _strides(p: dict[str, Any]) -> tuple[int, int]:
    return p["strides"] if p["strides"] is not None else p["pool_size"]


def pool_face(p: dict[str, Any]) -> str:
    s = _strides(p)
    text = fmt_pair(p["pool_size"])
    if s != (1, 1):
        text += f" /{s[0]}" if s[0] == s[1] else f" /{fmt_pair(s)}"
    return f"{text} {p['padding']}"


def pool_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "Pooling")
    strides = _strides(p)
    h, w = window_output(s, p["pool_size"], strides, p["padding"], what="pool window")
    return Inference((h, w, s[2]), rf=RFStep(p["pool_size"], strides))


def pool_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                 ) -> ex.Explanation:
    (s,) = shapes
    axes = ex.window_axes(s, p["pool_size"], _strides(p), p["padding"], what="window")
    notes = [] if p["strides"] is not None else ["strides default to the pool size"]
    return ex.Explanation(axes + [ex.channels(s[2], note="each channel pooled on its own")],
                          ex.no_params(), ex.no_macs(), notes=notes)


def _pool_builder(class_name: str):
    def build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
        cls = getattr(ctx.L, class_name)  # class_name is one of ours, never user input
        layer = cls(pool_size=keras_value(p["pool_size"]),
                    strides=keras_value(p["strides"]) if p["strides"] is not None else None,
                    padding=p["padding"], name=ctx.name())
        return ctx.add(layer)(inputs[0])
    return build


def _pool_spec(type_name: str, label: str, help_text: str) -> BlockSpec:
    return BlockSpec(
        type=type_name, label=label, category="pooling", keras_class=type_name,
        padding_fix=True,
        params=(POOL_SIZE, cp.strides(None, nullable=True), cp.padding()),
        infer=pool_infer, build=_pool_builder(type_name), face=pool_face, help=help_text,
        explain=pool_explain)


MAX_POOL = _pool_spec("MaxPooling2D", "Max Pool 2D",
                      "Keeps the largest value of each window; halves the size at 2x2 /2.")
AVG_POOL = _pool_spec("AveragePooling2D", "Average Pool 2D",
                      "Averages each window (LeNet-5's subsampling).")


def global_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "Global pooling")
    if p["keepdims"]:
        return Inference((1, 1, s[2]), rf=RFStep((s[0], s[1]), (s[0], s[1])))
    return Inference((s[2],), rf=None)


def global_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                   ) -> ex.Explanation:
    (s,) = shapes
    what = f"each {s[0]}x{s[1]} map becomes one value"
    if p["keepdims"]:
        axes = ex.given(inf.shape, ["keepdims", "keepdims", what])
    else:
        axes = [ex.Term(s[2], "", what, "features")]
    return ex.Explanation(axes, ex.no_params(), ex.no_macs())


def _global_builder(class_name: str):
    def build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
        layer = getattr(ctx.L, class_name)(keepdims=p["keepdims"], name=ctx.name())
        return ctx.add(layer)(inputs[0])
    return build


KEEPDIMS = Param("keepdims", "bool", False, "Keep a 1x1 spatial size instead of a flat vector.")

GLOBAL_AVG = BlockSpec(
    type="GlobalAveragePooling2D", label="Global Average Pool", category="pooling",
    keras_class="GlobalAveragePooling2D", params=(KEEPDIMS,), infer=global_infer,
    build=_global_builder("GlobalAveragePooling2D"), explain=global_explain,
    face=lambda p: "keepdims" if p["keepdims"] else "",
    help="Averages each feature map to one value: the head of GoogLeNet and ResNet.")
GLOBAL_MAX = BlockSpec(
    type="GlobalMaxPooling2D", label="Global Max Pool", category="pooling",
    keras_class="GlobalMaxPooling2D", params=(KEEPDIMS,), infer=global_infer,
    build=_global_builder("GlobalMaxPooling2D"), explain=global_explain,
    face=lambda p: "keepdims" if p["keepdims"] else "",
    help="Keeps the largest value of each feature map.")

SPECS = (MAX_POOL, AVG_POOL, GLOBAL_AVG, GLOBAL_MAX)
