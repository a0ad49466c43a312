"""``predict`` and ``inspect`` commands: JSON contract, the run's classes, exit codes, files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playground.cli import main
from tests.predict.helpers import make_run, pattern, small_graph, write_png

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_and_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("predict")
    run_dir, model = make_run(tmp, small_graph(), ["circle", "square", "triangle"])
    return run_dir, model, tmp


def _expected(model, pixels):
    from playground.data.adapt import preprocess

    return model(np.asarray(preprocess(pixels[None], (12, 12, 1)))).numpy()[0]


def test_predict_json_uses_the_runs_weights_and_class_names(run_and_model, tmp_path, capsys):
    run_dir, model, _ = run_and_model
    a = write_png(tmp_path / "a.png", pattern(12, 12, 1))
    big = np.repeat(pattern(24, 30, 2), 3, axis=2)          # other size, RGB: adapted
    b = write_png(tmp_path / "b.png", big)
    assert main(["predict", run_dir, a, b, "--top", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert [r["image"] for r in result] == [a, b]
    from PIL import Image

    for res, path in zip(result, (a, b), strict=True):
        pixels = np.asarray(Image.open(path))
        pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
        probs = _expected(model, pixels)
        order = np.argsort(-probs)[:2]
        assert [t["index"] for t in res["top"]] == order.tolist()
        assert [t["class"] for t in res["top"]] == [["circle", "square", "triangle"][i]
                                                   for i in order]
        assert [t["p"] for t in res["top"]] == pytest.approx(probs[order].tolist(), rel=1e-5)
    assert "resized 24x30 -> 12x12" in err and "RGB -> grayscale" in err
    assert "random" not in err


def test_predict_text_and_keras_file(run_and_model, tmp_path, capsys):
    run_dir, model, _ = run_and_model
    path = tmp_path / "m.keras"
    model.save(path)
    img = write_png(tmp_path / "x.png", pattern(12, 12, 4))
    assert main(["predict", str(path), img, "--top", "3"]) == 0
    out = capsys.readouterr().out
    probs = _expected(model, pattern(12, 12, 4))
    best = int(np.argmax(probs))
    assert out.splitlines()[0] == img
    assert out.splitlines()[1].split()[:2] == [str(best), str(best)]   # no names in a .keras
    assert f"{probs[best]:7.2%}".strip() in out.splitlines()[1]
    odd = write_png(tmp_path / "two\nlines.png", pattern(12, 12, 4))  # a name with a newline
    assert main(["predict", str(path), odd, "--top", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(tmp_path / "two\\nlines.png") and len(lines) == 2


def test_untrained_graph_says_the_weights_are_random(tmp_path, capsys):
    from playground.core.fileformat import save

    graph_path = tmp_path / "g.json"
    save(small_graph(), graph_path)
    img = write_png(tmp_path / "x.png", pattern())
    assert main(["predict", str(graph_path), img, "--json"]) == 0
    out, err = capsys.readouterr()
    assert "weights are random" in err
    assert len(json.loads(out)[0]["top"]) == 3


@pytest.mark.parametrize("make, code, words", [
    (lambda p: p.write_bytes(b"%!PS-Adobe-3.0 EPSF"), 2,
     "is PostScript, not an image this app reads"),
    (lambda p: p.write_text("not an image"), 2, "is not an image this app reads"),
    (lambda p: None, 2, "no such file"),
])
def test_bad_images_exit_2_naming_the_file(run_and_model, tmp_path, capsys, make, code, words):
    run_dir, _, _ = run_and_model
    path = tmp_path / "bad.png"
    make(path)
    assert main(["predict", run_dir, str(path)]) == code
    err = capsys.readouterr().err
    assert str(path) in err and words in err and "Traceback" not in err


def test_a_run_on_an_image_folder_adapts_like_the_file_pipeline(run_and_model, tmp_path,
                                                                capsys):
    import shutil

    run_dir, model, _ = run_and_model
    folder_run = tmp_path / "folder_run"
    shutil.copytree(run_dir, folder_run)
    config = json.loads((folder_run / "config.json").read_text())
    config["config"] = {"dataset": str(tmp_path / "shapes")}     # a folder of class folders
    (folder_run / "config.json").write_text(json.dumps(config))
    rgb = np.repeat(pattern(20, 20, 6), 3, axis=2)
    img = write_png(tmp_path / "x.png", rgb)
    assert main(["predict", str(folder_run), img, "--json", "--top", "3"]) == 0
    out, err = capsys.readouterr()
    assert "rounded to 0..255" in err
    from playground.inspect.images import adapt

    expected = model(adapt(rgb, (12, 12, 1), "files")).numpy()[0]
    top = json.loads(out)[0]["top"]
    assert [t["p"] for t in top] == pytest.approx(np.sort(expected)[::-1][:3].tolist(),
                                                  rel=1e-5)


def test_bad_model_paths(tmp_path, capsys):
    img = write_png(tmp_path / "x.png", pattern())
    assert main(["predict", str(tmp_path / "nope"), img]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), img]) == 2       # a folder that is not a run
    assert "not a run folder" in capsys.readouterr().err
    (tmp_path / "fake.keras").write_text("hello")
    assert main(["predict", str(tmp_path / "fake.keras"), img]) == 2
    assert "not a zip archive" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "fake.keras"), img, "--top", "0"]) == 2
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{broken")
    assert main(["predict", str(run), img]) == 1            # a model problem
    assert "not a readable run configuration" in capsys.readouterr().err


def test_bad_files_are_refused_before_tensorflow_is_imported(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"%!PS-Adobe-3.0 EPSF")
    code = ("import sys; from playground.cli import main; rc = main(sys.argv[1:]); "
            "print('TF' if 'tensorflow' in sys.modules else 'noTF'); raise SystemExit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "predict", str(tmp_path), str(bad)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and proc.stdout.strip() == "noTF"
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    proc = subprocess.run([sys.executable, "-c", code, "inspect", str(run), "--image", str(bad),
                           "--node", "a", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and proc.stdout.strip() == "noTF"
    assert str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_inspect_writes_the_slides(run_and_model, tmp_path, capsys):
    run_dir, model, _ = run_and_model
    img = write_png(tmp_path / "x.png", pattern(12, 12, 5))
    out = tmp_path / "out"
    assert main(["inspect", run_dir, "--image", img, "--node", "a", "--class", "2",
                 "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["a_features.png", "a_filters.png", "gradcam.npy", "gradcam.png",
                     "prediction.json", "saliency.png"]
    cam = np.load(out / "gradcam.npy", allow_pickle=False)
    assert cam.shape == (10, 10) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    pred = json.loads((out / "prediction.json").read_text())
    assert pred["index"] == 2 and pred["class"] == "triangle" and pred["node"] == "a"
    assert pred["gradcam_shape"] == [10, 10] and pred["random_weights"] is False
    from PIL import Image

    with Image.open(out / "a_filters.png") as filters:
        assert filters.mode == "RGB" and filters.size[0] > 40
    # the same map as the Python API
    from playground.inspect.images import adapt, read_image
    from playground.inspect.maps import Inspector
    from playground.inspect.model import load_model_source

    loaded = load_model_source(run_dir)
    maps = Inspector(loaded).run(adapt(read_image(img).pixels, loaded.input_shape), "a", 2)
    np.testing.assert_allclose(cam, maps.gradcam, atol=1e-6)


def test_inspect_dense_node_and_unknown_node(run_and_model, tmp_path, capsys):
    run_dir, _, _ = run_and_model
    img = write_png(tmp_path / "x.png", pattern())
    out = tmp_path / "dense"
    assert main(["inspect", run_dir, "--image", img, "--node", "out", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "node out (Dense)" in err and "not a spatial map" in err
    assert sorted(p.name for p in out.iterdir()) == ["prediction.json", "saliency.png"]
    assert main(["inspect", run_dir, "--image", img, "--node", "zz", "--out", str(out)]) == 1
    assert "no node 'zz'" in capsys.readouterr().err
    named = tmp_path / "named"
    assert main(["inspect", run_dir, "--image", img, "--node", "b", "--class", "square",
                 "--out", str(named)]) == 0
    assert json.loads((named / "prediction.json").read_text())["index"] == 1
    capsys.readouterr()
    assert main(["inspect", run_dir, "--image", img, "--node", "b", "--class", "hexagon",
                 "--out", str(named)]) == 1
    assert "not a class of the model (circle, square, triangle)" in capsys.readouterr().err
    assert main(["inspect", run_dir, "--image", img, "--node", "b", "--class", "5",
                 "--out", str(named)]) == 1
    assert "class 5 is out of range" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["inspect", run_dir, "--image", img, "--node", "a",
                 "--out", str(tmp_path / "file")]) == 2


def test_models_that_do_not_classify_images_are_refused(tmp_path, capsys):
    from playground.core.fileformat import from_document, save

    seg = from_document({"format": "keras-playground-graph", "version": 1, "name": "seg",
                         "nodes": [{"id": "input", "type": "Input", "params": {"shape": [8, 8, 1]}},
                                   {"id": "conv", "type": "Conv2D",
                                    "params": {"filters": 2, "kernel_size": 1}}],
                         "edges": [{"from": "input", "to": "conv"}]})
    save(seg, tmp_path / "seg.json")
    img = write_png(tmp_path / "x.png", pattern(8, 8))
    assert main(["predict", str(tmp_path / "seg.json"), img]) == 1
    assert "its output is 8x8x2, not one vector of class probabilities" in \
        capsys.readouterr().err
