"""``--init-weights``: by name and shape from .keras / .weights.h5 / legacy .h5; refusals."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from playground import cli
from playground.keras_build.weights import (
    LoadReport,
    Skipped,
    WeightsError,
    load_weights,
    read_weights,
)
from tests.cli import graphs
from tests.keras_build.helpers import built_from, randomize, weights_by_name, write_legacy_h5


@pytest.fixture(autouse=True)
def _no_deserialization(monkeypatch):
    """Loading weights must never deserialize a model or switch off safe mode."""
    def forbidden(*args, **kwargs):
        raise AssertionError("deserialization was attempted")

    monkeypatch.setattr(keras.config, "enable_unsafe_deserialization", forbidden)
    monkeypatch.setattr(keras.saving, "load_model", forbidden)
    monkeypatch.setattr(keras.models, "load_model", forbidden)


@pytest.fixture(scope="module")
def source():
    built = built_from(graphs.small())
    randomize(built.model, seed=1)
    return built.model


def fresh():
    return built_from(graphs.small()).model


def assert_same(model_a, model_b, names):
    a, b = weights_by_name(model_a), weights_by_name(model_b)
    for name in names:
        for x, y in zip(a[name], b[name], strict=True):
            np.testing.assert_array_equal(x, y)


def test_from_keras_file_all_layers(source, tmp_path):
    path = tmp_path / "m.keras"
    source.save(path)
    target = fresh()
    report = load_weights(target, path)
    assert report.skipped == [] and len(report.matched) == 9
    assert_same(source, target, report.matched)


def test_from_keras3_weights_file(source, tmp_path):
    path = tmp_path / "m.weights.h5"
    source.save_weights(path)
    target = fresh()
    report = load_weights(target, path)
    assert len(report.matched) == 9
    assert_same(source, target, report.matched)


def test_partial_match_reports_missing_and_shape_mismatch(source, tmp_path):
    path = tmp_path / "m.keras"
    source.save(path)
    document = graphs.small()
    document["nodes"][5]["params"]["units"] = 7          # fc: another class count
    document["nodes"][1]["id"] = "stem"                   # conv1 renamed
    document["edges"] = [{"from": "input", "to": "stem"}, {"from": "stem", "to": "bn1"}] + \
        document["edges"][2:]
    target = built_from(document).model
    before = weights_by_name(target)
    report = load_weights(target, path)
    reasons = dict(report.skipped)
    assert reasons["stem"] == "not in the file"
    assert reasons["fc"].startswith("shape mismatch: the file has [(16, 5), (5,)], "
                                    "the model needs [(16, 7), (7,)]")
    assert "conv1" in report.unused
    assert set(report.matched) == {"bn1", "res1_1_conv", "res1_1_bn", "res1_0_conv",
                                   "res1_2_conv", "res1_0_bn", "res1_2_bn"}
    assert_same(source, target, report.matched)
    for a, b in zip(weights_by_name(target)["fc"], before["fc"], strict=True):
        np.testing.assert_array_equal(a, b)   # skipped layers keep their values
    text = "\n".join(report.lines())
    assert "loaded 7 layer(s), skipped 2" in text and "skipped fc: shape mismatch" in text


def test_legacy_h5_by_name(source, tmp_path):
    layers = [(name, arrays) for name, arrays in weights_by_name(source).items()]
    path = write_legacy_h5(tmp_path / "legacy.h5", list(reversed(layers)))
    target = fresh()
    report = load_weights(target, path)
    assert len(report.matched) == 9
    assert_same(source, target, report.matched)


def test_failed_load_leaves_the_model_untouched(source, tmp_path):
    layers = list(weights_by_name(source).items())
    name, arrays = layers[-1]
    layers[-1] = (name, [np.full_like(arrays[0], np.nan), arrays[1]])
    path = write_legacy_h5(tmp_path / "nan.h5", layers)
    target = fresh()
    before = weights_by_name(target)
    with pytest.raises(WeightsError, match="NaN"):
        load_weights(target, path)
    after = weights_by_name(target)
    for layer_name, arrays in before.items():
        for a, b in zip(arrays, after[layer_name], strict=True):
            np.testing.assert_array_equal(a, b)


def _rewrite_config(src: Path, dst: Path, edit) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zout.writestr(item, data)
    return dst


def _lambda_model(path: Path) -> Path:
    inputs = keras.Input((4,), name="x")
    y = keras.layers.Lambda(lambda t: t * 2, name="double")(inputs)
    keras.Model(inputs, keras.layers.Dense(2, name="d")(y)).save(path)
    return path


def test_refusals(source, tmp_path):
    good = tmp_path / "good.keras"
    source.save(good)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.h5"
    text.write_text("these are my notes\n")
    empty_zip = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty_zip, "w") as z:
        z.writestr("readme.txt", "hi")

    def foreign(config):
        layer = config["config"]["layers"][1]
        layer["class_name"], layer["module"] = "EvilConv", "evil.layers"

    def savedmodel_layer(config):
        layer = config["config"]["layers"][1]
        layer["class_name"] = "TFSMLayer"
        layer["config"]["filepath"] = "/somewhere/else"

    def not_a_model(config):
        config["class_name"] = "Dense"

    cases = {
        truncated: "not a .keras model (not a zip archive",
        text: "not an HDF5 weights file (it starts with 'these ar')",
        empty_zip: "not a Keras model (the archive has no config.json)",
        _lambda_model(tmp_path / "lambda.keras"): "layer 'double' is a Lambda layer",
        _rewrite_config(good, tmp_path / "foreign.keras", foreign):
            "has class 'EvilConv' from 'evil.layers', which is not a Keras layer",
        _rewrite_config(good, tmp_path / "tfsm.keras", savedmodel_layer):
            "layer 'conv1' is a TFSMLayer layer (it loads a model from a path",
        _rewrite_config(good, tmp_path / "dense.keras", not_a_model):
            "not a Keras functional or sequential model",
        tmp_path / "missing.keras": "no such file",
        tmp_path: "is a folder",
        tmp_path / "weights.npz": "no such file",
    }
    (tmp_path / "odd.txt").write_text("x")
    cases[tmp_path / "odd.txt"] = "expected a .keras model or a .weights.h5"
    for path, needle in cases.items():
        target = fresh()
        before = weights_by_name(target)
        with pytest.raises(WeightsError) as info:
            load_weights(target, path)
        assert needle in str(info.value), (path, str(info.value))
        assert str(path) in str(info.value)
        for name, arrays in before.items():
            for a, b in zip(arrays, weights_by_name(target)[name], strict=True):
                np.testing.assert_array_equal(a, b)


def test_hdf5_that_is_not_keras_weights(tmp_path):
    import h5py

    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.zeros((2, 2)))
    with pytest.raises(WeightsError, match="not Keras weights"):
        read_weights(path)


def test_cli_export_with_bad_weights_exits_1_without_traceback(tmp_path, capsys):
    graph = graphs.write(tmp_path / "g.json", graphs.small())
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"PK\x03\x04 broken")
    out = tmp_path / "out.keras"
    assert cli.main(["export", str(graph), "--format", "keras", "--out", str(out),
                     "--init-weights", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.keras" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_export_when_nothing_matches_exits_1(tmp_path, capsys):
    graph = graphs.write(tmp_path / "g.json", graphs.small())
    other = tmp_path / "other.weights.h5"
    inputs = keras.Input((3,), name="x")
    keras.Model(inputs, keras.layers.Dense(2, name="unrelated")(inputs)).save_weights(other)
    assert cli.main(["export", str(graph), "--format", "keras", "--out",
                     str(tmp_path / "o.keras"), "--init-weights", str(other)]) == 1
    captured = capsys.readouterr()
    assert "no layer of" in captured.err and "skipped conv1: not in the file" in captured.out


def test_report_lines_are_plain():
    report = LoadReport("f.keras", matched=["a"], skipped=[Skipped("b", "not in the file")],
                        unused=["c"])
    assert report.lines() == ["weights: f.keras: loaded 1 layer(s), skipped 1", "  loaded: a",
                              "  skipped b: not in the file", "  unused in the file: c"]
    assert report.missing == ["b"] and str(report.skipped[0]) == "b: not in the file"


def test_optimizer_state_in_a_keras_file_is_not_a_layer(tmp_path):
    built = built_from(graphs.small())
    model = built.model
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.zeros((4, 16, 16, 3), "float32")
    model.fit(x, np.zeros(4, "int32"), epochs=1, verbose=0)
    path = tmp_path / "trained.keras"
    model.save(path)
    weights = read_weights(path)
    assert set(weights) == {"conv1", "bn1", "res1_1_conv", "res1_1_bn", "res1_0_conv",
                            "res1_2_conv", "res1_0_bn", "res1_2_bn", "fc"}
    report = load_weights(fresh(), path)
    assert report.unused == [] and len(report.matched) == 9


def test_corrupted_bytes_inside_the_archive(source, tmp_path):
    good = tmp_path / "good.keras"
    source.save(good)
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("model.weights.h5")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 200, start + 1200):
        data[i] ^= 0xFF
    bad = tmp_path / "flipped.keras"
    bad.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="flipped.keras"):
        load_weights(fresh(), bad)
