"""``export``: .keras and SavedModel files (atomic, --force), the generated Python script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from playground import cli
from playground.core import fileformat
from playground.keras_build.codegen import generate
from tests.cli import graphs
from tests.keras_build.helpers import built_from, outputs, randomize, weights_by_name

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return graphs.write(tmp_path / "small.json", graphs.small())


@pytest.fixture
def umask022():
    """A known umask, so the modes the exports get can be asserted."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_keras_export_reloads_safely_with_same_counts(small, tmp_path, capsys, umask022):
    out = tmp_path / "model.keras"
    assert cli.main(["export", str(small), "--format", "keras", "--out", str(out)]) == 0
    assert f"wrote {out} (keras, 4,117 params)" in capsys.readouterr().out
    model = keras.saving.load_model(out, safe_mode=True)
    assert model.count_params() == 4117
    assert [layer.name for layer in model.layers][:3] == ["input", "conv1", "bn1"]
    assert "res1_1_conv" in [layer.name for layer in model.layers]
    assert leftovers(tmp_path) == []
    # The mode a plain save gives (umask 022), not the 0600 of the temp file it came from.
    assert out.stat().st_mode & 0o777 == 0o644


def test_existing_target_needs_force(small, tmp_path, capsys):
    out = tmp_path / "model.keras"
    out.write_bytes(b"precious")
    assert cli.main(["export", str(small), "--format", "keras", "--out", str(out)]) == 1
    assert "already exists; pass --force" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert cli.main(["export", str(small), "--format", "keras", "--out", str(out),
                     "--force"]) == 0
    assert keras.saving.load_model(out).count_params() == 4117


