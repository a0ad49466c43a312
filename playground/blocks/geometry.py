"""Shape arithmetic shared by the spatial blocks, written to match Keras exactly."""

from __future__ import annotations

import math

from playground.blocks.spec import BlockProblem, Shape


def need_rank(in_shape: Shape, rank: int, block: str, what: str = "a H x W x C image tensor"
              ) -> None:
    if len(in_shape) != rank:
        fix = "insert_reshape" if rank == 3 else None
        raise BlockProblem(f"{block} needs {what}; its input has shape {fmt_shape(in_shape)}",
                           fix=fix)


def conv_length(n: int, k: int, s: int, padding: str, d: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis (Keras rules)."""
    span = (k - 1) * d + 1
    if padding == "same":
        return math.ceil(n / s)
    return (n - span) // s + 1


def transpose_length(n: int, k: int, s: int, padding: str, d: int = 1) -> int:
    """Keras' deconv_output_length with output_padding=None."""
    span = k + (k - 1) * (d - 1)
    if padding == "same":
        return n * s
    return n * s + max(span - s, 0)


def window_output(in_shape: Shape, kernel: tuple[int, int], strides: tuple[int, int],
                  padding: str, dilation: tuple[int, int] = (1, 1),
                  what: str = "kernel") -> tuple[int, int]:
    """Spatial output size; a window larger than its input is a problem with a quick fix."""
    h, w = in_shape[0], in_shape[1]
    out = []
    for n, k, s, d, axis in zip((h, w), kernel, strides, dilation, ("height", "width"),
                                strict=True):
        length = conv_length(n, k, s, padding, d)
        if length <= 0:
            span = (k - 1) * d + 1
            raise BlockProblem(
                f"{what} {kernel[0]}x{kernel[1]}"
                + (f" (dilated span {span})" if d > 1 else "")
                + f" is larger than its {h}x{w} input with padding \"valid\" (the {axis} "
                f"would shrink to {length}); use padding=\"same\" or a smaller {what}",
                param="kernel_size" if what == "kernel" else "pool_size", fix="padding_same",
                too_small=True)
        out.append(length)
    return out[0], out[1]


def fmt_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def fmt_pair(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}" if pair[0] != pair[1] else f"{pair[0]}x{pair[0]}"
