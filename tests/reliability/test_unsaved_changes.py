"""Item 6, unsaved changes: close, new, open (and import) ask Save/Discard/Cancel; Cancel, a failed
save or a cancelled Save-As dialog keep the window and the work; Save writes the work first;
Discard goes on. Driven through the real actions and ``close()``; the message box answers are
scripted."""

from __future__ import annotations

import errno
import os

import pytest

from playground.core import fileformat
from tests.reliability.helpers import edit, tiny_graph

pytest.importorskip("pytestqt")

ACTIONS = ["close", "new", "open"]


@pytest.fixture
def setup(make_window, answers, tmp_path):
    """A window editing ``mine.json`` with one unsaved edit, and ``other.json`` to open."""
    mine = tmp_path / "mine.json"
    fileformat.save(tiny_graph("mine"), mine)
    other = tmp_path / "other.json"
    fileformat.save(tiny_graph("other"), other)
    win = make_window(fileformat.load(mine), str(mine))
    edit(win, value=21)
    answers.open_path = str(other)
    return win, mine, other


def _do(win, action: str) -> None:
    if action == "close":
        win.close()
    elif action == "new":
        win.act_new.trigger()
    else:
        win.act_open.trigger()


def _button(name: str):
    from PySide6.QtWidgets import QMessageBox

    return getattr(QMessageBox.StandardButton, name)


def _asked(answers) -> str:
    (kind, _title, text), = [s for s in answers.shown if s[0] == "question"]
    assert kind == "question"
    return text


def _kept(win, mine) -> None:
    assert win.isVisible()
    assert win.doc.graph.name == "mine" and win.doc.path == mine
    assert win.doc.graph.node("conv").params["filters"] == 21
    assert win.doc.is_modified() and win.isWindowModified()


@pytest.mark.parametrize("action", ACTIONS)
def test_cancel_keeps_the_window_and_the_work(setup, answers, action):
    win, mine, _other = setup
    before = mine.read_bytes()
    answers.question = _button("Cancel")
    _do(win, action)
    assert "“mine.json” has unsaved changes. Save them?" in _asked(answers)
    _kept(win, mine)
    assert mine.read_bytes() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_discard_goes_on_without_writing(setup, answers, action):
    win, mine, _other = setup
    before = mine.read_bytes()
    answers.question = _button("Discard")
    _do(win, action)
    _asked(answers)
    assert mine.read_bytes() == before
    if action == "close":
        assert not win.isVisible()
    else:
        assert win.doc.graph.name == ("other" if action == "open" else "Untitled")
        assert not win.doc.is_modified()


@pytest.mark.parametrize("action", ACTIONS)
def test_save_writes_the_work_then_goes_on(setup, answers, action):
    win, mine, _other = setup
    answers.question = _button("Save")
    _do(win, action)
    _asked(answers)
    assert fileformat.load(mine).node("conv").params["filters"] == 21
    assert not win.isVisible() if action == "close" else win.doc.graph.name != "mine"


@pytest.mark.parametrize("action", ACTIONS)
def test_a_failed_save_keeps_the_window_and_the_work(setup, answers, monkeypatch, action):
    win, mine, _other = setup
    before = mine.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    answers.question = _button("Save")
    _do(win, action)
    critical = [text for kind, _t, text in answers.shown if kind == "critical"]
    assert len(critical) == 1 and str(mine) in critical[0] and "No space left" in critical[0]
    _kept(win, mine)
    assert mine.read_bytes() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_save_of_an_untitled_graph_with_the_dialog_cancelled_keeps_everything(
        make_window, answers, tmp_path, action):
    win = make_window(tiny_graph("untitled work"))
    edit(win, value=5)
    answers.question = _button("Save")
    answers.save_path = ""                     # the Save-As dialog is cancelled
    answers.open_path = str(tmp_path / "whatever.json")
    _do(win, action)
    assert "“Untitled” has unsaved changes" in _asked(answers)
    assert win.isVisible() and win.doc.graph.name == "untitled work" and win.doc.is_modified()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "autosave") == []


def test_import_asks_too_and_cancel_keeps_the_work(setup, answers, tmp_path):
    win, mine, _other = setup
    answers.question = _button("Cancel")
    assert win.import_from(str(tmp_path / "model.keras")) is None
    _asked(answers)
    _kept(win, mine)
    assert not win._threads


def test_no_question_without_changes(make_window, answers, tmp_path):
    path = tmp_path / "clean.json"
    fileformat.save(tiny_graph("clean"), path)
    win = make_window(fileformat.load(path), str(path))
    win.act_new.trigger()
    win.close()
    assert answers.shown == [] and not win.isVisible()
