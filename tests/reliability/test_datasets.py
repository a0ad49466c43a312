"""Item 3, datasets: an empty folder, one class, a corrupt image among good ones, images of mixed
sizes and modes, NaN in an ``.npz``, labels out of range; issue 10's "Bad input" (image bombs,
symlink loops, FIFOs, PostScript named .png, CSV indexes with missing files, unknown labels, bad
encodings or no header) and issue 11's dataset items (Ghostscript never runs, class folders that
are symlinks, .npz memory bombs). Bad data ends the CLI's ``train`` with exit 2 and one line
naming the file (and the CSV line, the image or the label), before any training starts; the
editor's training panel says the same and stays usable. Mixed images are converted, not
refused. Peak memory does not grow with the number of images."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.reliability.helpers import run_cli, tiny_document, tiny_graph, write_graph


def make_folder(root, classes=("cat", "dog"), per_class=3, size=(10, 12)):
    rng = np.random.default_rng(0)
    for ci, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            arr = (rng.random((*size, 3)) * 80 + ci * 150).astype(np.uint8)
            Image.fromarray(arr).save(root / name / f"{i}.png")
    return root


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n(GS_RAN_MARKER) print flush\n"


def _csv_cases(tmp_path):
    """CSV indexes with a missing file, an unknown label, a bad encoding, no header."""
    make_folder(tmp_path / "csvimg")
    good = "csvimg/cat/0.png,cat\ncsvimg/dog/0.png,dog\n"
    files = {
        "csv missing file": ("path,label\n" + good + "csvimg/cat/9.png,cat\n",
                             ["line 4", "csvimg/cat/9.png", "file not found"]),
        "csv unknown label": ("path,label\ncsvimg/cat/0.png,0\ncsvimg/cat/1.png,0\n"
                              "csvimg/dog/0.png,1\ncsvimg/dog/1.png,dgo\n",
                              ["line 5", "unknown label 'dgo'"]),
        "csv bad encoding": (b"path,label\ncsvimg/cat/0.png,cat\ncsvimg/dog/0.png,d\xe9g\n",
                             ["line 3", "not UTF-8"]),
        "csv missing header": ("csvimg/cat/0.png,cat\ncsvimg/dog/0.png,dog\n",
                               ["line 1", "missing header"]),
    }
    out = {}
    for i, (name, (text, words)) in enumerate(files.items()):
        path = tmp_path / f"index{i}.csv"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        out[name] = (path, [str(path), *words])
    return out


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _images(n=6):
    return (np.random.default_rng(1).random((n, 8, 8)) * 255).astype(np.float32)


def bad_datasets(tmp_path):
    """name -> (dataset path, words the message must hold)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    one = make_folder(tmp_path / "one", classes=("only",))
    corrupt = make_folder(tmp_path / "corrupt")
    (corrupt / "dog" / "1b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 4)
    truncated = make_folder(tmp_path / "truncated")
    Image.new("RGB", (40, 40), (200, 10, 10)).save(tmp_path / "full.jpg", quality=95)
    data = (tmp_path / "full.jpg").read_bytes()
    (truncated / "cat" / "cut.jpg").write_bytes(data[: len(data) // 2])
    hollow = make_folder(tmp_path / "hollow")
    (hollow / "bird").mkdir()
    bomb = make_folder(tmp_path / "bomb")
    data = bytearray((bomb / "cat" / "0.png").read_bytes())
    data[16:24] = struct.pack(">II", 60_000, 60_000)
    (bomb / "cat" / "huge.png").write_bytes(bytes(data))
    eps = make_folder(tmp_path / "eps")
    (eps / "dog" / "photo.png").write_bytes(EPS)
    loop = make_folder(tmp_path / "loop")
    os.symlink("loop.png", loop / "cat" / "loop.png")
    fifo = make_folder(tmp_path / "fifo")
    os.mkfifo(fifo / "dog" / "pipe.png")
    dangling = make_folder(tmp_path / "dangling")
    os.symlink("gone.png", dangling / "cat" / "moved.png")
    csvs = _csv_cases(tmp_path)
    x, y = _images(), np.array([0, 1, 2, 0, 1, 2])
    nan_x = x.copy()
    nan_x[3, 2, 5] = np.nan
    return {
        "empty folder": (empty, ["empty", "no class subfolders"]),
        "one class": (one, ["only one class (only)"]),
        "corrupt image": (corrupt, [str(corrupt / "dog" / "1b.png"), "corrupt or unreadable"]),
        "truncated jpeg": (truncated, [str(truncated / "cat" / "cut.jpg")]),
        "empty class": (hollow, ["bird", "hold no images"]),
        "image bomb": (bomb, [str(bomb / "cat" / "huge.png"), "image bomb", "60000 x 60000"]),
        "postscript named png": (eps, [str(eps / "dog" / "photo.png"), "PostScript"]),
        "symlink loop": (loop, [str(loop / "cat" / "loop.png"), "symbolic links"]),
        "fifo": (fifo, [str(fifo / "dog" / "pipe.png"), "FIFO"]),
        "unreadable (dangling link)": (dangling, [str(dangling / "cat" / "moved.png"),
                                                  "cannot be opened"]),
        **csvs,
        "huge label in npz": (_npz(tmp_path / "huge.npz", x=x, y=np.array([0, 1, 0, 10**12, 1, 0])),
                              ["huge.npz", "y[3] = 1000000000000 is out of range"]),
        "nan in npz": (_npz(tmp_path / "nan.npz", x=nan_x, y=y),
                       ["nan.npz", "x[3] contains NaN"]),
        "label out of range": (_npz(tmp_path / "labels.npz", x=x, y=np.array([0, 1, 2, 0, 9, 2]),
                                    class_names=np.array(["a", "b", "c"])),
                               ["labels.npz", "y[4] = 9 is out of range (expected 0..2)"]),
        "negative label": (_npz(tmp_path / "neg.npz", x=x, y=np.array([0, -1, 2, 0, 1, 2])),
                           ["neg.npz", "y[1] = -1 is out of range"]),
        "one label": (_npz(tmp_path / "single.npz", x=x, y=np.zeros(6, np.int64)),
                      ["single.npz", "only one class"]),
        "no images in npz": (_npz(tmp_path / "void.npz", x=np.zeros((0, 8, 8)),
                                  y=np.zeros(0, np.int64)), ["void.npz", "empty"]),
        "not an npz": (tmp_path / "fake.npz", ["fake.npz"]),
    }


def test_cli_train_names_the_culprit_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    graph = write_graph(tmp_path / "g.json", tiny_document())
    cases = bad_datasets(tmp_path)
    (tmp_path / "fake.npz").write_text("not a zip at all")
    for name, (path, words) in cases.items():
        code, out, err = run_cli(capsys, "train", graph, "--dataset", path, "--epochs", "1",
                                 "--no-run")
        assert code == 2, (name, out, err)
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, (name, err)
        for word in words:
            assert word in errors[0], (name, word, errors[0])
        assert "epoch 1/1" not in out, name


def test_loaders_raise_only_dataset_errors(tmp_path):
    from playground.data.dataset import DatasetError, load_dataset

    (tmp_path / "fake.npz").write_text("not a zip at all")
    for name, (path, words) in bad_datasets(tmp_path).items():
        with pytest.raises(DatasetError) as info:
            load_dataset(str(path), (8, 8, 1))
        assert all(w in str(info.value) for w in words), (name, str(info.value))


def test_mixed_sizes_and_modes_are_converted_and_train(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    root = make_folder(tmp_path / "mixed", per_class=4)
    Image.new("L", (30, 20), 40).save(root / "cat" / "gray.png")
    Image.new("RGBA", (9, 9), (250, 0, 0, 128)).save(root / "cat" / "alpha.png")
    Image.new("P", (7, 13), 2).save(root / "dog" / "palette.gif")
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(root / "dog" / "print.jpg")
    Image.fromarray(np.full((11, 11), 40000, np.uint16)).save(root / "dog" / "deep.png")
    frames = [Image.new("RGB", (9, 9), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(root / "cat" / "anim.gif", save_all=True, append_images=frames[1:])
    Image.new("RGB", (10, 10), (10, 200, 30)).save(root / "dog" / "leaf.webp")
    (root / "dog" / "notes.txt").write_text("not an image")

    from playground.data.dataset import load_dataset

    data = load_dataset(str(root), (8, 8, 1))
    assert data.x.shape[0] == 15 and data.x.dtype == np.uint8
    assert len({tuple(img.shape) for img in data.x}) == 1
    assert np.bincount(data.y).tolist() == [7, 8]
    first_frame = np.asarray(data.x[4])  # cat/anim.gif: red first frame, as gray (luma)
    assert abs(int(first_frame.mean()) - round(0.2989 * 255)) <= 2
    assert data.skipped == 1
    notes = " ".join(data.notes)
    assert "resized to 8x8" in notes

    graph = write_graph(tmp_path / "g.json", tiny_document())
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--epochs", "1",
                             "--batch-size", "4", "--no-run")
    assert code == 0, err
    assert "epoch 1/1:" in out and "skipped 1 non-image" in err


# ------------------------------------------------------------------------------ GUI
@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    import playground.ui  # noqa: F401
    from playground.ui.training_panel import TrainingPanel

    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    graph = tiny_graph()
    widget = TrainingPanel(lambda: graph)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    assert widget.stop_and_wait(60_000)


def test_gui_panel_names_a_corrupt_image_and_stays_usable(panel, qtbot, tmp_path):
    from playground.training.config import RunConfig

    cases = bad_datasets(tmp_path)
    for name in ("corrupt image", "one class", "nan in npz"):
        path, words = cases[name]
        panel.set_config(RunConfig(epochs=1))
        panel.set_dataset(str(path))
        assert panel.start(), name
        qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None
                        and not panel.jobs, timeout=60_000)
        assert panel.last_result.status == "error", name
        for word in words:
            assert word in panel.status_text, (name, word, panel.status_text)
        assert "Traceback" not in panel.log.toPlainText()
        assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()


def test_a_file_that_breaks_mid_epoch_is_named_exit_2(tmp_path, capsys, monkeypatch):
    """Passes the header checks (valid PNG signature, IHDR, IEND), fails in the decoder."""
    import io

    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    root = make_folder(tmp_path / "set", per_class=4)
    buf = io.BytesIO()
    Image.new("RGB", (10, 12), (1, 2, 3)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    start = data.index(b"IDAT") + 4
    data[start:start + 8] = b"\xde\xad\xbe\xef" * 2
    (root / "dog" / "2b.png").write_bytes(bytes(data))
    graph = write_graph(tmp_path / "g.json", tiny_document())
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--epochs", "1",
                             "--batch-size", "2", "--no-run")
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(root / "dog" / "2b.png") in errors[0], err
    assert "--bad-images skip" in errors[0]
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--epochs", "1",
                             "--batch-size", "2", "--no-run", "--bad-images", "skip")
    assert code == 0, err
    assert f"skipped unreadable image {root / 'dog' / '2b.png'}" in err


def _fake_ghostscript(tmp_path: Path) -> tuple[dict, Path]:
    """A ``gs`` first on PATH that leaves a marker file and prints a marker if ever run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "gs-ran"
    gs = bin_dir / "gs"
    gs.write_text(f"#!/bin/sh\necho GS_RAN_MARKER\ntouch {marker}\nexit 0\n")
    gs.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
               PLAYGROUND_RUNS_DIR=str(tmp_path / "runs"), TF_CPP_MIN_LOG_LEVEL="2")
    return env, marker


def test_postscript_named_png_never_reaches_an_interpreter(tmp_path):
    """Issue 11 high 2: an EPS named .png in a dataset folder; training (refusing it, or
    skipping it), the preview's decoder and the CSV index never hand it to Ghostscript."""
    env, marker = _fake_ghostscript(tmp_path)
    root = make_folder(tmp_path / "set", per_class=4)
    (root / "dog" / "photo.png").write_bytes(EPS)
    (tmp_path / "index.csv").write_text("path,label\nset/dog/photo.png,dog\n"
                                        "set/cat/0.png,cat\n")
    graph = write_graph(tmp_path / "g.json", tiny_document())
    main = Path(__file__).resolve().parents[2] / "main.py"
    runs = {
        "stop": [str(root)],
        "skip": [str(root), "--bad-images", "skip"],
        "csv": [str(tmp_path / "index.csv")],
    }
    for name, dataset in runs.items():
        proc = subprocess.run([sys.executable, str(main), "train", str(graph), "--dataset",
                               *dataset, "--epochs", "1", "--batch-size", "2", "--no-run"],
                              capture_output=True, text=True, env=env, timeout=240)
        output = proc.stdout + proc.stderr
        assert "GS_RAN_MARKER" not in output and not marker.exists(), name
        assert "Traceback" not in output, (name, output)
        assert proc.returncode == (0 if name == "skip" else 2), (name, output)
        assert "photo.png" in output and "PostScript" in output, (name, output)
    # The preview/evaluation decoder refuses it too, and Pillow with the app's formats list
    # would not even open it.
    from PIL import UnidentifiedImageError

    from playground.data.dataset import DatasetError
    from playground.data.stream import decode_files

    with pytest.raises(DatasetError, match="PostScript"):
        decode_files([str(root / "dog" / "photo.png")], (8, 8, 3))
    with pytest.raises(UnidentifiedImageError):
        Image.open(root / "dog" / "photo.png", formats=["PNG", "JPEG", "BMP", "GIF", "WEBP"])
    assert not marker.exists()


def test_npz_bomb_unused_arrays_are_never_decompressed(tmp_path):
    """Issue 11 medium: an .npz whose unused member inflates to GBs, and one whose x declares
    a huge shape: the first loads (the member untouched), the second is refused by name."""
    import io
    import resource

    from playground.data.dataset import DatasetError
    from playground.data.npz import load_npz

    x = np.zeros((6, 8, 8), np.uint8)
    y = np.array([0, 1, 0, 1, 0, 1])
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, arr in (("x", x), ("y", y)):
            buf = io.BytesIO()
            np.save(buf, arr)
            zf.writestr(name + ".npy", buf.getvalue())
        with zf.open("unused.npy", "w", force_zip64=True) as f:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": "<f8", "fortran_order": False, "shape": (125_000_000,)})
            f.write(header.getvalue())
            block = bytes(1 << 24)
            for _ in range(60):  # 1 GB of zeros, ~1 MB compressed
                f.write(block)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = load_npz(str(path))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert data.x.shape == (6, 8, 8, 1) and grown_mib < 200
    huge = tmp_path / "declares.npz"
    with zipfile.ZipFile(huge, "w") as zf:
        buf = io.BytesIO()
        np.save(buf, y)
        zf.writestr("y.npy", buf.getvalue())
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "|u1", "fortran_order": False, "shape": (10**6, 1000, 1000)})
        zf.writestr("x.npy", header.getvalue() + bytes(64))
    with pytest.raises(DatasetError, match=r"declares\.npz: array 'x' declares shape"):
        load_npz(str(huge))


def test_class_folder_symlink_to_the_system_is_not_walked(tmp_path, capsys, monkeypatch):
    """Issue 11 medium: ``class -> /usr`` walked /usr; now it is listed and not followed."""
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    root = make_folder(tmp_path / "set")
    os.symlink("/usr", root / "usr_class")
    graph = write_graph(tmp_path / "g.json", tiny_document())
    code, out, err = run_cli(capsys, "train", graph, "--dataset", root, "--epochs", "1",
                             "--batch-size", "2", "--no-run")
    assert code == 0, err
    assert "usr_class" in err and "not followed" in err
    assert "classes: 2 in set" in err


def _peak_rss_mib(cmd: list[str], env: dict) -> float:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    with proc.stderr:
        err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err.decode()[-2000:]
    return usage.ru_maxrss / 1024


def test_peak_memory_does_not_grow_with_the_number_of_images(tmp_path):
    """Issue 10: a folder of N and of 4N photos (500x500 JPEG) trained in a child process: the
    peak resident memory stays within 10 % (decoding everything up front, as before, grew it
    by ~225 MB: 300 more images of 750 kB)."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (50, 50, 3), dtype=np.uint8)
    for count in (100, 400):
        for i in range(count):
            folder = tmp_path / f"n{count}" / ("a", "b")[i % 2]
            folder.mkdir(parents=True, exist_ok=True)
            img = Image.fromarray(np.roll(base, i, axis=0)).resize((500, 500))
            img.save(folder / f"{i}.jpg", quality=80)
    doc = tiny_document()
    doc["nodes"][0]["params"]["shape"] = [16, 16, 3]
    graph = write_graph(tmp_path / "g.json", doc)
    env = dict(os.environ, PLAYGROUND_RUNS_DIR=str(tmp_path / "runs"), TF_CPP_MIN_LOG_LEVEL="2")
    main = Path(__file__).resolve().parents[2] / "main.py"
    peaks = {}
    for count in (100, 400):
        peaks[count] = _peak_rss_mib([sys.executable, str(main), "train", str(graph),
                                      "--dataset", str(tmp_path / f"n{count}"), "--epochs", "2",
                                      "--batch-size", "32", "--no-run"], env)
    print(f"peak RSS: {peaks}")
    assert peaks[400] <= peaks[100] * 1.10, peaks
