"""Never crash, over time: PySide6 6.12 on Python 3.11 drops a reference to ``None`` on every void
Qt call and to ``True`` on every ``Signal.emit`` from Python; unchecked, a long session (thousands
of edits, analyses, training events, repaints) aborts the interpreter ("Fatal Python error:
bool_dealloc / none_dealloc"), losing all unsaved work. ``playground.ui`` makes the three
singletons effectively immortal. Runs in a subprocess, since the failure is an abort."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

REPO = Path(__file__).resolve().parents[2]

SESSION = textwrap.dedent("""
    import sys
    import playground.ui  # noqa: F401  (the work-around under test)
    from playground.core.graph import Graph
    from playground.ui.main_window import MainWindow, application

    app = application()
    win = MainWindow(offer_recovery=False)
    win.persist_settings = False
    win.show()
    app.processEvents()
    for i in range(int(sys.argv[1])):            # signals emitted from Python
        win.doc.modified_changed.emit(i % 2 == 0)
        win.doc.path_changed.emit()
    for _ in range(300):                         # graph swaps, analyses, repaints
        win.doc.set_graph(Graph(), None)
        win.act_new.trigger()
        win.view.viewport().repaint()
    app.processEvents()
    print("alive", flush=True)
""")


def test_a_long_session_does_not_abort_the_interpreter():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PLAYGROUND_NO_SETTINGS="1",
               PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", SESSION, "50000"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "alive"
    assert "Fatal Python error" not in proc.stderr
