"""Blocks that change the channel count without learning: ResNet's zero channels (option A).

``ZeroPadChannels`` is the primitive behind a ResidualBlock's ``"zero_pad"`` shortcut, so expanding
such a block (``core.expand``) gives one node per Keras layer, like every other composite. It does
exactly what the Keras layer ``playground.keras_build.layers.ZeroPadChannels`` does: append ``pad``
all-zero channels after the input's channels; the spatial size is untouched (the composite
subsamples first with a 1x1 max pool of stride s, a separate ``MaxPooling2D``).
"""

from __future__ import annotations

from typing import Any

from playground.blocks import explain as ex
from playground.blocks.geometry import need_rank
from playground.blocks.spec import BlockSpec, Inference, Param


def zero_pad_channels_infer(p: dict[str, Any], shapes: list[tuple[int, ...]]) -> Inference:
    """Same height and width, ``pad`` more channels; no weights, no multiplies, identity RF."""
    (s,) = shapes
    need_rank(s, 3, "ZeroPadChannels")
    return Inference((s[0], s[1], s[2] + p["pad"]))


def zero_pad_channels_explain(p: dict[str, Any], shapes: list[tuple[int, ...]],
                              inf: Inference) -> ex.Explanation:
    (s,) = shapes
    axes = ex.passthrough(inf.shape)[:2] + [
        ex.channels(inf.shape[2], f"{s[2]} + {p['pad']}", "input channels + pad zero channels")]
    return ex.Explanation(axes, ex.no_params(), ex.no_macs())


ZERO_PAD_CHANNELS = BlockSpec(
    type="ZeroPadChannels", label="Zero Pad Channels", category="reshape",
    keras_class="ZeroPadChannels",
    params=(Param("pad", "int", 16, "Zero channels appended after the input's channels (ResNet "
                  "option A doubling the width: pad = input channels).", minimum=0,
                  maximum=100_000),),
    infer=zero_pad_channels_infer, explain=zero_pad_channels_explain,
    build=lambda ctx, p, inputs: ctx.add(ctx.custom.ZeroPadChannels(
        p["pad"], name=ctx.name()))(inputs[0]),
    face=lambda p: f"+{p['pad']} ch",
    help="Appends channels of zeros, keeping the size (the app's own Keras layer): the "
         "parameter-free widening of ResNet's option-A shortcut.")

SPECS = (ZERO_PAD_CHANNELS,)
