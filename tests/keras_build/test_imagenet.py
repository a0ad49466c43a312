"""``--init-weights imagenet`` with Keras' cached file placed in a temporary KERAS_HOME."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from playground import cli
from playground.core import fileformat
from playground.core.graph import Graph
from playground.core.presets import preset_path
from playground.keras_build.compile import build
from playground.keras_build.imagenet import (
    TWINS,
    ImagenetError,
    identify,
    load_imagenet,
)
from tests.keras_build.helpers import (
    randomize,
    temporary_keras_home,
    weights_by_name,
    write_legacy_h5,
)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    return temporary_keras_home(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def mobilenet_twin():
    twin = keras.applications.MobileNet(weights=None)
    randomize(twin, seed=5)
    return twin


def place(home, file_name, model):
    """Save a twin's weights the way Keras' ImageNet files are laid out (legacy HDF5)."""
    layers = [(layer.name, [np.asarray(w) for w in layer.get_weights()])
              for layer in model.layers if layer.weights]
    return write_legacy_h5(home / "models" / file_name, layers)


def test_identify_by_key_or_name():
    g = Graph(name="Anything")
    g.extra["keras_application"] = "densenet121"
    assert identify(g).name == "DenseNet121"
    assert identify(Graph(name="VGG-16")).name == "VGG16"
    assert identify(Graph(name="ResNet50 (ImageNet)")).name == "ResNet50"
    for name in ("ResNet50V2", "VGG161", "LeNet-5"):
        with pytest.raises(ImagenetError, match="not a keras.applications twin"):
            identify(Graph(name=name))
    g.extra["keras_application"] = "ConvNeXtTiny"
    with pytest.raises(ImagenetError, match="has no ImageNet weights here"):
        identify(g)


def test_mobilenet_preset_loads_every_layer(keras_home, mobilenet_twin):
    place(keras_home, "mobilenet_1_0_224_tf.h5", mobilenet_twin)
    graph = fileformat.load(preset_path("mobilenet"))
    model = build(graph).model
    report = load_imagenet(model, graph)
    assert report.skipped == [] and len(report.matched) == 55
    assert "mobilenet_1_0_224_tf.h5" in report.source
    expected = weights_by_name(mobilenet_twin)
    for name, arrays in weights_by_name(model).items():
        for a, b in zip(arrays, expected[name], strict=True):
            np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 224, 224, 3)).astype("float32")
    np.testing.assert_allclose(model(x), mobilenet_twin(x), rtol=1e-4, atol=1e-5)


def test_retargeted_classes_use_the_notop_file_and_skip_the_head(keras_home, mobilenet_twin,
                                                                 tmp_path, capsys):
    place(keras_home, "mobilenet_1_0_224_tf_no_top.h5", mobilenet_twin)
    out = tmp_path / "mobilenet10.keras"
    code = cli.main(["export", str(preset_path("mobilenet")), "--format", "keras", "--out",
                     str(out), "--classes", "10", "--init-weights", "imagenet"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "loaded 54 layer(s), skipped 1" in text
    assert "skipped conv_preds: shape mismatch" in text


def test_offline_error_names_the_file_and_folder(keras_home, monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: Name or service not known")  # noqa: TRY002

    monkeypatch.setattr(keras.utils, "get_file", offline)
    graph = fileformat.load(preset_path("mobilenet"))
    model = build(graph).model
    with pytest.raises(ImagenetError) as info:
        load_imagenet(model, graph)
    message = str(info.value)
    assert "mobilenet_1_0_224_tf.h5" in message
    assert str(keras_home / "models" / "mobilenet_1_0_224_tf.h5") in message
    assert "Offline?" in message


def test_every_twin_has_keras_file_names():
    for twin in TWINS.values():
        assert twin.top_file.endswith(".h5") and twin.notop_file.endswith(".h5")


def test_names_that_differ_load_by_order_when_every_shape_matches(keras_home):
    """A twin graph whose ids are not Keras' names still loads, as Keras reads these files."""
    document = {
        "format": "keras-playground-graph", "version": 1, "name": "my net",
        "keras_application": "VGG16",
        "nodes": [{"id": "in", "type": "Input", "params": {"shape": [8, 8, 3]}},
                  {"id": "a", "type": "Conv2D", "params": {"filters": 4, "padding": "same"}},
                  {"id": "b", "type": "Conv2D", "params": {"filters": 2, "kernel_size": 1}}],
        "edges": [{"from": "in", "to": "a"}, {"from": "a", "to": "b"}]}
    graph = fileformat.from_document(document)
    model = build(graph).model
    rng = np.random.default_rng(0)
    arrays = [("block1_conv1", [rng.normal(size=(3, 3, 3, 4)), rng.normal(size=(4,))]),
              ("block1_conv2", [rng.normal(size=(1, 1, 4, 2)), rng.normal(size=(2,))])]
    write_legacy_h5(keras_home / "models" / TWINS["vgg16"].notop_file,
                    [(n, [a.astype("float32") for a in v]) for n, v in arrays])
    report = load_imagenet(model, graph)
    assert report.matched == ["a", "b"] and "matched by layer order" in report.source
    np.testing.assert_allclose(model.get_layer("b").get_weights()[0], arrays[1][1][0],
                               rtol=1e-6)
