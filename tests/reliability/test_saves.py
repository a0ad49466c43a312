"""Item 4, saves and exports: a temp file/folder is written and moved into place, so a full disk
or an exception mid-save leaves the previous file intact (and no temp file behind) and the
editor's document still marked unsaved. Export to an existing target asks (editor) or needs
``--force`` (CLI); an unwritable place says why.

A full disk is simulated by making ``os.fsync`` (mid-write) or ``os.replace`` (the final move)
raise ``OSError(ENOSPC)``; an unwritable folder, since the suite may run as root, by a path under
a regular file and by patching ``os.access``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from playground.core import fileformat
from tests.reliability.helpers import (
    edit,
    files_in,
    run_cli,
    tiny_document,
    tiny_graph,
    write_graph,
)

ENOSPC = os.strerror(errno.ENOSPC)  # "No space left on device"


class Fault(list):
    """The calls that failed; set ``active = False`` to let the disk have space again."""

    active = True


def _disk_full(monkeypatch, where: str, only: str | None = None) -> Fault:
    """Make ``os.<where>`` fail with ENOSPC (for paths containing ``only``); returns the calls."""
    real = getattr(os, where)
    calls = Fault()

    def full(*args, **kwargs):
        target = str(args[1] if where == "replace" else args[0])
        if calls.active and (only is None or only in target):
            calls.append(target)
            raise OSError(errno.ENOSPC, ENOSPC)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, where, full)
    return calls


# ------------------------------------------------------------------------- graph files
@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_core_save_on_a_full_disk_keeps_the_previous_file(tmp_path, monkeypatch, where):
    from playground.core.errors import GraphSaveError

    path = tmp_path / "g.json"
    fileformat.save(tiny_graph("old"), path)
    old = path.read_bytes()
    calls = _disk_full(monkeypatch, where)
    with pytest.raises(GraphSaveError) as info:
        fileformat.save(tiny_graph("new"), path)
    assert calls
    assert str(info.value) == f"{path}: cannot save the file: {ENOSPC}"
    assert path.read_bytes() == old and files_in(tmp_path) == ["g.json"]


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_gui_save_on_a_full_disk_keeps_the_file_and_the_document_unsaved(
        make_window, answers, tmp_path, monkeypatch, where):
    path = tmp_path / "mine.json"
    fileformat.save(tiny_graph("mine"), path)
    old = path.read_bytes()
    win = make_window(fileformat.load(path), str(path))
    edit(win)
    calls = _disk_full(monkeypatch, where)
    win.act_save.trigger()
    assert calls
    (kind, title, text), = answers.shown
    assert kind == "critical" and title == "Save failed"
    assert str(path) in text and ENOSPC in text and "still here, unsaved" in text
    assert path.read_bytes() == old
    assert [n for n in files_in(tmp_path) if n != "autosave"] == ["mine.json"]
    assert win.doc.is_modified() and win.isWindowModified()
    assert win.doc.graph.node("conv").params["filters"] == 7
    # Space comes back: the same action now saves, and the document is clean.
    calls.active = False
    win.act_save.trigger()
    assert not win.doc.is_modified()
    assert fileformat.load(path).node("conv").params["filters"] == 7


def test_gui_save_as_into_an_unwritable_place_says_why(make_window, answers, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a regular file")
    win = make_window(tiny_graph())
    edit(win)
    answers.save_path = str(blocker / "graph.json")
    assert win.save_as() is False
    (kind, _title, text), = answers.shown
    assert kind == "critical" and str(blocker / "graph.json") in text
    assert os.strerror(errno.ENOTDIR) in text
    assert win.doc.is_modified() and win.doc.path is None
    assert blocker.read_text() == "a regular file"


# ------------------------------------------------------------------------- CLI exports
@pytest.fixture
def graph_file(tmp_path) -> Path:
    return write_graph(tmp_path / "tiny.json", tiny_document())


@pytest.mark.parametrize("fmt, name", [("keras", "m.keras"), ("python", "m.py")])
def test_cli_export_on_a_full_disk_keeps_the_previous_export(tmp_path, graph_file, capsys,
                                                             monkeypatch, fmt, name):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / name
    out.write_bytes(b"the previous export")
    calls = _disk_full(monkeypatch, "replace", only=str(out))
    code, stdout, err = run_cli(capsys, "export", graph_file, "--format", fmt, "--out", out,
                                "--force")
    assert calls == [str(out)]
    assert code == 1 and f"error: {out}: cannot write: {ENOSPC}" in err
    assert out.read_bytes() == b"the previous export" and files_in(out_dir) == [name]


def test_cli_savedmodel_swap_failure_keeps_the_previous_folder(tmp_path, monkeypatch):
    """The folder swap itself (replace_dir_atomic) puts the old folder back if the move fails."""
    from playground.core.atomic import replace_dir_atomic

    target = tmp_path / "model_savedmodel"
    target.mkdir()
    (target / "saved_model.pb").write_bytes(b"old model")
    staging = tmp_path / ".staging"
    staging.mkdir()
    (staging / "saved_model.pb").write_bytes(b"new model")
    real = os.replace

    def fail_second(src, dst):
        if Path(src) == staging:
            raise OSError(errno.ENOSPC, ENOSPC)
        return real(src, dst)

    monkeypatch.setattr(os, "replace", fail_second)
    with pytest.raises(OSError):
        replace_dir_atomic(staging, target)
    assert (target / "saved_model.pb").read_bytes() == b"old model"
    assert sorted(files_in(tmp_path)) == [".staging", "model_savedmodel"]


def test_cli_export_to_an_existing_target_needs_force(tmp_path, graph_file, capsys):
    existing = tmp_path / "m.keras"
    existing.write_bytes(b"precious")
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"precious model")
    for fmt, out in (("keras", existing), ("savedmodel", folder)):
        code, _out, err = run_cli(capsys, "export", graph_file, "--format", fmt, "--out", out)
        assert code == 1 and f"error: {out}:" in err and "pass --force" in err, err
    assert existing.read_bytes() == b"precious"
    assert files_in(folder) == ["saved_model.pb"]
    # Even with --force, a folder that is not a SavedModel is never replaced.
    notes = tmp_path / "my_notes"
    notes.mkdir()
    (notes / "thesis.tex").write_text("years of work")
    code, _out, err = run_cli(capsys, "export", graph_file, "--format", "savedmodel", "--out",
                              notes, "--force")
    assert code == 1 and "is not a SavedModel" in err
    assert (notes / "thesis.tex").read_text() == "years of work"


def test_cli_export_to_an_unwritable_place_says_why(tmp_path, graph_file, capsys, monkeypatch):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _out, err = run_cli(capsys, "export", graph_file, "--format", "keras", "--out",
                              blocker / "out.keras")
    assert code == 1 and f"{blocker} is not a folder" in err
    # Missing folders above --out are created (docs/CLI.md's `--out served/resnet18`); one that
    # cannot be (a file stands where a folder would go) is named with the reason.
    code, _out, err = run_cli(capsys, "export", graph_file, "--format", "keras", "--out",
                              blocker / "missing" / "out.keras")
    assert code == 1 and f"cannot create the folder {blocker / 'missing'}" in err
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if Path(p) == locked
                        else real(p, mode, *a, **k))
    code, _out, err = run_cli(capsys, "export", graph_file, "--format", "python", "--out",
                              locked / "m.py")
    assert code == 1 and f"cannot write into the folder {locked} (permission denied)" in err
    assert files_in(locked) == []


def test_cli_import_does_not_overwrite_a_graph_without_force(tmp_path, capsys):
    existing = write_graph(tmp_path / "g.json", tiny_document("precious"))
    before = existing.read_bytes()
    code, _out, err = run_cli(capsys, "import", tmp_path / "whatever.keras", "--out", existing)
    assert code == 1 and "already exists; pass --force" in err
    assert existing.read_bytes() == before


# ------------------------------------------------------------------------- GUI exports
@pytest.fixture
def fake_export(monkeypatch):
    """The editor's export worker without TensorFlow: records its calls (path, format)."""
    import playground.ui.main_window as mw

    calls: list[tuple[str, str]] = []

    def export_graph(graph, analysis, fmt, out, source=None, init=None):
        calls.append((fmt, out))
        return out

    monkeypatch.setattr(mw, "export_graph", export_graph)
    return calls


