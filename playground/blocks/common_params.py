"""Param declarations several blocks share, declared once."""

from __future__ import annotations

from playground.blocks.spec import PADDINGS, Param


def filters(default: int = 32) -> Param:
    return Param("filters", "int", default, "Number of output channels (feature maps).",
                 minimum=1, maximum=1_000_000)


def kernel_size(default: int = 3) -> Param:
    return Param("kernel_size", "pair", default, "Window size, an int or [height, width].",
                 minimum=1, maximum=10_000)


def strides(default: int | None = 1, nullable: bool = False) -> Param:
    return Param("strides", "pair", default,
                 "Step between windows, an int or [height, width]"
                 + ("; null means the pool size." if nullable else "."),
                 minimum=1, maximum=10_000, nullable=nullable)


def padding(default: str = "valid") -> Param:
    return Param("padding", "choice", default,
                 "\"valid\": no padding, the output shrinks; \"same\": zero-pad so that "
                 "output = ceil(input / stride).", choices=PADDINGS)


def dilation() -> Param:
    return Param("dilation_rate", "pair", 1, "Spacing between kernel taps (atrous convolution).",
                 minimum=1, maximum=1000)


def activation(default: str = "linear") -> Param:
    return Param("activation", "activation", default,
                 "Applied to the output; \"linear\" means none.")


def use_bias(default: bool = True) -> Param:
    return Param("use_bias", "bool", default,
                 "Add a learned bias per output channel (often off before BatchNorm).")


def rate(default: float = 0.5) -> Param:
    return Param("rate", "float", default, "Fraction of units dropped during training.",
                 minimum=0.0, maximum=1.0, exclusive_max=True)


def epsilon(default: float = 1e-3) -> Param:
    return Param("epsilon", "float", default, "Added to the variance to avoid dividing by zero.",
                 minimum=0.0, maximum=1.0)
