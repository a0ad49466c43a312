"""Streaming file datasets (issue 10 points 1-4, issue 11's dataset items): content sniffing,
folder and CSV scans, the tf.data pipeline, cache plans, class weights, end-to-end training."""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground.data import stream
from playground.data.csv_index import load_csv
from playground.data.dataset import DatasetError, load_dataset
from playground.data.feeds import class_weights
from playground.data.folder import load_folder
from playground.data.memory import cgroup_headroom
from playground.data.sniff import BadImage, NotAnImage, identify
from playground.training.config import RunConfig
from playground.training.runner import run_training
from tests.training.helpers import tiny

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n(GS_RAN_MARKER) print flush\n"


def photo(path, shade: int, size=(12, 10), fmt=None, mode="RGB", **kw) -> None:
    rng = np.random.default_rng(shade)
    arr = np.clip(rng.random((size[1], size[0], 3)) * 40 + shade, 0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    if mode != "RGB":
        img = img.convert(mode)
    img.save(path, format=fmt, **kw)


def folder(root, per_class=6, classes=("cats", "dogs"), size=(12, 10), ext="png"):
    for ci, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            photo(root / name / f"{i}.{ext}", 30 + 170 * ci + i, size)
    return root


# ------------------------------------------------------------------------------ sniffing
def test_formats_are_identified_by_content_with_their_size(tmp_path):
    photo(tmp_path / "a.jpg", 10, (31, 21), "JPEG", progressive=True)
    photo(tmp_path / "cmyk.jpg", 10, (16, 12), "JPEG", mode="CMYK")
    photo(tmp_path / "b.webp", 10, (9, 7), "WEBP")
    photo(tmp_path / "c.bmp", 10, (9, 7), "BMP")
    Image.fromarray(np.full((11, 13), 40000, np.uint16)).save(tmp_path / "deep.png")
    frames = [Image.new("RGB", (8, 9), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    photo(tmp_path / "really-a-jpeg.png", 10, (5, 4), "JPEG")
    got = {p.name: identify(str(p)) for p in tmp_path.iterdir()}
    assert (got["a.jpg"].format, got["a.jpg"].width, got["a.jpg"].height) == ("JPEG", 31, 21)
    assert got["cmyk.jpg"].format == "JPEG" and got["b.webp"].format == "WebP"
    assert (got["c.bmp"].width, got["c.bmp"].height) == (9, 7)
    assert (got["deep.png"].width, got["deep.png"].height) == (13, 11)
    assert got["anim.gif"].frames == 3
    assert got["really-a-jpeg.png"].format == "JPEG"


def test_postscript_pdf_svg_fifos_bombs_and_truncation_are_refused(tmp_path):
    (tmp_path / "eps.png").write_bytes(EPS)
    (tmp_path / "doc.png").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "v.png").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    os.mkfifo(tmp_path / "fifo.png")  # would block a plain open() forever
    photo(tmp_path / "ok.png", 10)
    data = bytearray((tmp_path / "ok.png").read_bytes())
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    (tmp_path / "bomb.png").write_bytes(bytes(data))
    (tmp_path / "cut.png").write_bytes((tmp_path / "ok.png").read_bytes()[:-20])
    with pytest.raises(NotAnImage, match="PostScript"):
        identify(str(tmp_path / "eps.png"))
    with pytest.raises(NotAnImage, match="PDF"):
        identify(str(tmp_path / "doc.png"))
    with pytest.raises(NotAnImage, match="SVG"):
        identify(str(tmp_path / "v.png"))
    with pytest.raises(NotAnImage, match="FIFO"):
        identify(str(tmp_path / "fifo.png"))
    with pytest.raises(BadImage, match="image bomb.*100000 x 100000"):
        identify(str(tmp_path / "bomb.png"))
    with pytest.raises(BadImage, match="truncated"):
        identify(str(tmp_path / "cut.png"))


def test_a_gif_with_many_frames_counts_as_a_bomb(tmp_path):
    frames = [Image.new("RGB", (400, 400), (i % 200, 0, 0)) for i in range(600)]
    frames[0].save(tmp_path / "long.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(BadImage, match="x 600 frames"):
        identify(str(tmp_path / "long.gif"), max_pixels=50_000_000)


# ------------------------------------------------------------------------------ folder scan
def test_folder_scan_decodes_nothing_and_keeps_keras_class_order(tmp_path):
    root = folder(tmp_path / "set", classes=("b", "a", "c"))
    data = load_folder(str(root), (8, 8), 3)
    assert data.class_names == ["a", "b", "c"]     # sorted, like image_dataset_from_directory
    assert len(data.paths) == 18 and data.class_counts() == [6, 6, 6]
    assert "a 6, b 6, c 6" in data.notes[0]
    assert data.x.shape == (18, 8, 8, 3) and len(data.x) == 18
    view = data.x[np.array([0, 7])]                # lazy: nothing decoded yet
    assert len(view) == 2
    images = np.asarray(view)
    assert images.shape == (2, 8, 8, 3) and images.dtype == np.uint8


def test_symlinks_leaving_the_folder_are_not_followed(tmp_path):
    outside = folder(tmp_path / "outside", classes=("secret",))
    root = folder(tmp_path / "set")
    os.symlink(outside / "secret", root / "zz_linked_class")
    os.symlink(outside / "secret" / "0.png", root / "cats" / "leak.png")
    os.symlink(root / "dogs", root / "cats" / "sub")          # a sub-folder link: not walked
    os.symlink("loop.png", root / "dogs" / "loop.png")         # a symlink loop
    (root / "cats" / "inner.png").symlink_to(root / "dogs" / "0.png")  # inside: followed
    with pytest.raises(DatasetError, match=r"loop\.png.*(symbolic links|cannot be opened)"):
        load_folder(str(root), (8, 8), 3)
    data = load_folder(str(root), (8, 8), 3, bad_images="skip")
    assert data.class_names == ["cats", "dogs"]
    assert not any("outside" in p for p in data.paths)
    assert any(p.endswith("inner.png") for p in data.paths)
    notes = "\n".join(data.notes)
    assert "zz_linked_class" in notes and "leak.png" in notes and "loop.png" in notes


def test_bad_files_stop_the_scan_by_name_or_are_skipped_and_named(tmp_path):
    root = folder(tmp_path / "set")
    (root / "cats" / "eps.png").write_bytes(EPS)
    os.mkfifo(root / "dogs" / "fifo.png")
    with pytest.raises(DatasetError, match=r"eps\.png: is PostScript.*--bad-images skip"):
        load_folder(str(root), (8, 8), 3)
    data = load_folder(str(root), (8, 8), 3, bad_images="skip")
    assert len(data.paths) == 12 and data.skipped == 2
    notes = "\n".join(data.notes)
    assert "skipped 2 unreadable or non-image file(s)" in notes
    assert "eps.png" in notes and "fifo.png" in notes


# ------------------------------------------------------------------------------ CSV index
def _csv(tmp_path, text: str | bytes, name="index.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def test_csv_index_with_names_or_numbers(tmp_path):
    folder(tmp_path / "img")
    rows = [f"img/cats/{i}.png,cat" for i in range(6)] + [f"img/dogs/{i}.png,dog"
                                                           for i in range(6)]
    data = load_csv(_csv(tmp_path, "path,label\n" + "\n".join(rows) + "\n"), (8, 8), 1)
    assert data.class_names == ["cat", "dog"] and data.class_counts() == [6, 6]
    assert data.x.shape == (12, 8, 8, 1)
    nums = [f"./img/cats/{i}.png,1" for i in range(3)] + [f"img/dogs/{i}.png,0"
                                                          for i in range(3)]
    data = load_csv(_csv(tmp_path, "x:image,y:label\r\n" + "\r\n".join(nums), "nnc.csv"))
    assert data.class_names == ["0", "1"] and data.y.tolist() == [1, 1, 1, 0, 0, 0]


def test_csv_errors_name_the_file_and_line(tmp_path):
    folder(tmp_path / "img")
    ok = "img/cats/0.png,cat\nimg/dogs/0.png,dog\n"
    cases = {
        "no header": ("img/cats/0.png,cat\n", r"line 1: missing header"),
        "missing file": ("path,label\n" + ok + "img/cats/nope.png,cat\n",
                         r"line 4: img/cats/nope.png: file not found"),
        "unknown label": ("path,label\nimg/cats/0.png,0\nimg/cats/1.png,0\n"
                          "img/dogs/0.png,1\nimg/dogs/1.png,dgo\n", r"line 5: unknown label 'dgo'"),
        "huge label": ("path,label\nimg/cats/0.png,0\nimg/dogs/0.png,1000000000000\n",
                       r"line 3: label 1000000000000 is out of range"),
        "columns": ("path,label\n" + ok + "img/cats/1.png\n", r"line 4: expected 2 columns"),
        "escape": ("path,label\n" + ok + "../x.png,cat\n", r"line 4: \.\./x\.png leads out"),
        "absolute": ("path,label\n" + ok + "/etc/passwd,cat\n", r"line 4: /etc/passwd: paths"),
        "empty": ("", r"empty"),
    }
    for name, (text, pattern) in cases.items():
        path = _csv(tmp_path, text, f"{name}.csv")
        with pytest.raises(DatasetError, match=pattern) as info:
            load_csv(path)
        assert path in str(info.value), name
    bad = _csv(tmp_path, b"path,label\nimg/cats/0.png,cat\nimg/dogs/0.png,d\xe9g\n", "latin.csv")
    with pytest.raises(DatasetError, match=r"latin\.csv: line 3: not UTF-8"):
        load_csv(bad)
    (tmp_path / "img" / "cats" / "eps.png").write_bytes(EPS)
    eps = _csv(tmp_path, "path,label\n" + ok + "img/cats/eps.png,cat\n", "eps.csv")
    with pytest.raises(DatasetError, match=r"eps\.png \(line 4 of .*eps\.csv\): is PostScript"):
        load_csv(eps)


# ------------------------------------------------------------------------------ pipeline
def test_pipeline_decodes_in_seeded_order_caches_and_rescales(tmp_path):
    data = load_folder(str(folder(tmp_path / "set")), (8, 8), 3)
    plan = stream.plan_cache(len(data.paths), (8, 8, 3), "file", str(tmp_path))
    assert plan.mode == "file"
    feed = stream.make_feed(data.paths, data.y, (8, 8, 3), 4, train=True, seed=3,
                            cache=plan, to_device=False)
    first = [(x.numpy(), y.numpy()) for x, y in feed.dataset]
    again = [(x.numpy(), y.numpy()) for x, y in feed.dataset]  # second epoch: from the cache
    assert any(name.startswith(".cache-train") for name in os.listdir(tmp_path))
    xs = np.concatenate([x for x, _ in first])
    ys = np.concatenate([y for _, y in first])
    assert xs.shape == (12, 8, 8, 3) and xs.dtype == np.float32 and xs.max() <= 1.0
    # Bright dogs, dark cats: every label travelled with its own image.
    assert ((xs.mean(axis=(1, 2, 3)) > 0.5) == (ys == 1)).all()
    assert sorted(np.concatenate([y for _, y in again]).tolist()) == sorted(ys.tolist())
    plan.cleanup()
    assert not any(name.startswith(".cache-") for name in os.listdir(tmp_path))


def test_cache_plan_budget_and_fallbacks(tmp_path):
    shape = (224, 224, 3)
    small = stream.plan_cache(100, shape, "auto", str(tmp_path), memory=8 * 1024 ** 3)
    assert small.mode == "memory"
    big = stream.plan_cache(12_000, shape, "auto", str(tmp_path), memory=8 * 1024 ** 3)
    assert big.mode == "file" and "over the memory budget" in big.reason
    assert stream.plan_cache(12_000, shape, "memory", str(tmp_path),
                             memory=64 * 1024 ** 3).mode == "memory"  # a quarter of 64 GiB
    assert stream.plan_cache(12_000, shape, "auto", None, memory=1024 ** 3).mode == "none"
    assert stream.plan_cache(10, shape, "none", str(tmp_path)).mode == "none"
    with pytest.raises(DatasetError, match="cache 'ram'"):
        stream.plan_cache(10, shape, "ram")


def test_a_killed_runs_cache_files_are_removed(tmp_path):
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    for name in (f".cache-train-{dead}.index", f".cache-train-{dead}_0.lockfile",
                 f".cache-val-{os.getpid()}.index", "history.csv"):
        (tmp_path / name).write_text("x")
    plan = stream.plan_cache(10_000, (224, 224, 3), "file", str(tmp_path))
    assert plan.mode == "file"
    assert sorted(os.listdir(tmp_path)) == [f".cache-val-{os.getpid()}.index", "history.csv"]


def test_cgroup_limit_is_respected(tmp_path):
    (tmp_path / "memory.max").write_text("1073741824\n")
    (tmp_path / "memory.current").write_text("268435456\n")
    assert cgroup_headroom(str(tmp_path)) == 768 * 1024 ** 2
    (tmp_path / "memory.max").write_text("max\n")
    assert cgroup_headroom(str(tmp_path)) is None


def test_class_weights_are_balanced():
    weights = class_weights(np.array([0] * 90 + [1] * 10), 3)
    assert weights[0] == pytest.approx(100 / (2 * 90)) and weights[1] == pytest.approx(5.0)
    assert weights[2] == 1.0  # absent from the training split


def test_prefetch_to_a_device_feeds_fit(tmp_path):
    import keras

    data = load_folder(str(folder(tmp_path / "set")), (8, 8), 3)
    feed = stream.make_feed(data.paths, data.y, (8, 8, 3), 4, train=True, seed=0,
                            device="/cpu:0")
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    with warnings.catch_warnings():  # device prefetch hides the length: Keras warns per epoch
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        history = model.fit(feed.dataset, epochs=2, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2


# ------------------------------------------------------------------------------ training
def test_folder_and_csv_train_end_to_end_with_class_weights(tmp_path):
    root = folder(tmp_path / "set", per_class=10)
    rows = [f"set/cats/{i}.png,cat" for i in range(10)] + [f"set/dogs/{i}.png,dog"
                                                           for i in range(4)]
    index = _csv(tmp_path, "path,label\n" + "\n".join(rows) + "\n")
    for spec, extra in ((str(root), {}), (index, {"class_weights": True})):
        logs: list[str] = []
        result = run_training(
            tiny(shape=(8, 8, 3)),
            RunConfig(dataset=spec, epochs=6, batch_size=4, lr=0.05, seed=1, **extra),
            sink=lambda e, out=logs: out.append(e.get("text", "")),
            run_dir=tmp_path / f"run{len(spec)}")
        assert result.status == "finished", result.message
        text = "\n".join(logs)
        assert "train per class:" in text and "cache: decoded images cached in memory" in text
        assert result.evaluation is not None and result.evaluation["split"] == "validation"
        assert result.dataset.class_names == (["cats", "dogs"] if spec == str(root)
                                              else ["cat", "dog"])
        if extra:
            assert "class weights: cat 0.688, dog 1.83" in text  # 8 cats, 3 dogs in train
        assert not any(n.startswith(".cache-") for n in os.listdir(result.run_dir))


def _corrupt_png(path) -> None:
    """A PNG with a valid header and end but garbage pixel data: passes the scan, fails the
    decoder in the middle of an epoch."""
    buf = io.BytesIO()
    Image.new("RGB", (12, 10), (1, 2, 3)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    start = data.index(b"IDAT") + 4
    data[start:start + 8] = b"\xde\xad\xbe\xef" * 2
    path.write_bytes(bytes(data))


def test_a_file_that_fails_mid_epoch_stops_by_name_or_is_skipped(tmp_path):
    root = folder(tmp_path / "set")
    _corrupt_png(root / "dogs" / "3b.png")
    config = RunConfig(dataset=str(root), epochs=2, batch_size=4, val_split=0.0)
    result = run_training(tiny(shape=(8, 8, 3)), config, keep_runs=False)
    assert result.status == "error" and result.bad_data
    assert "3b.png" in result.message and "skip" in result.message
    logs: list[str] = []
    config = RunConfig(dataset=str(root), epochs=2, batch_size=4, val_split=0.0,
                       bad_images="skip")
    result = run_training(tiny(shape=(8, 8, 3)), config, keep_runs=False,
                          sink=lambda e: logs.append(e.get("text", "")))
    assert result.status == "finished", result.message
    assert any("skipped unreadable image" in t and "3b.png" in t for t in logs)


def test_cli_options_reach_the_run(tmp_path, capsys, monkeypatch):
    from tests.reliability.helpers import run_cli, tiny_document, write_graph

    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    root = folder(tmp_path / "set")
    graph = write_graph(tmp_path / "g.json", tiny_document())
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--epochs", "1",
                             "--batch-size", "4", "--cache", "none", "--class-weights",
                             "--bad-images", "skip", "--no-run")
    assert code == 0, err
    assert "cache: cache off" in err and "class weights: cats 1, dogs 1" in err
    assert "train per class: cats 5, dogs 5" in err
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--cache", "ram")
    assert code == 2 and "--cache" in err


def test_fifos_named_csv_or_npz_are_refused_without_blocking(tmp_path):
    for name in ("index.csv", "data.npz"):
        os.mkfifo(tmp_path / name)
        with pytest.raises(DatasetError, match=rf"{name}: is not a regular file \(a FIFO\)"):
            load_dataset(str(tmp_path / name), (8, 8, 3))


def test_a_bad_file_in_the_test_split_is_named(tmp_path):
    root = folder(tmp_path / "set", per_class=6)
    data = load_folder(str(root), (8, 8), 3)
    from playground.data.adapt import split_indices
    from playground.data.feeds import DataFeeds

    config = RunConfig(dataset=str(root), val_split=0.0, test_split=0.34, seed=0)
    split = split_indices(len(data.y), 0.0, 0.34, seed=0, labels=data.y)
    victim = data.paths[int(split.test[0])]
    feeds = DataFeeds(data, (8, 8, 3), config, lambda text: None)
    _corrupt_png(Path(victim))
    plan = feeds.evaluation(4)
    import keras

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(DatasetError, match=re.escape(victim)):
        plan.predict(model)
