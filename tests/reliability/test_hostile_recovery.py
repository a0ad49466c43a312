"""Issue 11, medium: one bad recovery file never blocks crash recovery. A snapshot whose pid is
2**63 (``os.kill`` raises OverflowError), whose time is 10**400, or a FIFO or a link to /dev/zero
named like a snapshot, is set aside (or skipped) on its own; the good snapshots beside it are
still offered, at every start, by the real editor.
"""

from __future__ import annotations

import json
import os
import threading

import pytest

from playground.core import fileformat
from playground.core.autosave import SUFFIX, Autosave
from tests.reliability.helpers import tiny_graph


def _record(**changes) -> dict:
    record = {"format": "keras-playground-autosave", "version": 1, "doc_key": "k",
              "source_path": None, "time": 1_700_000_000.0, "pid": 4194399, "host": "elsewhere",
              "graph": fileformat.to_document(tiny_graph("bad one"))}
    record.update(changes)
    return record


BAD_RECORDS = {
    "pid_2_63": _record(pid=2**63),
    "pid_2_31": _record(pid=2**31),
    "time_huge": _record(time=10**400),
    "pid_start_huge": None,   # valid apart from a huge pid_start: kept, the start is ignored
}


def _good_snapshot(folder) -> None:
    store = Autosave(folder)
    store.pid, store._start = 2**22 + 777, None          # a process that no longer runs
    store.write("good", tiny_graph("still good"), None)


def _bad_files(folder) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name, record in BAD_RECORDS.items():
        if record is None:
            continue
        path = folder / f"1-{name}{SUFFIX}"
        path.write_text(json.dumps(record), encoding="utf-8")
        made.append(path)
    fifo = folder / f"2-fifo{SUFFIX}"
    os.mkfifo(fifo)
    zero = folder / f"3-zero{SUFFIX}"
    zero.symlink_to("/dev/zero")
    return made + [fifo, zero]


def _pending_within(store: Autosave, seconds: float = 10.0):
    box: dict = {}

    def target():
        try:
            box["entries"] = store.pending()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread.is_alive(), box


def test_bad_recovery_files_are_set_aside_and_the_good_one_offered(tmp_path):
    folder = tmp_path / "autosave"
    bad = _bad_files(folder)
    _good_snapshot(folder)
    hung, box = _pending_within(Autosave(folder))
    if hung:   # unblock today's reader stuck on the FIFO so the suite can go on
        os.close(os.open(folder / f"2-fifo{SUFFIX}", os.O_WRONLY | os.O_NONBLOCK))
    assert not hung, "pending() blocked on a FIFO or a device"
    assert "error" not in box, repr(box.get("error"))
    entries = box["entries"]
    good = [e for e in entries if e.error is None]
    assert [e.load().name for e in good] == ["still good"]
    damaged = [e for e in entries if e.error is not None]
    assert len(damaged) == len(bad)
    assert any("'pid' 9223372036854775808 is not a process id" in e.error for e in damaged)
    assert any("'time'" in e.error and "digits" in e.error for e in damaged)
    assert any("FIFO" in e.error for e in damaged)
    assert any("character device" in e.error for e in damaged)
    for path in bad:                                  # set aside, kept: nothing deleted
        assert not os.path.lexists(path)
        assert os.path.lexists(path.with_name(path.name + ".corrupt"))
    assert [e.load().name for e in Autosave(folder).pending()] == ["still good"]


def test_a_huge_pid_start_is_ignored_not_fatal(tmp_path):
    folder = tmp_path / "autosave"
    folder.mkdir()
    (folder / f"9-start{SUFFIX}").write_text(json.dumps(_record(pid_start=10**30)))
    (entry,) = Autosave(folder).pending()
    assert entry.error is None and entry.pid_start is None and entry.load().name == "bad one"


def test_the_editor_offers_the_good_snapshot_beside_bad_ones(make_window, answers,
                                                             autosave_dir, qtbot):
    pytest.importorskip("pytestqt")
    from PySide6.QtWidgets import QMessageBox

    for path in _bad_files(autosave_dir):
        if not path.is_file():           # the FIFO and the device: the reader test covers them
            path.unlink()
    _good_snapshot(autosave_dir)
    answers.question = QMessageBox.StandardButton.Yes
    win = make_window(offer_recovery=True)
    qtbot.waitUntil(lambda: win.doc.graph.name == "still good", timeout=5_000)
    kinds = [k for k, _t, _x in answers.shown]
    assert kinds == ["warning", "question"]
    assert "not a process id" in answers.shown[0][2]
    answers.shown.clear()
    make_window(offer_recovery=True)     # the next start: nothing bad is read again
    qtbot.wait(50)
    assert [k for k, _t, _x in answers.shown] == []
