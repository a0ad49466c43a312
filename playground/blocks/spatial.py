"""Blocks that change the spatial size without learning: padding, cropping, resampling."""

from __future__ import annotations

from typing import Any

from playground.blocks import explain as ex
from playground.blocks.geometry import fmt_pair, need_rank
from playground.blocks.spec import BlockProblem, BlockSpec, Inference, Param, RFStep, keras_value


def _pad_face(pad: tuple[tuple[int, int], tuple[int, int]]) -> str:
    (top, bottom), (left, right) = pad
    if top == bottom == left == right:
        return str(top)
    if top == bottom and left == right:
        return f"{top}x{left}"
    return f"{top},{bottom},{left},{right}"


def zeropad_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "ZeroPadding2D")
    (top, bottom), (left, right) = p["padding"]
    return Inference((s[0] + top + bottom, s[1] + left + right, s[2]))


def _border_explain(sign: str, what: str, key: str):
    def explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                ) -> ex.Explanation:
        (s,) = shapes
        (top, bottom), (left, right) = p[key]
        axes = [ex.Term(inf.shape[0], f"{s[0]} {sign} {top} {sign} {bottom}",
                        f"{what} top and bottom", "height"),
                ex.Term(inf.shape[1], f"{s[1]} {sign} {left} {sign} {right}",
                        f"{what} left and right", "width"),
                ex.channels(s[2], note="as its input")]
        return ex.Explanation(axes, ex.no_params(), ex.no_macs())
    return explain


ZERO_PADDING = BlockSpec(
    type="ZeroPadding2D", label="Zero Padding 2D", category="reshape",
    keras_class="ZeroPadding2D",
    params=(Param("padding", "pad2", 1, "Zeros added: int, [h, w] or [[top, bottom], "
                  "[left, right]].", minimum=0, maximum=100_000),),
    infer=zeropad_infer, explain=_border_explain("+", "zeros added", "padding"),
    build=lambda ctx, p, inputs: ctx.add(ctx.L.ZeroPadding2D(
        padding=keras_value(p["padding"]), name=ctx.name()))(inputs[0]),
    face=lambda p: "pad " + _pad_face(p["padding"]),
    help="Adds rows and columns of zeros around the image.")


def crop_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "Cropping2D")
    (top, bottom), (left, right) = p["cropping"]
    h, w = s[0] - top - bottom, s[1] - left - right
    if h <= 0 or w <= 0:
        raise BlockProblem(f"cropping {top + bottom} rows and {left + right} columns from a "
                           f"{s[0]}x{s[1]} "
                           "input leaves nothing", param="cropping", too_small=True)
    return Inference((h, w, s[2]))


CROPPING = BlockSpec(
    type="Cropping2D", label="Cropping 2D", category="reshape", keras_class="Cropping2D",
    params=(Param("cropping", "pad2", 0, "Rows/columns removed: int, [h, w] or "
                  "[[top, bottom], [left, right]].", minimum=0, maximum=100_000),),
    infer=crop_infer, explain=_border_explain("-", "removed", "cropping"),
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Cropping2D(
        cropping=keras_value(p["cropping"]), name=ctx.name()))(inputs[0]),
    face=lambda p: "crop " + _pad_face(p["cropping"]),
    help="Removes rows and columns at the borders (U-Net skip alignment).")


def upsample_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "UpSampling2D")
    sh, sw = p["size"]
    return Inference((s[0] * sh, s[1] * sw, s[2]), rf=RFStep((1, 1), (1 / sh, 1 / sw)))


def upsample_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                     ) -> ex.Explanation:
    (s,) = shapes
    sh, sw = p["size"]
    axes = [ex.Term(s[0] * sh, f"{s[0]}*{sh}", "size", "height"),
            ex.Term(s[1] * sw, f"{s[1]}*{sw}", "size", "width"),
            ex.channels(s[2], note="as its input")]
    return ex.Explanation(axes, ex.no_params(), ex.no_macs())


def resize_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                   ) -> ex.Explanation:
    (s,) = shapes
    axes = ex.given(inf.shape, ["the height param", "the width param", "as its input"])
    return ex.Explanation(axes, ex.no_params(),
                          ex.no_macs(f"{p['interpolation']} resampling; not counted"))


INTERPOLATION = ("nearest", "bilinear")

UPSAMPLING = BlockSpec(
    type="UpSampling2D", label="Up Sampling 2D", category="reshape",
    keras_class="UpSampling2D",
    params=(Param("size", "pair", 2, "Repeat factor, an int or [height, width].", minimum=1,
                  maximum=1000),
            Param("interpolation", "choice", "nearest", "How new pixels are filled.",
                  choices=INTERPOLATION)),
    infer=upsample_infer, explain=upsample_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.UpSampling2D(
        size=keras_value(p["size"]), interpolation=p["interpolation"], name=ctx.name()))(
        inputs[0]),
    face=lambda p: f"x{fmt_pair(p['size'])} {p['interpolation']}",
    help="Enlarges the feature maps by repeating (or interpolating) pixels.")


def resize_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "Resizing")
    rf = RFStep((1, 1), (s[0] / p["height"], s[1] / p["width"]))
    return Inference((p["height"], p["width"], s[2]), rf=rf)


RESIZE_MODES = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")

RESIZING = BlockSpec(
    type="Resizing", label="Resizing", category="reshape", keras_class="Resizing",
    params=(Param("height", "int", 224, "Output height.", minimum=1, maximum=100_000),
            Param("width", "int", 224, "Output width.", minimum=1, maximum=100_000),
            Param("interpolation", "choice", "bilinear", "Resampling method.",
                  choices=RESIZE_MODES),
            Param("crop_to_aspect_ratio", "bool", False,
                  "Crop instead of distorting when the aspect ratio changes.")),
    infer=resize_infer, explain=resize_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.Resizing(
        height=p["height"], width=p["width"], interpolation=p["interpolation"],
        crop_to_aspect_ratio=p["crop_to_aspect_ratio"], name=ctx.name()))(inputs[0]),
    face=lambda p: f"{p['height']}x{p['width']} {p['interpolation']}",
    help="Resamples the image to a fixed size inside the model.")

SPECS = (ZERO_PADDING, CROPPING, UPSAMPLING, RESIZING)
