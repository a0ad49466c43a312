"""Item 5, autosave: the editor writes a recovery file after edits; after a crash (here: the real
editor in a subprocess, killed with SIGKILL) the next start offers to restore it and restores it
exactly, marked unsaved; a corrupt recovery file is reported and set aside; an autosave that
cannot be written is reported without disturbing the editing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from playground.core import fileformat
from tests.reliability.helpers import edit, tiny_graph

pytest.importorskip("pytestqt")

REPO = Path(__file__).resolve().parents[2]

EDITOR_THEN_HANG = textwrap.dedent("""
    import sys, time
    import playground.ui  # noqa: F401
    from playground.core import fileformat
    from playground.ui.main_window import MainWindow, application

    app = application()
    win = MainWindow(fileformat.load(sys.argv[1]), sys.argv[1], offer_recovery=False)
    win.persist_settings = False
    win.show()
    app.processEvents()
    win.editor.set_param("conv", "filters", 13)      # unsaved work...
    win.editor.rename("out", "classifier")
    app.processEvents()
    win.autosave_now()                               # ...in the recovery file, as the timer does
    print("ready", flush=True)
    while True:                                      # the "crash" comes from outside: SIGKILL
        app.processEvents()
        time.sleep(0.05)
""")


def _autosaves(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.autosave.json")) if folder.exists() else []


def test_edits_write_a_recovery_file_and_a_save_clears_it(make_window, autosave_dir, qtbot,
                                                          tmp_path):
    path = tmp_path / "g.json"
    fileformat.save(tiny_graph("mine"), path)
    win = make_window(fileformat.load(path), str(path))
    win._autosave_timer.setInterval(20)
    assert _autosaves(autosave_dir) == []
    edit(win, value=9)
    qtbot.waitUntil(lambda: len(_autosaves(autosave_dir)) == 1, timeout=5_000)
    record = json.loads(_autosaves(autosave_dir)[0].read_text(encoding="utf-8"))
    assert record["source_path"] == str(path) and record["pid"] == os.getpid()
    assert fileformat.from_document(record["graph"]).node("conv").params["filters"] == 9
    assert win.save()
    assert _autosaves(autosave_dir) == []


def test_a_killed_editor_is_offered_at_the_next_start(make_window, answers, autosave_dir,
                                                      tmp_path, qtbot):
    from PySide6.QtWidgets import QMessageBox

    path = tmp_path / "work.json"
    fileformat.save(tiny_graph("hours of work"), path)
    saved = path.read_bytes()
    env = dict(os.environ, PLAYGROUND_AUTOSAVE_DIR=str(autosave_dir), QT_QPA_PLATFORM="offscreen",
               PLAYGROUND_NO_SETTINGS="1", PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", EDITOR_THEN_HANG, str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read() if proc.poll() is not None else line
        assert len(_autosaves(autosave_dir)) == 1
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == saved          # the crash happened before any save

    answers.question = QMessageBox.StandardButton.Yes
    win = make_window(offer_recovery=True)
    qtbot.waitUntil(lambda: bool(answers.shown), timeout=5_000)
    (kind, title, text), = answers.shown
    assert kind == "question" and title == "Recover unsaved work"
    assert "hours of work" in text and str(path) in text
    qtbot.waitUntil(lambda: win.doc.graph.name == "hours of work", timeout=5_000)
    graph = win.doc.graph
    assert graph.node("conv").params["filters"] == 13 and "classifier" in graph
    assert "out" not in graph and [(e.src, e.dst) for e in graph.edges][-1] == ("flatten",
                                                                                "classifier")
    assert win.doc.is_modified() and win.isWindowModified()
    assert win.doc.path == path                # Save writes back where the work came from
    # The dead process's snapshot is gone; this session holds the work in its own snapshot.
    snapshots = _autosaves(autosave_dir)
    assert len(snapshots) == 1
    assert json.loads(snapshots[0].read_text(encoding="utf-8"))["pid"] == os.getpid()
    assert win.save() and fileformat.load(path).node("conv").params["filters"] == 13


def test_declining_recovery_starts_empty_and_is_not_asked_again(make_window, answers,
                                                                autosave_dir, qtbot):
    from PySide6.QtWidgets import QMessageBox

    from playground.core.autosave import Autosave

    store = Autosave(autosave_dir)
    store.pid, store._start = 2**22 + 12345, None     # a writer that no longer exists
    store.write("doc", tiny_graph("old work"), None)
    answers.question = QMessageBox.StandardButton.No
    win = make_window(offer_recovery=True)
    qtbot.waitUntil(lambda: bool(answers.shown), timeout=5_000)
    assert len(win.doc.graph) == 0 and not win.doc.is_modified()
    assert _autosaves(autosave_dir) == []
    answers.shown.clear()
    make_window(offer_recovery=True)
    qtbot.wait(50)
    assert answers.shown == []


def test_a_corrupt_recovery_file_is_reported_and_set_aside(make_window, answers, autosave_dir,
                                                           qtbot):
    from PySide6.QtWidgets import QMessageBox

    from playground.core.autosave import Autosave

    autosave_dir.mkdir(parents=True)
    broken = autosave_dir / "4242-doc-0123456789.autosave.json"
    broken.write_bytes(b'{"format": "keras-playground-autosave", "version": 1, "pid": 4')
    store = Autosave(autosave_dir)
    store.pid, store._start = 2**22 + 777, None
    store.write("other", tiny_graph("still good"), None)
    answers.question = QMessageBox.StandardButton.Yes

    win = make_window(offer_recovery=True)
    qtbot.waitUntil(lambda: len(answers.shown) >= 2, timeout=5_000)
    kinds = [k for k, _t, _x in answers.shown]
    assert kinds == ["warning", "question"]
    _kind, title, text = answers.shown[0]
    assert title == "Damaged recovery file"
    assert "corrupt recovery file 4242-doc-0123456789.autosave.json" in text
    aside = autosave_dir / "4242-doc-0123456789.autosave.json.corrupt"
    assert str(aside) in text
    assert not broken.exists() and aside.read_bytes().startswith(b'{"format"')  # kept, not lost
    # The good snapshot beside it was still offered and restored.
    qtbot.waitUntil(lambda: win.doc.graph.name == "still good", timeout=5_000)
    answers.shown.clear()
    make_window(offer_recovery=True)           # reported once: the .corrupt file is not re-read
    qtbot.wait(50)
    assert answers.shown == []


def test_an_autosave_that_cannot_be_written_is_reported_and_editing_goes_on(
        make_window, answers, tmp_path, monkeypatch):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    monkeypatch.setenv("PLAYGROUND_AUTOSAVE_DIR", str(blocker / "autosave"))
    win = make_window(tiny_graph())
    edit(win)
    win.autosave_now()
    assert win.statusBar().currentMessage().startswith("autosave failed:")
    assert answers.shown == []                 # no modal box interrupting the user
    edit(win, value=11)
    assert win.doc.graph.node("conv").params["filters"] == 11