def test_gui_export_to_an_existing_savedmodel_folder_asks(make_window, answers, tmp_path,
                                                          fake_export, qtbot):
    from PySide6.QtWidgets import QMessageBox

    win = make_window(tiny_graph("net"))
    target = tmp_path / "net_savedmodel"
    target.mkdir()
    (target / "saved_model.pb").write_bytes(b"old")
    answers.folder = str(tmp_path)
    answers.question = QMessageBox.StandardButton.No
    win.export_dialog("savedmodel")
    assert [k for k, _t, _x in answers.shown] == ["question"]
    assert str(target) in answers.shown[0][2] and "Replace" in answers.shown[0][2]
    assert fake_export == [] and not win._threads
    assert (target / "saved_model.pb").read_bytes() == b"old"

    answers.question = QMessageBox.StandardButton.Yes
    win.export_dialog("savedmodel")
    qtbot.waitUntil(lambda: not win._threads, timeout=10_000)
    assert fake_export == [("savedmodel", str(target))]


def test_gui_export_asks_when_the_suffix_it_adds_names_an_existing_file(
        make_window, answers, tmp_path, fake_export, qtbot):
    from PySide6.QtWidgets import QMessageBox

    win = make_window(tiny_graph("net"))
    (tmp_path / "model.keras").write_bytes(b"old")
    answers.save_path = str(tmp_path / "model")  # typed without .keras: the dialog did not ask
    answers.question = QMessageBox.StandardButton.No
    win.export_dialog("keras")
    assert len(answers.texts("question")) == 1 and fake_export == []
    answers.shown.clear()
    answers.save_path = str(tmp_path / "model.keras")  # the file dialog itself confirmed this one
    win.export_dialog("keras")
    qtbot.waitUntil(lambda: not win._threads, timeout=10_000)
    assert answers.texts("question") == [] and fake_export == [("keras", str(tmp_path /
                                                                            "model.keras"))]