@pytest.mark.parametrize("out, needle", [
    ("model.h5", "must end in .keras"),
])
def test_bad_targets_are_refused_before_building(small, tmp_path, capsys, out, needle):
    assert cli.main(["export", str(small), "--format", "keras", "--out",
                     str(tmp_path / out)]) == 1
    assert needle in capsys.readouterr().err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_says_why(small, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert cli.main(["export", str(small), "--format", "keras", "--out",
                         str(locked / "m.keras")]) == 1
        assert "permission denied" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_format_and_arguments_errors_exit_2(small, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["export", str(small), "--format", "onnx", "--out", "x"])
    assert stop.value.code == 2
    assert cli.main(["export", str(small), "--format", "python", "--out",
                     str(tmp_path / "m.py"), "--init-weights", "imagenet"]) == 2
    assert "no effect with --format python" in capsys.readouterr().err


def test_invalid_graph_exits_1_with_problem_lines(tmp_path, capsys):
    path = graphs.write(tmp_path / "broken.json", graphs.invalid())
    assert cli.main(["export", str(path), "--format", "keras", "--out",
                     str(tmp_path / "m.keras")]) == 1
    assert "error: node big:" in capsys.readouterr().out
    assert not (tmp_path / "m.keras").exists()


def test_savedmodel_export_serves_the_same_outputs(small, tmp_path, capsys, umask022):
    import tensorflow as tf

    out = tmp_path / "served"
    assert cli.main(["export", str(small), "--format", "savedmodel", "--out", str(out)]) == 0
    assert (out / "saved_model.pb").is_file() and (out / "variables").is_dir()
    assert leftovers(tmp_path) == []
    assert out.stat().st_mode & 0o777 == 0o755  # not the 0700 of its staging folder
    # Existing folder: refused, then replaced with --force.
    assert cli.main(["export", str(small), "--format", "savedmodel", "--out", str(out)]) == 1
    assert "already exists; pass --force" in capsys.readouterr().err
    assert cli.main(["export", str(small), "--format", "savedmodel", "--out", str(out),
                     "--force", "--classes", "3"]) == 0
    served = tf.saved_model.load(str(out))
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    y = served.serve(x)
    assert tuple(y.shape) == (2, 3)
    np.testing.assert_allclose(np.asarray(y).sum(axis=1), 1.0, rtol=1e-5)
    assert leftovers(tmp_path) == []


def test_savedmodel_refuses_a_file_or_foreign_folder(small, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert cli.main(["export", str(small), "--format", "savedmodel", "--out", str(target),
                     "--force"]) == 1
    assert "not a folder" in capsys.readouterr().err
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"jpg")
    assert cli.main(["export", str(small), "--format", "savedmodel", "--out", str(folder),
                     "--force"]) == 1
    assert "not a SavedModel" in capsys.readouterr().err
    assert (folder / "holiday.jpg").exists()


def test_init_weights_from_a_keras_file(small, tmp_path, capsys):
    built = built_from(graphs.small())
    randomize(built.model, seed=3)
    source = tmp_path / "trained.keras"
    built.model.save(source)
    out = tmp_path / "started.keras"
    assert cli.main(["export", str(small), "--format", "keras", "--out", str(out),
                     "--init-weights", str(source)]) == 0
    text = capsys.readouterr().out
    assert "loaded 9 layer(s), skipped 0" in text
    loaded = keras.saving.load_model(out)
    expected = weights_by_name(built.model)
    for name, arrays in weights_by_name(loaded).items():
        for a, b in zip(arrays, expected[name], strict=True):
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ python script
RUNNER = r"""
import json, sys
import numpy as np
import runpy
jobs = json.loads(sys.argv[1])
for job in jobs:
    model = runpy.run_path(job["script"])["build_model"]()
    data = np.load(job["weights"])
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([data[f"{layer.name}::{i}"] for i in range(len(layer.weights))])
    x = np.load(job["input"])
    out = model(x, training=False)
    out = out if isinstance(out, (list, tuple)) else [out]
    np.savez(job["output"], *[np.asarray(o) for o in out])
    print(json.dumps({"params": model.count_params(),
                      "trainable": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
                      "names": [l.name for l in model.layers]}))
"""


def test_generated_script_rebuilds_the_same_model(tmp_path):
    jobs, expected = [], []
    for i, document in enumerate([graphs.small(), graphs.zoo()]):
        graph = fileformat.from_document(document)
        built = built_from(document)
        randomize(built.model, seed=i)
        source = generate(built, graph, source=f"{graph.name}.json")
        compile(source, "generated", "exec")  # valid Python
        assert "import playground" not in source and "from playground" not in source
        script = tmp_path / f"gen_{i}.py"
        script.write_text(source, encoding="utf-8")
        np.savez(tmp_path / f"w{i}.npz", **{f"{name}::{j}": a for name, arrays in
                                            weights_by_name(built.model).items()
                                            for j, a in enumerate(arrays)})
        shape = (2, *built.model.inputs[0].shape[1:])
        x = np.random.default_rng(9).normal(size=shape).astype("float32")
        np.save(tmp_path / f"x{i}.npy", x)
        jobs.append({"script": str(script), "weights": str(tmp_path / f"w{i}.npz"),
                     "input": str(tmp_path / f"x{i}.npy"),
                     "output": str(tmp_path / f"y{i}.npz")})
        expected.append((built, outputs(built.model, x)))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(jobs)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    for (built, want), report, job in zip(expected, reports, jobs, strict=True):
        model = built.model
        assert report["params"] == model.count_params()
        assert report["trainable"] == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        assert report["names"] == [layer.name for layer in model.layers]
        got = np.load(job["output"])
        assert len(got.files) == len(want)
        for k, w in enumerate(want):
            np.testing.assert_allclose(got[f"arr_{k}"], w, rtol=1e-4, atol=1e-5)


def test_script_is_readable(tmp_path, capsys):
    path = graphs.write(tmp_path / "zoo.json", graphs.zoo())
    out = tmp_path / "zoo_model.py"
    assert cli.main(["export", str(path), "--format", "python", "--out", str(out)]) == 0
    source = out.read_text(encoding="utf-8")
    assert "def build_model() -> keras.Model:" in source
    assert "class LocalResponseNormalization(keras.layers.Layer):" in source
    assert "class ZeroPadChannels(keras.layers.Layer):" in source
    assert "# inc: InceptionModule(" in source
    assert "name='inc_3x3_reduce'" in source
    assert "kernel_size=(3, 5)" in source
    assert "padding=((0, 1), (1, 0))" in source
    assert "        trainable=False,\n        name='conv-a',\n" in source
    assert "conv_a = layers.Conv2D(" in source
    body = source.split("def build_model")[1]
    assert "kernel_initializer" not in body and "dtype" not in body
    assert "outputs=[fc, aux]" in source


def test_unwritable_folder_message_without_root(small, tmp_path, capsys, monkeypatch):
    from playground.keras_build import export

    monkeypatch.setattr(export.os, "access", lambda *a, **k: False)
    assert cli.main(["export", str(small), "--format", "keras", "--out",
                     str(tmp_path / "m.keras")]) == 1
    assert "cannot write into the folder" in capsys.readouterr().err


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(small, tmp_path, capsys,
                                                             monkeypatch):
    import errno

    out = tmp_path / "model.keras"
    out.write_bytes(b"old model")

    def disk_full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", disk_full)
    assert cli.main(["export", str(small), "--format", "keras", "--out", str(out),
                     "--force"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert out.read_bytes() == b"old model"
    assert leftovers(tmp_path) == []
