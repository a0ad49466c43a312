"""The presets' shared conv -> BatchNorm -> activation unit (presetgen/units.py): the generators
of Inception-v3, Inception-ResNet-v2, MobileNet-v2 and ShuffleNet build their units with it, and
every committed preset file still regenerates byte for byte (test_generation.py)."""

from __future__ import annotations

from playground.core.shapes import analyze
from playground.presetgen.builder import GraphBuilder
from playground.presetgen.units import NO_SCALE, RELU_ACTIVATION, conv_bn_act, conv_params


def test_conv_params_leave_defaults_out_in_a_fixed_key_order():
    assert list(conv_params(32, 3)) == ["filters", "kernel_size", "use_bias", "padding"]
    assert conv_params(32, [1, 7], strides=2, padding="valid") == dict(
        filters=32, kernel_size=[1, 7], use_bias=False, strides=2)


def test_a_unit_is_named_as_given_and_the_activation_is_optional():
    b = GraphBuilder("units", "")
    x = b.add("input", "Input", shape=[8, 8, 3])
    x = conv_bn_act(b, x, ("c", "c_bn", "c_relu"), conv_params(4, 3), bn=NO_SCALE,
                    act=RELU_ACTIVATION)
    x = conv_bn_act(b, x, ("dw", "dw_bn", None), dict(kernel_size=3, padding="same", use_bias=False),
                    conv_type="DepthwiseConv2D")
    g = b.graph
    assert x == "dw_bn"
    assert [(n.id, n.type) for n in g.nodes] == [
        ("input", "Input"), ("c", "Conv2D"), ("c_bn", "BatchNormalization"),
        ("c_relu", "Activation"), ("dw", "DepthwiseConv2D"), ("dw_bn", "BatchNormalization")]
    assert g.node("c_bn").params == {"scale": False}
    g.node("c_bn").params["scale"] = True          # a node's params are its own
    assert NO_SCALE == {"scale": False}
    assert analyze(g).valid and analyze(g).nodes["dw_bn"].shape == (8, 8, 4)
