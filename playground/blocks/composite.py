"""Bookkeeping shared by composite blocks: per-inner-layer shapes, weights and MACs."""

from __future__ import annotations

import math

from playground.blocks.spec import Inference, InnerLayer, RFStep, Shape


class Tally:
    """Collects a composite's inner layers as its shape rule walks through them."""

    def __init__(self) -> None:
        self.inner: list[InnerLayer] = []

    def layer(self, part: str, type_name: str, shape: Shape, params: int = 0,
              fixed: int = 0, macs: int = 0, params_formula: str = "",
              macs_formula: str = "") -> Shape:
        self.inner.append(InnerLayer(part, type_name, shape, params, fixed, macs,
                                     params_formula, macs_formula))
        return shape

    def conv(self, part: str, in_shape: Shape, filters: int, kernel: int, stride: int,
             padding: str, bias: bool) -> Shape:
        h, w, cin = in_shape
        if padding == "same":
            oh, ow = math.ceil(h / stride), math.ceil(w / stride)
        else:
            oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
        weights = kernel * kernel * cin * filters + (filters if bias else 0)
        kin = f"{kernel}*{kernel}*{cin}"
        return self.layer(part, "Conv2D", (oh, ow, filters), weights,
                          macs=oh * ow * filters * kernel * kernel * cin,
                          params_formula=f"({kin} + 1) * {filters}" if bias
                          else f"{kin} * {filters}",
                          macs_formula=f"{oh}*{ow}*{filters} * {kin}")

    def batch_norm(self, part: str, shape: Shape, center_scale: bool = True) -> Shape:
        c = shape[-1]
        return self.layer(part, "BatchNormalization", shape, 2 * c if center_scale else 0, 2 * c,
                          params_formula=f"2*{c} + 2*{c}" if center_scale else f"2*{c}")

    def result(self, shape: Shape, rf: RFStep | None, depth: int) -> Inference:
        return Inference(
            shape,
            params=sum(i.params for i in self.inner),
            fixed_params=sum(i.fixed_params for i in self.inner),
            macs=sum(i.macs for i in self.inner),
            rf=rf,
            activations=sum(math.prod(i.shape) for i in self.inner),
            inner=self.inner,
            depth=depth)
