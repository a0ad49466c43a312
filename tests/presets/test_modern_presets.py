"""The notes' later architectures: Inception-v3, Inception-ResNet-v2, MobileNet-v2, ShuffleNet and
EfficientNet-B0. Counts are checked in test_figures.py; here their structure and, for the twins
whose ids are readable names, Keras' weights in order give Keras' outputs."""

from __future__ import annotations

import numpy as np
import pytest

from playground.core.presets import load_preset
from playground.core.shapes import analyze

from .test_figures import IN_ORDER_TWINS, TWINS

keras = pytest.importorskip("keras")
from playground.keras_build.compile import build  # noqa: E402


def test_descriptions_years_and_recipes():
    expected = {"inception_v3": 2015, "inception_resnet_v2": 2016, "mobilenet_v2": 2018,
                "shufflenet": 2017, "efficientnet_b0": 2019}
    for key, year in expected.items():
        graph = load_preset(key)
        assert graph.extra["year"] == year
        assert graph.extra["training"]["source"]
        assert len(graph.description) > 300
    assert "inception module and ResNet together" in load_preset("inception_resnet_v2").description
    assert "beside MobileNet" in load_preset("shufflenet").description


def test_figures_from_the_papers():
    shufflenet = analyze(load_preset("shufflenet"))
    assert 135e6 < shufflenet.macs < 140e6            # Table 2: 140 MFLOPs (rounded)
    assert analyze(load_preset("mobilenet_v2")).macs == 300_774_272   # paper: 300M
    inception = analyze(load_preset("inception_v3"))
    assert inception.nodes["mixed2"].shape == (35, 35, 288)
    assert inception.nodes["mixed7"].shape == (17, 17, 768)
    assert inception.nodes["mixed10"].shape == (8, 8, 2048)
    irv2 = analyze(load_preset("inception_resnet_v2"))
    assert irv2.nodes["mixed_6a"].shape == (17, 17, 1088)
    assert irv2.nodes["conv_7b_ac"].shape == (8, 8, 1536)
    types = [n.type for n in load_preset("inception_resnet_v2").nodes]
    assert types.count("ScaledAdd") == 40
    efficient = load_preset("efficientnet_b0")
    assert efficient.node("block2b_drop").params == {"rate": 0.025}
    assert efficient.node("block2a_se_excite").type == "Multiply"


def test_channel_shuffle_is_reshape_permute_reshape():
    from playground.keras_build.layers import ChannelShuffle

    x = np.arange(2 * 2 * 3 * 6, dtype="float32").reshape(2, 2, 3, 6)
    shuffled = np.asarray(ChannelShuffle(groups=3)(x))
    L = keras.layers
    inputs = keras.Input((2, 3, 6))
    y = L.Reshape((2, 3, 3, 2))(inputs)
    y = L.Permute((1, 2, 4, 3))(y)
    reference = keras.Model(inputs, L.Reshape((2, 3, 6))(y))
    np.testing.assert_array_equal(shuffled, np.asarray(reference(x)))
    assert list(shuffled[0, 0, 0]) == [0, 2, 4, 1, 3, 5]


def _weighted(model):
    return [layer for layer in model.layers if layer.weights]


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(IN_ORDER_TWINS))
def test_in_order_twin_weights_give_keras_outputs(key):
    keras.backend.clear_session()
    twin = getattr(keras.applications, TWINS[key])(weights=None, input_shape=(75, 75, 3))
    graph = load_preset(key)
    graph.node("input").params["shape"] = [75, 75, 3]
    preset = build(graph).model
    ours, theirs = _weighted(preset), _weighted(twin)
    assert [type(a).__name__ for a in ours] == [type(b).__name__ for b in theirs]
    rng = np.random.default_rng(0)
    for a, b in zip(ours, theirs, strict=True):
        values = [rng.normal(0, 0.05, tuple(w.shape)).astype("float32") for w in b.weights]
        values = [np.abs(v) + 0.5 if "variance" in w.path else v
                  for v, w in zip(values, b.weights, strict=True)]
        b.set_weights(values)
        a.set_weights(values)
    x = rng.uniform(0, 1, (1, 75, 75, 3)).astype("float32")
    features = [keras.Model(m.input, m.get_layer("avg_pool").output) for m in (twin, preset)]
    expected, got = (np.asarray(f(x, training=False)) for f in features)
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


@pytest.mark.slow
def test_efficientnet_b0_is_keras_model_by_name():
    """Same names, classes and counts as keras.applications.EfficientNetB0 (which adds the
    stddev Rescaling only when it loads ImageNet weights); with it set to 1, same outputs."""
    keras.backend.clear_session()
    twin = keras.applications.EfficientNetB0(weights=None, input_shape=(64, 64, 3))
    graph = load_preset("efficientnet_b0")
    graph.node("input").params["shape"] = [64, 64, 3]
    graph.node("stddev_rescaling").params["scale"] = 1.0
    preset = build(graph).model
    ours = {layer.name: layer for layer in preset.layers}
    theirs = [layer for layer in twin.layers if type(layer).__name__ != "InputLayer"]
    assert {layer.name for layer in theirs} == set(ours) - {"input", "stddev_rescaling"}
    rng = np.random.default_rng(1)
    for layer in theirs:
        mine = ours[layer.name]
        assert type(mine).__name__ == type(layer).__name__, layer.name
        assert mine.count_params() == layer.count_params(), layer.name
        if layer.weights:
            values = [np.abs(rng.normal(0.5, 0.1, tuple(w.shape))) + 0.1
                      if "variance" in w.path or w.path.endswith("count")
                      else rng.normal(0, 0.1, tuple(w.shape)) for w in layer.weights]
            layer.set_weights([v.astype("float32") for v in values])
            mine.set_weights(layer.get_weights())
    x = rng.uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    features = [keras.Model(m.input, m.get_layer("avg_pool").output) for m in (twin, preset)]
    expected, got = (np.asarray(f(x, training=False)) for f in features)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
