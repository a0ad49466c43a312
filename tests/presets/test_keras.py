"""The presets compile to Keras models whose sizes Keras confirms; the keras.applications
twins have the same layer names, counts and, with copied weights, the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

from playground.core.presets import load_preset
from playground.presetgen.registry import PRESETS

keras = pytest.importorskip("keras")
from playground.keras_build.compile import build  # noqa: E402

from .test_figures import OWN_TWIN_TESTS, PUBLISHED, TWINS  # noqa: E402
from .test_retarget import SMALL, retargeted  # noqa: E402

FAST_FORWARD = {"lenet5", "alexnet", "resnet18", "googlenet_aux",
                "inception_naive_vs_bottleneck", "mobilenet"}


def _trainable_count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _outputs(model, x) -> list[np.ndarray]:
    out = model(x, training=False)
    return [np.asarray(o) for o in (out if isinstance(out, list | tuple) else [out])]


@pytest.mark.parametrize("key", ["lenet5", "alexnet", "resnet18"] + [
    pytest.param(k, marks=pytest.mark.slow) for k in sorted(PUBLISHED)
    if k not in ("lenet5", "alexnet", "resnet18") and k not in TWINS])
def test_full_size_model_matches_published_counts(key):
    built = build(load_preset(key))
    total, trainable, outputs = PUBLISHED[key]
    assert built.model.count_params() == total
    assert _trainable_count(built.model) == trainable
    assert [tuple(t.shape[1:]) for t in built.model.outputs] == outputs
    if key == "alexnet":
        assert tuple(built.model.get_layer("conv1").output.shape[1:]) == (55, 55, 96)
        assert built.model.get_layer("conv1").count_params() == 34_944
        assert tuple(built.model.get_layer("pool1").output.shape[1:]) == (27, 27, 96)


@pytest.mark.parametrize("key", [
    k if k in FAST_FORWARD else pytest.param(k, marks=pytest.mark.slow) for k in sorted(PRESETS)])
def test_retargeted_preset_runs_a_forward_pass(key):
    graph = retargeted(key)
    built = build(graph)
    assert built.model.count_params() == built.analysis.total_params
    shape = SMALL.get(key, [64, 64, 3])
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    outs = _outputs(built.model, x)
    assert [o.shape[1:] for o in outs] == built.analysis.output_shapes()
    assert all(np.isfinite(o).all() for o in outs)
    for o, node in zip(outs, built.analysis.outputs, strict=True):
        if graph.node(node).type == "Dense" or node == "predictions":
            np.testing.assert_allclose(o.sum(axis=-1), 1.0, rtol=1e-5)  # softmax heads


# ---------------------------------------------------------------- keras.applications twins
@pytest.fixture(scope="module", params=sorted(set(TWINS) - OWN_TWIN_TESTS))
def twin_pair(request):
    """(key, twin model, compiled preset): one twin at a time, freed after its tests."""
    keras.backend.clear_session()  # fresh auto names (zero_padding2d, global_average_...)
    key = request.param
    twin = getattr(keras.applications, TWINS[key])(weights=None)
    preset = build(load_preset(key)).model
    yield key, twin, preset
    del twin, preset
    keras.backend.clear_session()


@pytest.mark.slow
def test_twin_layer_names_and_counts(twin_pair):
    key, twin, preset = twin_pair
    names = [layer.name for layer in twin.layers if type(layer).__name__ != "InputLayer"]
    ours = [layer.name for layer in preset.layers if type(layer).__name__ != "InputLayer"]
    assert sorted(ours) == sorted(names)
    for layer in twin.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        mine = preset.get_layer(layer.name)
        assert type(mine).__name__ == type(layer).__name__, layer.name
        assert tuple(mine.output.shape) == tuple(layer.output.shape), layer.name
        assert mine.count_params() == layer.count_params(), layer.name
    assert preset.count_params() == twin.count_params() == PUBLISHED[key][0]
    assert _trainable_count(preset) == _trainable_count(twin) == PUBLISHED[key][1]


def _randomize(model, rng) -> None:
    """Random biases and BatchNorm statistics (weights=None leaves them 0 and 1), so that a
    misplaced bias, a wrong epsilon or padding shows in the outputs. Small moving variances
    make the epsilon matter; gamma is scaled with them so activations keep their size."""
    for layer in model.layers:
        if not layer.weights:
            continue
        if type(layer).__name__ == "BatchNormalization":
            n = layer.weights[0].shape[0]
            variance = rng.uniform(0.01, 0.1, n)
            by_name = {"gamma": np.sqrt(variance) * rng.uniform(0.5, 1.5, n),
                       "beta": rng.normal(0.0, 0.1, n),
                       "moving_mean": rng.normal(0.0, 0.1, n), "moving_variance": variance}
            values = [by_name[w.path.rsplit("/", 1)[-1]] for w in layer.weights]
        elif type(layer).__name__ == "Normalization":    # mean, variance (positive), count
            n = layer.weights[0].shape[0]
            values = [rng.normal(0.5, 0.1, n), rng.uniform(0.05, 0.2, n), np.asarray(1.0)]
        else:  # kernels keep Keras' initialization; biases become non-zero
            values = [np.asarray(w.numpy()) if "kernel" in w.path
                      else rng.normal(0.0, 0.1, tuple(w.shape)) for w in layer.weights]
        layer.set_weights([v.astype(np.float32) for v in values])


@pytest.mark.slow
def test_twin_weights_load_by_name_and_give_the_same_outputs(twin_pair):
    key, twin, preset = twin_pair
    rng = np.random.default_rng(2)
    _randomize(twin, rng)
    copied = 0
    for layer in twin.layers:
        weights = layer.get_weights()
        if weights:
            preset.get_layer(layer.name).set_weights(weights)
            copied += 1
    assert copied == sum(1 for layer in preset.layers if layer.weights)
    # Compare the features the classifier sees (softmax outputs of random weights are too
    # flat to show a difference), then the outputs.
    head_input = twin.get_layer("predictions").input.name
    features = [keras.Model(m.input, m.get_layer("predictions").input) for m in (twin, preset)]
    x = rng.random((1, 224, 224, 3), dtype=np.float32)
    (expected,), (got,) = _outputs(features[0], x), _outputs(features[1], x)
    assert np.abs(expected).max() > 1e-3, head_input
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
    (expected,), (got,) = _outputs(twin, x), _outputs(preset, x)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
