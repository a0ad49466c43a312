"""ImageNet twins: each family's preprocessing against keras.applications' own, the 1,000 class
names, ``predict``/``inspect --weights imagenet`` against the Keras model with the same file in
a temporary Keras cache, and the refusals (no twin, a retargeted head, offline) before or
without TensorFlow."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playground.cli import main
from playground.core import fileformat
from playground.core.presets import preset_path
from playground.core.twins import TWINS
from playground.inspect.images import (
    IMAGENET_MODES,
    adapt,
    adaptation_steps,
    imagenet_preprocess,
    view_image,
)
from playground.inspect.twin import FAMILIES, imagenet_class_names, plan_twin
from tests.keras_build.helpers import temporary_keras_home
from tests.predict.helpers import mobilenet_twin, pattern, write_png

ROOT = Path(__file__).resolve().parents[2]


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_every_twin_has_a_family_and_a_known_mode():
    assert {t.name for t in TWINS.values()} == set(FAMILIES)
    assert {mode for _module, mode in FAMILIES.values()} <= set(IMAGENET_MODES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_preprocessing_is_keras_applications_own(family):
    module, mode = FAMILIES[family]
    keras_module = importlib.import_module(f"keras.applications.{module}")
    x = np.random.default_rng(1).uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    expected = np.asarray(keras_module.preprocess_input(x.copy()))
    np.testing.assert_allclose(imagenet_preprocess(x, mode), expected, rtol=1e-6, atol=1e-5)
    # Drawn back as a picture: the 0..255 image the model saw, in [0, 1].
    np.testing.assert_allclose(view_image(imagenet_preprocess(x, mode)[0], f"imagenet-{mode}"),
                               x[0] / 255.0, atol=1e-5)


def test_adapt_resizes_antialiased_copies_grey_and_says_so():
    import tensorflow as tf
    from keras.applications import vgg16

    grey = pattern(90, 60, 3)
    x = adapt(grey, (32, 32, 3), "imagenet-caffe")
    rgb = np.repeat(grey, 3, axis=2).astype(np.float32)[None]
    resized = np.clip(tf.image.resize(rgb, (32, 32), antialias=True).numpy(), 0, 255)
    np.testing.assert_allclose(x, vgg16.preprocess_input(resized), rtol=1e-6, atol=1e-4)
    steps = adaptation_steps(grey.shape, (32, 32, 3), "imagenet-caffe")
    assert steps[0] == "grayscale -> RGB (channel copied)"
    assert "resized 90x60 -> 32x32 (bilinear, antialiased)" in steps
    assert "RGB -> BGR" in steps[-1]


def test_the_thousand_class_names_in_index_order():
    names = imagenet_class_names()
    assert len(names) == 1000 == len(set(names))
    assert (names[0], names[1], names[281], names[999]) == (
        "tench", "goldfish", "tabby", "toilet tissue")


def test_plans_every_twin_preset_without_tensorflow():
    code = (
        "import sys\n"
        "from playground.core import fileformat\n"
        "from playground.core.presets import preset_path\n"
        "from playground.inspect.twin import plan_twin\n"
        "for p in ('vgg16', 'resnet50', 'mobilenet', 'densenet121', 'efficientnet_b0'):\n"
        "    plan = plan_twin(fileformat.load(preset_path(p)))\n"
        "    print(p, plan.file_name, plan.pipeline)\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "vgg16 vgg16_weights_tf_dim_ordering_tf_kernels.h5 imagenet-caffe" in lines
    assert "mobilenet mobilenet_1_0_224_tf.h5 imagenet-tf" in lines
    assert "densenet121 densenet121_weights_tf_dim_ordering_tf_kernels.h5 imagenet-torch" in lines
    assert "efficientnet_b0 efficientnetb0.h5 imagenet-raw" in lines


def test_refusals_exit_2_naming_the_culprit(tmp_path, capsys):
    img = write_png(tmp_path / "x.png", _rgb(16, 16))
    assert main(["predict", str(preset_path("lenet5")), "--weights", "imagenet", img]) == 2
    assert "is not a keras.applications twin" in capsys.readouterr().err
    # A VGG-16 retargeted to 10 classes: ImageNet's head would not load; said, not guessed.
    doc = json.loads(preset_path("vgg16").read_text())
    for node in doc["nodes"]:
        if node["id"] == "predictions":
            node["params"]["units"] = 10
    ten = tmp_path / "vgg10.json"
    ten.write_text(json.dumps(doc))
    assert main(["predict", str(ten), "--weights", "imagenet", img]) == 2
    err = capsys.readouterr().err
    assert "outputs 10 at node predictions, not ImageNet's 1000 classes" in err
    # A .keras or run folder has its own weights.
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    assert main(["inspect", str(run), "--weights", "imagenet", "--image", img, "--node", "a",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--weights imagenet takes the graph .json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["predict", str(preset_path("vgg16")), "--weights", "imagnet", img])
    assert info.value.code == 2 and "invalid choice: 'imagnet'" in capsys.readouterr().err


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    return temporary_keras_home(tmp_path, monkeypatch)


def test_offline_exit_2_names_the_file_and_the_folder(keras_home, tmp_path, monkeypatch,
                                                      capsys):
    import keras

    def offline(*args, **kwargs):
        print("Downloading data from https://storage.googleapis.com/...")   # as Keras does
        raise Exception("URL fetch failure: Name or service not known")  # noqa: TRY002

    monkeypatch.setattr(keras.utils, "get_file", offline)
    img = write_png(tmp_path / "x.png", _rgb(16, 16))
    assert main(["predict", str(preset_path("mobilenet")), "--weights", "imagenet", img,
                 "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Downloading data from" in err      # stdout stays JSON-only
    assert str(keras_home / "models" / "mobilenet_1_0_224_tf.h5") in err
    assert "Offline?" in err and "Traceback" not in err


ROWS = 128     # MobileNet's smallest published size: the fast suite's twin


@pytest.fixture(scope="module")
def mobilenet128(tmp_path_factory):
    """MobileNet at 128x128 as a twin with its ImageNet file in a Keras cache."""
    return mobilenet_twin(tmp_path_factory.mktemp("twin"), ROWS)


def test_predict_matches_keras_mobilenet_with_class_names(mobilenet128, tmp_path, monkeypatch,
                                                          capsys):
    from keras.applications import mobilenet

    model, home, graph_file = mobilenet128
    monkeypatch.setenv("KERAS_HOME", str(home))
    exact, grey = _rgb(ROWS, ROWS, 4), pattern(200, 150, 5)
    a = write_png(tmp_path / "a.png", exact)
    b = write_png(tmp_path / "b.png", grey)
    assert main(["predict", str(graph_file), "--weights", "imagenet", a, b, "--top", "5",
                 "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    names = imagenet_class_names()
    expected = model(mobilenet.preprocess_input(exact[None].astype(np.float32))).numpy()[0]
    top = result[0]["top"]
    assert [r["index"] for r in top] == list(np.argsort(-expected)[:5])
    for row in top:
        assert row["class"] == names[row["index"]]
        assert row["p"] == pytest.approx(float(expected[row["index"]]), rel=1e-4, abs=1e-6)
    # The grey photo: copied to RGB and resized like adapt says, then Keras' preprocessing.
    x = adapt(grey, (ROWS, ROWS, 3), "imagenet-tf")
    second = model(x).numpy()[0]
    assert result[1]["top"][0]["index"] == int(np.argmax(second))
    assert "ImageNet weights of keras.applications MobileNet" in err
    assert f"mobilenet_1_0_{ROWS}_tf.h5" in err and "random" not in err
    assert "scaled 0..255 -> [-1, 1]" in err


def test_inspect_with_imagenet_weights_takes_a_class_name(mobilenet128, tmp_path, monkeypatch,
                                                          capsys):
    model, home, graph_file = mobilenet128
    monkeypatch.setenv("KERAS_HOME", str(home))
    a = write_png(tmp_path / "a.png", _rgb(ROWS, ROWS, 4))
    out = tmp_path / "slides"
    assert main(["inspect", str(graph_file), "--weights", "imagenet", "--image", a,
                 "--node", "conv_pw_13_relu", "--class", "tabby", "--out", str(out)]) == 0
    capsys.readouterr()
    prediction = json.loads((out / "prediction.json").read_text())
    assert prediction["class"] == "tabby" and prediction["index"] == 281
    assert prediction["random_weights"] is False
    assert prediction["gradcam_shape"] == [ROWS // 32, ROWS // 32]
    assert (out / "gradcam.png").is_file() and (out / "conv_pw_13_relu_features.png").is_file()


def test_load_imagenet_twin_for_an_in_memory_graph(mobilenet128, monkeypatch):
    from playground.inspect.model import logits_and_probabilities
    from playground.inspect.twin import load_imagenet_twin

    model, home, graph_file = mobilenet128
    monkeypatch.setenv("KERAS_HOME", str(home))
    loaded = load_imagenet_twin(fileformat.load(graph_file))
    assert loaded.pipeline == "imagenet-tf" and not loaded.random
    assert loaded.class_names == list(imagenet_class_names())
    assert plan_twin(loaded.graph).cached == home / "models" / f"mobilenet_1_0_{ROWS}_tf.h5"
    x = adapt(_rgb(ROWS, ROWS, 9), loaded.input_shape, loaded.pipeline)
    np.testing.assert_allclose(logits_and_probabilities(loaded, x), model(x).numpy(),
                               rtol=1e-4, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "family", "rows"), [
    ("resnet50", "ResNet50", 64), ("densenet121", "DenseNet121", 64),
    ("inception_v3", "InceptionV3", 75), ("mobilenet_v2", "MobileNetV2", 128)])
def test_each_family_predicts_like_its_keras_application(preset, family, rows, tmp_path,
                                                         monkeypatch, capsys):
    """caffe, torch and tf preprocessing end to end: the preset at a small input size with
    seeded weights in Keras' own file, against keras.applications' model and preprocess_input."""
    import keras

    from tests.keras_build.helpers import randomize, write_legacy_h5

    module = importlib.import_module(f"keras.applications.{FAMILIES[family][0]}")
    model = getattr(keras.applications, family)(weights=None, input_shape=(rows, rows, 3))
    randomize(model, seed=2)
    head = model.get_layer("predictions")
    head.set_weights([w * 0.05 for w in head.get_weights()])
    home = tmp_path / "keras-home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    doc = json.loads(preset_path(preset).read_text())
    doc["nodes"][0]["params"]["shape"] = [rows, rows, 3]
    graph_file = tmp_path / f"{preset}.json"
    graph_file.write_text(json.dumps(doc))
    plan = plan_twin(fileformat.load(graph_file))
    write_legacy_h5(home / "models" / plan.file_name,
                    [(layer.name, [np.asarray(w) for w in layer.get_weights()])
                     for layer in model.layers if layer.weights])
    pixels = _rgb(rows, rows, 6)
    image = write_png(tmp_path / "a.png", pixels)
    assert main(["predict", str(graph_file), "--weights", "imagenet", image, "--json",
                 "--top", "3"]) == 0
    top = json.loads(capsys.readouterr().out)[0]["top"]
    expected = model(module.preprocess_input(pixels[None].astype(np.float32))).numpy()[0]
    # Deep nets with random weights saturate the softmax: ties below the top-1 are not ordered.
    assert top[0]["index"] == int(np.argmax(expected))
    np.testing.assert_allclose([r["p"] for r in top], np.sort(expected)[::-1][:3], rtol=1e-3,
                               atol=1e-6)
    for row in top:
        assert row["p"] == pytest.approx(float(expected[row["index"]]), rel=1e-3, abs=1e-6)
        assert row["class"] == imagenet_class_names()[row["index"]]


def test_a_twin_with_its_own_node_ids_loads_the_top_file_by_order(keras_home):
    """Keras reads these legacy files by order; a twin graph whose ids are not Keras' names
    still gets the 1,000-class file (not the no-top one) and the class names."""
    from playground.inspect.model import logits_and_probabilities
    from playground.inspect.twin import load_imagenet_twin
    from tests.keras_build.helpers import write_legacy_h5

    graph = fileformat.from_document({
        "format": "keras-playground-graph", "version": 1, "name": "my tiny net",
        "keras_application": "VGG16",
        "nodes": [{"id": "in", "type": "Input", "params": {"shape": [8, 8, 3]}},
                  {"id": "c", "type": "Conv2D", "params": {"filters": 4, "padding": "same"}},
                  {"id": "g", "type": "GlobalAveragePooling2D", "params": {}},
                  {"id": "head", "type": "Dense", "params": {"units": 1000,
                                                              "activation": "softmax"}}],
        "edges": [{"from": "in", "to": "c"}, {"from": "c", "to": "g"},
                  {"from": "g", "to": "head"}]})
    rng = np.random.default_rng(3)
    conv = [rng.normal(size=(3, 3, 3, 4)).astype("float32"), np.zeros(4, "float32")]
    dense = [rng.normal(size=(4, 1000)).astype("float32"), np.zeros(1000, "float32")]
    write_legacy_h5(keras_home / "models" / TWINS["vgg16"].top_file,
                    [("block1_conv1", conv), ("predictions", dense)])
    loaded = load_imagenet_twin(graph)
    assert loaded.weights.endswith(TWINS["vgg16"].top_file) and not loaded.random
    np.testing.assert_array_equal(loaded.model.get_layer("head").get_weights()[0], dense[0])
    pixels = _rgb(8, 8, 2)
    x = adapt(pixels, loaded.input_shape, loaded.pipeline)
    from keras.applications import vgg16

    np.testing.assert_allclose(x, vgg16.preprocess_input(pixels[None].astype(np.float32)),
                               atol=1e-5)
    probs = logits_and_probabilities(loaded, x)[0]
    assert loaded.class_name(int(np.argmax(probs))) == imagenet_class_names()[np.argmax(probs)]
