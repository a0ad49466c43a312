"""A photo folder as people really have them (wave 5, an outsider's 2,000 JPEGs).

- A file name that is not UTF-8 (``caf\\xe9.jpg`` from a Latin-1 archive; Linux keeps the bytes,
  Python lists it with a surrogate escape) passed the scan and then failed the whole run with
  "training failed while compiling the model (ValueError: ... Unable to convert element to
  UTF-8)", naming no file: TensorFlow was handed the name as ``str``. The pipeline now hands
  it the bytes the file system holds.
- A folder unzipped from a Mac archive holds ``__MACOSX/`` (it became a class) and AppleDouble
  ``._name.jpg`` files (refused as non-images, which stopped the run by default; with
  ``--bad-images skip`` the empty ``__MACOSX`` class stopped it again). Both are macOS
  bookkeeping, never pictures: passed over and named in the log.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from tests.reliability.helpers import run_cli, tiny_document, write_graph

APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\x00" * 200


def png_bytes(value: int, size=(10, 12)) -> bytes:
    buf = io.BytesIO()
    arr = np.full((*size, 3), value, np.uint8)
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def photo_folder(root, names_per_class: dict[str, list[bytes]]) -> str:
    """Class folders holding PNGs under the given byte names (not necessarily UTF-8)."""
    base = os.fsencode(str(root))
    for ci, (cls, names) in enumerate(names_per_class.items()):
        folder = os.path.join(base, os.fsencode(cls))
        os.makedirs(folder, exist_ok=True)
        for i, name in enumerate(names):
            with open(os.path.join(folder, name), "wb") as f:
                f.write(png_bytes(40 + 150 * ci + i))
    return str(root)


def broken_png() -> bytes:
    """Valid signature, IHDR and IEND (the scan accepts it); the decoder fails."""
    data = bytearray(png_bytes(7))
    start = data.index(b"IDAT") + 4
    data[start:start + 8] = b"\xde\xad\xbe\xef" * 2
    return bytes(data)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))


def test_file_names_that_are_not_utf8_train(tmp_path, capsys, runs):
    root = photo_folder(tmp_path / "set", {
        "cat": [b"caf\xe9 1.png", b"plain 2.png", b"\xff\xfe odd.png"],
        "dog": [b"chien \xe0 la plage.png", b"d2.png", b"d3.png"]})
    graph = write_graph(tmp_path / "g.json", tiny_document())
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--epochs", "1",
                             "--batch-size", "2", "--no-run")
    assert code == 0, err
    assert "6 images in 2 classes" in err and "epoch 1/1:" in out


def test_a_broken_file_with_a_latin1_name_is_named_when_skipped(tmp_path, capsys, runs):
    root = photo_folder(tmp_path / "set", {"cat": [b"a.png", b"b.png", b"c.png"],
                                           "dog": [b"d.png", b"e.png", b"f.png"]})
    bad = os.path.join(os.fsencode(root), b"dog", b"d\xe9fectueux.png")
    with open(bad, "wb") as f:
        f.write(broken_png())
    graph = write_graph(tmp_path / "g.json", tiny_document())
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--epochs", "1",
                             "--batch-size", "2", "--no-run", "--bad-images", "skip")
    assert code == 0, err
    # The name as Python lists it (surrogate escape), shown escaped on stderr.
    assert "skipped unreadable image" in err and "fectueux.png" in err
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--epochs", "1",
                             "--batch-size", "2", "--no-run")
    assert code == 2, err
    assert "fectueux.png" in err and "--bad-images skip" in err


def test_a_folder_unzipped_from_a_mac_trains_by_default(tmp_path, capsys, runs):
    root = photo_folder(tmp_path / "set", {"cat": [b"a.png", b"b.png", b"c.png"],
                                           "dog": [b"d.png", b"e.png", b"f.png"]})
    for rel in ("cat/._a.png", "dog/._d.png", "__MACOSX/cat/._a.png", "__MACOSX/._dog"):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(APPLEDOUBLE)

    from playground.data.dataset import load_dataset

    data = load_dataset(root, (8, 8, 1))
    assert data.class_names == ["cat", "dog"]
    assert len(data.paths) == 6
    notes = "\n".join(data.notes)
    assert "skipped 1 macOS metadata folder(s) (not a class)" in notes
    assert "skipped 2 macOS metadata file(s) (._*, not images)" in notes

    graph = write_graph(tmp_path / "g.json", tiny_document())
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--epochs", "1",
                             "--batch-size", "2", "--no-run")
    assert code == 0, err
    assert "epoch 1/1:" in out


def test_a_mask_folder_passes_over_appledouble_files(tmp_path):
    root = tmp_path / "seg"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for stem in ("a", "b"):
        (root / "images" / f"{stem}.png").write_bytes(png_bytes(90))
        Image.fromarray(np.zeros((10, 12), np.uint8)).save(root / "masks" / f"{stem}.png")
    (root / "images" / "._a.png").write_bytes(APPLEDOUBLE)
    (root / "masks" / "._b.png").write_bytes(APPLEDOUBLE)

    from playground.data.segfolder import list_folder

    pairs = list_folder(str(root))
    assert [(os.path.basename(i), os.path.basename(m)) for i, m in pairs] == [
        ("a.png", "a.png"), ("b.png", "b.png")]
