"""Datasets: embedded digits, .npz checks, image folders, keras.datasets offline, adaptation."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from playground.data import keras_sets
from playground.data.adapt import split_indices
from playground.data.augment import parse_augment
from playground.data.dataset import DatasetError, load_dataset
from playground.data.digits import load_digits
from playground.data.folder import load_folder
from playground.data.npz import load_npz


def test_digits_are_the_uci_set_as_uint8_images():
    data = load_digits()
    assert data.x.shape == (1797, 8, 8, 1) and data.x.dtype == np.uint8
    assert data.x.max() == 255 and data.x.min() == 0
    assert np.bincount(data.y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert data.num_classes == 10
    # The first sklearn digit is a zero whose pixel (0, 2) is 5/16 -> round(5 * 255 / 16) = 80.
    assert data.y[0] == 0 and data.x[0, 0, 2, 0] == 80


def _npz(tmp_path, name="d.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def test_npz_loads_and_refuses_nan_and_bad_labels(tmp_path):
    x = np.random.default_rng(0).random((6, 5, 5)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    data = load_npz(_npz(tmp_path, x=x, y=y))
    assert data.x.shape == (6, 5, 5, 1) and data.x.dtype == np.uint8 and data.num_classes == 3
    bad = x.copy()
    bad[3, 1, 1] = np.nan
    with pytest.raises(DatasetError, match=r"x\[3\].*NaN"):
        load_npz(_npz(tmp_path, "nan.npz", x=bad, y=y))
    with pytest.raises(DatasetError, match=r"y\[4\] = -1 is out of range"):
        load_npz(_npz(tmp_path, "neg.npz", x=x, y=np.array([0, 1, 2, 0, -1, 2])))
    with pytest.raises(DatasetError, match=r"y\[1\] = 7 is out of range \(expected 0\.\.2\)"):
        load_npz(_npz(tmp_path, "names.npz", x=x, y=np.array([0, 7, 2, 0, 1, 2]),
                      class_names=np.array(["a", "b", "c"])))
    with pytest.raises(DatasetError, match="missing array"):
        load_npz(_npz(tmp_path, "noy.npz", x=x))
    with pytest.raises(DatasetError, match="only one class"):
        load_npz(_npz(tmp_path, "one.npz", x=x, y=np.zeros(6, int)))
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(DatasetError, match="junk.npz"):
        load_npz(str(tmp_path / "junk.npz"))


def make_folder(root, per_class=4, classes=("cat", "dog"), size=(12, 10)):
    rng = np.random.default_rng(1)
    for ci, name in enumerate(classes):
        os.makedirs(root / name, exist_ok=True)
        for i in range(per_class):
            arr = (rng.random((size[0], size[1], 3)) * 60 + ci * 150).astype(np.uint8)
            Image.fromarray(arr).save(root / name / f"{i}.png")
    return root


def test_folder_with_mixed_sizes_modes_and_stray_files(tmp_path):
    root = make_folder(tmp_path / "imgs")
    Image.new("L", (20, 16), 200).save(root / "cat" / "gray.jpg")
    Image.new("P", (7, 7), 3).save(root / "dog" / "pal.gif")
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / "README").write_text("top-level files are ignored")
    data = load_folder(str(root), image_size=(8, 8))
    assert data.class_names == ["cat", "dog"]
    assert data.x.shape == (10, 8, 8, 3)
    assert np.bincount(data.y).tolist() == [5, 5]
    assert data.skipped == 1
    assert any("skipped 1 non-image" in n for n in data.notes)
    assert any("resized to 8x8 when decoded" in n for n in data.notes)
    # The grayscale image became RGB with equal channels (decoded only when asked for).
    gray = data.x[4]  # cat/gray.jpg sorts after 0..3.png
    assert (gray == 200).all()
    assert (gray[..., 0] == gray[..., 1]).all()


def test_folder_errors_name_the_culprit(tmp_path):
    root = make_folder(tmp_path / "bad")
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DatasetError, match=r"broken\.png.*(corrupt|truncated)"):
        load_folder(str(root))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no class subfolders"):
        load_folder(str(empty))
    one = make_folder(tmp_path / "one", classes=("only",))
    with pytest.raises(DatasetError, match=r"only one class \(only\)"):
        load_folder(str(one))
    hollow = make_folder(tmp_path / "hollow")
    (hollow / "bird").mkdir()
    with pytest.raises(DatasetError, match="bird hold no images"):
        load_folder(str(hollow))
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(str(tmp_path / "missing"))


def test_keras_dataset_offline_names_the_file_to_place(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setattr(keras_sets, "ORIGIN_BASE", "http://127.0.0.1:9/")  # refused at once
    expected = os.path.join(str(tmp_path / "kh"), "datasets", "mnist.npz")
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist")
    assert expected in str(info.value) and "place it as" in str(info.value)
    assert not os.path.exists(expected)


def test_keras_dataset_loads_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_sets, "ORIGIN_BASE", "http://127.0.0.1:9/")
    os.makedirs(tmp_path / "datasets")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "datasets" / "mnist.npz",
             x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
             y_train=np.arange(20) % 10,
             x_test=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
             y_test=np.arange(5))
    data = load_dataset("mnist")
    assert data.x.shape == (20, 28, 28, 1) and data.x_test.shape == (5, 28, 28, 1)
    assert data.num_classes == 10 and data.y_test.tolist() == [0, 1, 2, 3, 4]


def test_split_is_seeded_stratified_and_disjoint():
    labels = np.repeat(np.arange(3), 10)
    a = split_indices(30, 0.2, 0.1, seed=3, labels=labels)
    b = split_indices(30, 0.2, 0.1, seed=3, labels=labels)
    assert (a.val == b.val).all() and (a.train == b.train).all()
    assert len(a.val) == 6 and len(a.test) == 3 and len(a.train) == 21
    assert np.bincount(labels[a.val]).tolist() == [2, 2, 2]
    assert not set(a.train) & set(a.val) and not set(a.val) & set(a.test)
    assert not (split_indices(30, 0.2, seed=4, labels=labels).val == a.val).all()
    with pytest.raises(DatasetError):
        split_indices(30, 0.6, 0.5)


def test_augment_names():
    assert parse_augment("flip, color,cutout") == ["flip", "colour", "cutout"]
    assert parse_augment(None) == []
    with pytest.raises(DatasetError, match="'twirl'"):
        parse_augment("twirl")