def test_gui_export_on_a_full_disk_keeps_the_previous_file(make_window, answers, tmp_path,
                                                           monkeypatch, qtbot):
    win = make_window(tiny_graph("net"))
    out = tmp_path / "net.keras"
    out.write_bytes(b"the previous export")
    calls = _disk_full(monkeypatch, "replace", only=str(out))
    win.export_to("keras", str(out))
    qtbot.waitUntil(lambda: not win._threads, timeout=120_000)
    assert calls == [str(out)]
    (kind, title, text), = [s for s in answers.shown if s[0] == "warning"]
    assert title == "Export failed" and f"{out}: cannot write: {ENOSPC}" in text
    assert out.read_bytes() == b"the previous export"
    assert [n for n in files_in(tmp_path) if n != "autosave"] == ["net.keras"]


def test_gui_export_to_an_unwritable_place_says_why(make_window, answers, tmp_path, qtbot):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    win = make_window(tiny_graph("net"))
    win.export_to("python", str(blocker / "net.py"))
    qtbot.waitUntil(lambda: not win._threads, timeout=120_000)
    (kind, _title, text), = answers.shown
    assert kind == "warning" and f"{blocker} is not a folder" in text
    assert blocker.read_text() == "x"


def test_closing_the_window_during_an_export_waits_for_it(make_window, answers, tmp_path,
                                                          monkeypatch):
    """The export thread is never destroyed while running: close waits, the file is complete."""
    import time

    import playground.ui.main_window as mw

    out = tmp_path / "net.py"

    def slow_export(graph, analysis, fmt, path, source=None, init=None):
        time.sleep(0.5)
        Path(path).write_text("# complete\n")
        return path

    monkeypatch.setattr(mw, "export_graph", slow_export)
    win = make_window(tiny_graph("net"))
    thread = win.export_to("python", str(out))
    assert thread.isRunning()
    assert win.close() is True
    assert not thread.isRunning() and out.read_text() == "# complete\n"


# ------------------------------------------------------------------- train --save / --export
def test_cli_train_never_replaces_a_folder_that_is_not_a_savedmodel(tmp_path, graph_file,
                                                                    capsys):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work")
    code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs", "1",
                             "--no-run", "--export", thesis)
    assert code == 2 and f"{thesis}" in err and "not a SavedModel" in err
    assert "epoch 1/1" not in out                  # refused before training, not after
    assert files_in(thesis) == ["chapter1.tex"]
    from playground.core.errors import PlaygroundError
    from playground.exporters import write as write_export

    with pytest.raises(PlaygroundError, match="not a SavedModel"):  # the GUI's path too
        write_export("savedmodel", None, str(thesis), force=True)
    assert (thesis / "chapter1.tex").read_text() == "years of work"


def test_cli_train_checks_where_it_will_save_before_training(tmp_path, graph_file, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    for option, target, needle in (
            ("--save", blocker / "m.keras", f"{blocker} is not a folder"),
            ("--save", tmp_path / "m.h5", "must end in .keras"),
            ("--export", blocker / "served", f"{blocker} is not a folder"),
            ("--export", blocker, "is not a folder")):
        code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits",
                                 "--epochs", "1", "--no-run", option, target)
        assert code == 2 and needle in err, (option, target, err)
        assert "epoch 1/1" not in out
    assert blocker.read_text() == "x"
