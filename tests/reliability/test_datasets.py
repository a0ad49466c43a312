"""Item 3, datasets: an empty folder, one class, a corrupt image among good ones, images of mixed
sizes and modes, NaN in an ``.npz``, labels out of range. Bad data ends the CLI's ``train`` with
exit 1 and one line naming the file (and the image or the label), before any training starts;
the editor's training panel says the same and stays usable. Mixed images are converted, not
refused."""

from __future__ import annotations

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
    x, y = _images(), np.array([0, 1, 2, 0, 1, 2])
    nan_x = x.copy()
    nan_x[3, 2, 5] = np.nan
    return {
        "empty folder": (empty, ["empty", "no class subfolders"]),
        "one class": (one, ["only one class (only)"]),
        "corrupt image": (corrupt, [str(corrupt / "dog" / "1b.png"), "corrupt or unreadable"]),
        "truncated jpeg": (truncated, [str(truncated / "cat" / "cut.jpg")]),
        "empty class": (hollow, ["bird", "hold no images"]),
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
    (root / "dog" / "notes.txt").write_text("not an image")

    from playground.data.dataset import load_dataset

    data = load_dataset(str(root), (8, 8, 1))
    assert data.x.shape[0] == 13 and data.x.dtype == np.uint8
    assert len({tuple(img.shape) for img in data.x}) == 1
    assert np.bincount(data.y).tolist() == [6, 7]
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
