"""Segmentation sets on disk: images/ + masks/ by stem, palette masks, classes.txt, CSV index,
and errors that name the file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from playground.data.dataset import DatasetError, load_dataset
from playground.data.segdata import is_segmentation
from playground.data.shapes import generate_shapes


def write_set(root, n=4, size=16, palette=False, classes=None):
    x, m = generate_shapes(n, size=size, seed=2, kinds=True)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        Image.fromarray(x[i, ..., 0]).save(root / "images" / f"s{i}.png")
        mask = Image.fromarray(m[i])
        if palette:
            mask = mask.convert("P")
            mask.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
            mask.putdata(m[i].ravel().tolist())
        mask.save(root / "masks" / f"s{i}.png")
    if classes is not None:
        (root / "classes.txt").write_text("\n".join(classes) + "\n")
    return x, m


@pytest.mark.parametrize("palette", [False, True])
def test_folder_pairs_by_stem_and_reads_class_indices(tmp_path, palette):
    x, m = write_set(tmp_path / "set", palette=palette,
                     classes=["background", "circle", "square", "triangle"])
    data = load_dataset(str(tmp_path / "set"), (16, 16, 1))
    assert is_segmentation(data)
    assert data.class_names == ["background", "circle", "square", "triangle"]
    assert np.array_equal(data.y, m) and np.array_equal(data.x, x)


def test_csv_index_with_image_and_mask_columns_at_the_model_size(tmp_path):
    _, m = write_set(tmp_path)
    (tmp_path / "index.csv").write_text(
        "image,mask\n" + "".join(f"images/s{i}.png,masks/s{i}.png\n" for i in range(4)))
    data = load_dataset(str(tmp_path / "index.csv"), (8, 8, 3))
    assert data.x.shape == (4, 8, 8, 3) and data.y.shape == (4, 8, 8)
    assert data.class_names == [str(i) for i in range(int(m.max()) + 1)]
    assert np.array_equal(data.y, m[:, 1::2, 1::2])  # nearest neighbour: every other pixel


def test_missing_pair_size_mismatch_and_class_beyond_are_named(tmp_path):
    write_set(tmp_path / "a")
    (tmp_path / "a" / "masks" / "s1.png").unlink()
    with pytest.raises(DatasetError, match=r"s1\.png: no mask for this image"):
        load_dataset(str(tmp_path / "a"), (16, 16, 1))
    write_set(tmp_path / "b")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "b" / "masks" / "s2.png")
    with pytest.raises(DatasetError, match=r"s2\.png: the mask is 8x8 but its image"):
        load_dataset(str(tmp_path / "b"), (16, 16, 1))
    write_set(tmp_path / "c", classes=["background", "shape"])
    with pytest.raises(DatasetError, match=r"masks/s\d\.png: class index [23] is beyond the 2 "):
        load_dataset(str(tmp_path / "c"), (16, 16, 1))
    write_set(tmp_path / "d")
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "d" / "masks" / "s0.png")
    with pytest.raises(DatasetError, match=r"s0\.png: a mask must hold class indices"):
        load_dataset(str(tmp_path / "d"), (16, 16, 1))
    write_set(tmp_path / "e")
    (tmp_path / "e" / "images" / "s3.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DatasetError, match=r"s3\.png: the image is not a readable image"):
        load_dataset(str(tmp_path / "e"), (16, 16, 1))


@pytest.mark.parametrize("where", ["images", "masks"])
def test_postscript_named_png_is_refused_by_content_never_handed_to_pillow(tmp_path, where,
                                                                          monkeypatch):
    """A PostScript file named .png among the images or the masks is named and refused; Pillow
    never gets to guess its format (its EPS plugin would start Ghostscript)."""
    from PIL import EpsImagePlugin

    def never(*args, **kwargs):
        raise AssertionError("Pillow's EPS plugin was reached")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", never)
    root = tmp_path / "seg"
    write_set(root)
    target = root / where / "s0.png"
    target.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    with pytest.raises(DatasetError, match=r"s0\.png"):
        load_dataset(str(root), (16, 16, 1))


def test_a_folder_is_listed_not_decoded_and_its_views_decode_only_what_is_asked(tmp_path):
    """Bounded memory: loading a folder keeps no pixels (each mask is read once for its
    classes and let go); x[rows] / y[rows] decode only those rows."""
    import tracemalloc

    n, size = 300, 96
    x, m = write_set(tmp_path / "big", n=n, size=size, classes=["background", "circle",
                                                                "square", "triangle"])
    write_set(tmp_path / "small", n=2, size=size)
    load_dataset(str(tmp_path / "small"), (size, size, 1))      # the imports, outside the count
    tracemalloc.start()
    data = load_dataset(str(tmp_path / "big"), (size, size, 1))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    decoded = n * size * size * 2                  # the images and masks as uint8 arrays
    assert getattr(data, "streamed", False) and peak < decoded / 4, (peak, decoded)
    assert len(data.y) == n and data.y.shape == (n, size, size)
    assert data.x.shape[1:] == (size, size, 1)
    rows = np.array([3, 277])
    stems = np.array([int(p.rsplit("/s", 1)[1][:-4]) for p in data.paths])  # sorted by name
    np.testing.assert_array_equal(np.asarray(data.y[rows]), m[stems[rows]])
    np.testing.assert_array_equal(np.asarray(data.x[rows]), x[stems[rows]])
    assert data.pixel_counts.sum() == n * size * size
    np.testing.assert_array_equal(data.pixel_counts, np.bincount(m.ravel(), minlength=4))


def test_skip_drops_an_unreadable_pair_and_names_it(tmp_path):
    write_set(tmp_path / "s", n=5)
    (tmp_path / "s" / "masks" / "s2.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    data = load_dataset(str(tmp_path / "s"), (16, 16, 1), bad_images="skip")
    assert len(data.y) == 4 and all("s2" not in p for p in data.paths)
    assert any("skipped 1 unreadable pair" in note and "s2.png" in note for note in data.notes)
