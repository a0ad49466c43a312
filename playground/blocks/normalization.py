"""Normalization blocks: BatchNorm, LayerNorm and AlexNet-era local response normalization."""

from __future__ import annotations

from typing import Any

from playground.blocks import common_params as cp
from playground.blocks import explain as ex
from playground.blocks.geometry import need_rank
from playground.blocks.spec import BlockSpec, Inference, Param, RFStep


def _rf(shape: tuple[int, ...]) -> RFStep | None:
    return RFStep() if len(shape) == 3 else None


CENTER = Param("center", "bool", True, "Learn an offset (beta).")
SCALE = Param("scale", "bool", True, "Learn a scale (gamma).")


def bn_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    c = s[-1]
    return Inference(s, params=c * (int(p["center"]) + int(p["scale"])), fixed_params=2 * c,
                     rf=_rf(s))


def _learned(p: dict[str, Any]) -> tuple[int, str]:
    names = [n for n, on in (("gamma", p["scale"]), ("beta", p["center"])) if on]
    return len(names), " and ".join(names)


def bn_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
               ) -> ex.Explanation:
    (s,) = shapes
    c = s[-1]
    n, names = _learned(p)
    formula = f"{n}*{c} + 2*{c}" if n else f"2*{c}"
    note = (f"{names} per channel train ({n}*{c}); " if n else "") + \
        f"the moving mean and variance per channel never train (2*{c})"
    macs = ex.no_macs("a scale and shift per value; not counted as MACs (at inference it folds "
                      "into the convolution before it)")
    return ex.Explanation(ex.passthrough(inf.shape), ex.Term(n * c + 2 * c, formula, note), macs)


BATCH_NORM = BlockSpec(
    type="BatchNormalization", label="Batch Norm", category="normalization",
    keras_class="BatchNormalization", training_behaviour="batch_statistics",
    params=(Param("momentum", "float", 0.99, "Momentum of the moving mean and variance.",
                  minimum=0.0, maximum=1.0),
            cp.epsilon(), CENTER, SCALE),
    infer=bn_infer, explain=bn_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.BatchNormalization(
        momentum=p["momentum"], epsilon=p["epsilon"], center=p["center"], scale=p["scale"],
        name=ctx.name()))(inputs[0]),
    face=lambda p: f"eps={p['epsilon']:g}" if p["epsilon"] != 1e-3 else "",
    help="Normalizes each channel over the batch; its moving statistics never train.")


def ln_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    return Inference(s, params=s[-1] * (int(p["center"]) + int(p["scale"])), rf=_rf(s))


def ln_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
               ) -> ex.Explanation:
    (s,) = shapes
    c = s[-1]
    n, names = _learned(p)
    params = (ex.Term(n * c, f"{n}*{c}", f"{names} per channel") if n
              else ex.no_params("center and scale are off"))
    return ex.Explanation(ex.passthrough(inf.shape), params,
                          ex.no_macs("normalization is not counted as MACs"))


LAYER_NORM = BlockSpec(
    type="LayerNormalization", label="Layer Norm", category="normalization",
    keras_class="LayerNormalization",
    params=(cp.epsilon(), CENTER, SCALE),
    infer=ln_infer, explain=ln_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.L.LayerNormalization(
        epsilon=p["epsilon"], center=p["center"], scale=p["scale"], name=ctx.name()))(inputs[0]),
    help="Normalizes each sample over its channels.")


def lrn_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    (s,) = shapes
    need_rank(s, 3, "LocalResponseNormalization")
    return Inference(s)


def lrn_explain(p: dict[str, Any], shapes: list[tuple[int, ...]], inf: Inference
                ) -> ex.Explanation:
    n = 2 * p["depth_radius"] + 1
    return ex.Explanation(ex.passthrough(inf.shape), ex.no_params("fixed k, alpha, beta: nothing "
                                                                  "learns"),
                          ex.no_macs(f"sums squares over {n} neighbouring channels; not "
                                     "counted as MACs"))


LRN = BlockSpec(
    type="LocalResponseNormalization", label="Local Response Norm", category="normalization",
    keras_class="LocalResponseNormalization",
    params=(Param("depth_radius", "int", 2, "Neighbouring channels on each side (n = 2r+1; "
                  "AlexNet: n=5).", minimum=0, maximum=1000),
            Param("bias", "float", 2.0, "k in the AlexNet formula.", minimum=0.0),
            Param("alpha", "float", 1e-4, "Scale of the squared sum.", minimum=0.0),
            Param("beta", "float", 0.75, "Exponent.", minimum=0.0)),
    infer=lrn_infer, explain=lrn_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.custom.LocalResponseNormalization(
        depth_radius=p["depth_radius"], bias=p["bias"], alpha=p["alpha"], beta=p["beta"],
        name=ctx.name()))(inputs[0]),
    face=lambda p: f"n={2 * p['depth_radius'] + 1}",
    help="AlexNet/GoogLeNet-era normalization across neighbouring channels: "
         "x / (k + alpha * sum(x^2))^beta.")

SPECS = (BATCH_NORM, LAYER_NORM, LRN)
