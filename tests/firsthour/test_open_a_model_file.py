"""Opening a Keras model as if it were a graph (wave 5, an outsider's first try).

``python main.py model.keras`` (or File > Open on it) said "not a text file (byte 0xa5 at offset
14 is not UTF-8)", true but no help. A ZIP archive (a ``.keras`` model) or an HDF5 file (a
``.h5`` model or weights) is now named as such, with the way to import it.
"""

from __future__ import annotations

import zipfile

import pytest

from playground.core import fileformat
from tests.reliability.helpers import run_cli, tiny_graph


@pytest.fixture
def keras_zip(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        archive.writestr("config.json", '{"class_name": "Functional"}')
    return path


@pytest.fixture
def hdf5_file(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("kernel", data=[1.0, 2.0])
    return path


def test_cli_names_a_keras_archive_and_how_to_import_it(keras_zip, hdf5_file, capsys):
    code, out, err = run_cli(capsys, "check", keras_zip)
    assert code == 2
    assert "model.keras: a ZIP archive (a Keras .keras model is one), not a graph file" in err
    assert "playground import MODEL --out GRAPH.json" in err
    code, out, err = run_cli(capsys, "summary", hdf5_file)
    assert code == 2
    assert "weights.h5: an HDF5 file (a Keras .h5 model or weights)" in err
    assert "--init-weights" in err


def test_the_editor_says_so_and_keeps_the_document(keras_zip, window, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda parent, title, text, *a, **k: shown.append(text))
    good = tmp_path / "good.json"
    fileformat.save(tiny_graph("mine"), good)
    assert window.open_file(str(good), ask=False)
    assert window.open_file(str(keras_zip), ask=False) is False
    assert len(shown) == 1 and "Import Keras model" in shown[0], shown
    assert window.doc.path == good
