"""Composite blocks, each described once: a plan of catalogue primitives.

A composite (InceptionModule, ResidualBlock) is one function ``plan(values, in_shape) -> Plan``
that lists its inner layers as catalogue primitives (part name, block type, params, inputs). That
single description is run three ways, so the three can never disagree:

- the shape checker (:func:`plan_infer`) runs each primitive's own shape rule along the plan and
  tallies its shapes, weights, MACs, receptive field and depth (the per-layer table of a
  composite, ``Inference.inner``, is the plan's layers in order, each with the arithmetic of its
  primitive's own explain rule);
- the compiler (:func:`plan_build`) runs each primitive's own Keras builder, naming the layer
  ``<id>_<part>`` (Keras' own naming for pretrained weights: ``conv2_block1_1_conv``);
- "Expand into layers" (``core.expand``) turns the plan into graph nodes with those same ids.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playground.blocks.spec import (
    IDENTITY_RF,
    BlockProblem,
    Inference,
    InnerLayer,
    RFStep,
    Shape,
    resolve_params,
)

INPUT = "<input>"  # stands for the composite's (single) input in a plan


@dataclass(frozen=True)
class PlanNode:
    part: str                    # the inner layer is named ``<id>_<part>``
    type: str                    # a primitive catalogue block type
    params: dict[str, Any]
    inputs: tuple[str, ...]      # parts (or INPUT), in input order


@dataclass
class Plan:
    """Inner layers in build order; ``output`` is the part whose result leaves the composite."""

    nodes: list[PlanNode] = field(default_factory=list)
    output: str = ""

    def add(self, part: str, type_name: str, params: dict[str, Any], *inputs: str) -> str:
        self.nodes.append(PlanNode(part, type_name, dict(params), tuple(inputs)))
        return part

    @property
    def edges(self) -> list[tuple[str, str]]:
        """(source part, destination part) in input order of each destination."""
        return [(src, node.part) for node in self.nodes for src in node.inputs]


PlanFn = Callable[[dict[str, Any], Shape], Plan]


def _spec_and_values(node: PlanNode) -> tuple[Any, dict[str, Any]]:
    from playground.blocks import get_spec

    spec = get_spec(node.type)
    if spec is None or spec.plan is not None:
        raise BlockProblem(f"inner layer {node.part}: {node.type} is not a primitive block")
    values, problems = resolve_params(spec, node.params)
    if problems:
        raise BlockProblem(f"inner layer {node.part}: {problems[0]}")
    return spec, values


def _formulas(spec: Any, values: dict[str, Any], shapes: list[Shape], inf: Inference
              ) -> tuple[str, str]:
    """An inner layer's weights and MACs arithmetic, from its primitive's own explain rule (the
    per-layer table of ``explain``); "" where a count is simply 0 or the rule is missing."""
    if spec.explain is None:
        return "", ""
    try:
        explained = spec.explain(values, shapes, inf)
    except Exception:  # noqa: BLE001 - an explanation must never break the shape check
        return "", ""
    return explained.params.formula, explained.macs.formula


def plan_infer(plan_fn: PlanFn) -> Callable[[dict[str, Any], list[Shape]], Inference]:
    """The composite's shape rule: its primitives' own rules, run along the plan."""

    def infer(p: dict[str, Any], shapes: list[Shape]) -> Inference:
        (in_shape,) = shapes
        plan = plan_fn(p, in_shape)
        out_shapes: dict[str, Shape] = {INPUT: in_shape}
        rfs: dict[str, RFStep] = {INPUT: IDENTITY_RF}
        depths: dict[str, int] = {INPUT: 0}
        inner: list[InnerLayer] = []
        for node in plan.nodes:
            spec, values = _spec_and_values(node)
            try:
                inf = spec.infer(values, [out_shapes[i] for i in node.inputs])
            except BlockProblem as exc:
                raise BlockProblem(f"inner layer {node.part} ({node.type}): {exc}",
                                   too_small=exc.too_small) from exc
            out_shapes[node.part] = inf.shape
            rf_in = RFStep.widest([rfs[i] for i in node.inputs])
            rfs[node.part] = rf_in.then(inf.rf) if inf.rf is not None else rf_in
            depths[node.part] = max(depths[i] for i in node.inputs) + (inf.depth or 0)
            params_formula, macs_formula = _formulas(spec, values,
                                                     [out_shapes[i] for i in node.inputs], inf)
            inner.append(InnerLayer(node.part, node.type, inf.shape, inf.params,
                                    inf.fixed_params, inf.macs, params_formula, macs_formula))
        out = out_shapes[plan.output]
        return Inference(
            out,
            params=sum(i.params for i in inner),
            fixed_params=sum(i.fixed_params for i in inner),
            macs=sum(i.macs for i in inner),
            rf=rfs[plan.output] if len(out) == 3 else None,
            activations=sum(math.prod(i.shape) for i in inner),
            inner=inner,
            depth=depths[plan.output])

    return infer


class _PartContext:
    """The compiler's build context, seen by one inner primitive: its layer is ``<id>_<part>``."""

    def __init__(self, ctx: Any, part: str) -> None:
        self._ctx, self._part = ctx, part
        self.L, self.custom = ctx.L, ctx.custom
        self.node_id = ctx.name(part)

    def name(self, part: str | None = None) -> str:
        return self._ctx.name(self._part if part is None else f"{self._part}_{part}")

    def add(self, layer: Any) -> Any:
        return self._ctx.add(layer)


def plan_build(plan_fn: PlanFn) -> Callable[[Any, dict[str, Any], list[Any]], Any]:
    """The composite's Keras builder: its primitives' own builders, run along the plan."""

    def build(ctx: Any, p: dict[str, Any], inputs: list[Any]) -> Any:
        (x,) = inputs
        plan = plan_fn(p, tuple(int(d) for d in x.shape[1:]))
        tensors: dict[str, Any] = {INPUT: x}
        for node in plan.nodes:
            spec, values = _spec_and_values(node)
            tensors[node.part] = spec.build(_PartContext(ctx, node.part), values,
                                            [tensors[i] for i in node.inputs])
        return tensors[plan.output]

    return build
