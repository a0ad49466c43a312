"""The convolution -> BatchNorm -> activation unit that the modern presets repeat hundreds of
times, in one place. Each preset keeps its own node names (those of its keras.applications
twin, so ImageNet weights load by name) and passes them in; the params keep the key order the
files were generated with, so the preset files stay byte-identical.
"""

from __future__ import annotations

from typing import Any

from playground.presetgen.builder import GraphBuilder


def conv_params(filters: int, kernel: int | list[int], strides: int = 1,
                padding: str = "same", **extra: Any) -> dict[str, Any]:
    """A bias-free convolution's params (BatchNorm follows), defaults left out of the file."""
    params: dict[str, Any] = dict(filters=filters, kernel_size=kernel, use_bias=False)
    if strides != 1:
        params["strides"] = strides
    if padding != "valid":
        params["padding"] = padding
    params.update(extra)
    return params


def conv_bn_act(b: GraphBuilder, x: str, ids: tuple[str, str, str | None],
                conv: dict[str, Any], *, conv_type: str = "Conv2D",
                bn: dict[str, Any] | None = None,
                act: tuple[str, dict[str, Any]] = ("ReLU", {})) -> str:
    """``ids`` = (convolution, BatchNorm, activation) node ids, fed by ``x``; an activation id
    of None leaves it out (a linear projection). ``act`` is (block type, params)."""
    conv_id, bn_id, act_id = ids
    steps = [(conv_id, conv_type, conv), (bn_id, "BatchNormalization", dict(bn or {}))]
    if act_id is not None:
        steps.append((act_id, act[0], dict(act[1])))
    return b.chain(x, *steps)


# Keras' InceptionV3 and InceptionResNetV2 units: BatchNorm without scale, then ReLU.
NO_SCALE: dict[str, Any] = dict(scale=False)
RELU_ACTIVATION: tuple[str, dict[str, Any]] = ("Activation", dict(activation="relu"))
