"""Offline without the ImageNet file in Keras' cache, the commands say which file to fetch and
where to put it before TensorFlow loads; a cached file, a proxy or a slow answer leave it to
Keras' download."""

from __future__ import annotations

import socket
import sys

import pytest

from playground.cli import main
from playground.core import twin_download
from playground.core.presets import load_preset, preset_path
from playground.core.twins import TWINS

# The real check, taken at collection (the suite's conftest answers "no certain answer" in tests).
REAL_UNREACHABLE = twin_download.unreachable
VGG16 = TWINS["vgg16"]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty Keras cache and a download host whose name does not resolve."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    for name in twin_download.PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    asked: list[tuple] = []

    def no_name(address, *args, **kwargs):
        asked.append(address)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "create_connection", no_name)
    monkeypatch.setattr(twin_download, "unreachable", REAL_UNREACHABLE)
    return tmp_path / "keras-home" / "models", asked


def test_the_files_a_graph_may_load_the_likelier_first():
    vgg = load_preset("vgg16")          # ImageNet's 1,000-class head at "predictions"
    assert twin_download.file_names(VGG16, vgg) == [VGG16.top_file, VGG16.notop_file]
    assert twin_download.file_names(VGG16, vgg, retargeted=True) == [VGG16.notop_file,
                                                                     VGG16.top_file]
    vgg.node("predictions").params["units"] = 10
    assert twin_download.file_names(VGG16, vgg) == [VGG16.notop_file, VGG16.top_file]
    mobilenet = load_preset("mobilenet")
    mobilenet.node(next(n.id for n in mobilenet.nodes if n.type == "Input")).params["shape"] = [
        128, 128, 3]
    # MobileNet's classifier is a 1x1 convolution (conv_preds, 1,000 filters); files per size.
    assert twin_download.file_names(TWINS["mobilenet"], mobilenet) == [
        "mobilenet_1_0_128_tf.h5", "mobilenet_1_0_128_tf_no_top.h5"]


def test_predict_offline_says_which_file_before_tensorflow(offline, tmp_path, capsys):
    models, asked = offline
    had_tf = "tensorflow" in sys.modules
    assert main(["predict", str(preset_path("vgg16")), "--weights", "imagenet",
                 str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert f"cannot download the ImageNet weights {VGG16.top_file}" in err
    assert "storage.googleapis.com cannot be looked up" in err
    assert str(models / VGG16.top_file) in err and "Offline?" in err
    assert asked == [("storage.googleapis.com", 443)]
    if not had_tf:
        assert "tensorflow" not in sys.modules     # said before TensorFlow's import


def test_train_and_export_offline_exit_1_naming_the_file(offline, tmp_path, capsys):
    models, _ = offline
    vgg = str(preset_path("vgg16"))
    assert main(["train", vgg, "--init-weights", "imagenet", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    # Training gives the head the digits' 10 classes: the file without ImageNet's classifier.
    assert f"error: cannot download the ImageNet weights {VGG16.notop_file}" in err
    out = tmp_path / "vgg.keras"
    assert main(["export", vgg, "--format", "keras", "--init-weights", "imagenet",
                 "--out", str(out)]) == 1
    assert str(models / VGG16.top_file) in capsys.readouterr().err and not out.exists()


def test_a_cached_file_or_a_proxy_is_not_checked_against_the_network(offline, monkeypatch):
    models, asked = offline
    vgg = load_preset("vgg16")
    models.mkdir(parents=True)
    (models / VGG16.notop_file).write_bytes(b"cached")   # either file will do for the check
    twin_download.check_available(VGG16, vgg)
    assert asked == []
    (models / VGG16.notop_file).unlink()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    twin_download.check_available(VGG16, vgg)           # Keras' download, via the proxy
    assert asked == []


def test_a_slow_answer_is_not_taken_for_offline(monkeypatch):
    for name in twin_download.PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def slow(*args, **kwargs):
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", slow)
    assert REAL_UNREACHABLE("https://storage.googleapis.com/x.h5") is None

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refused)
    assert REAL_UNREACHABLE("https://storage.googleapis.com/x.h5") == (
        "storage.googleapis.com:443 cannot be reached: Connection refused")
