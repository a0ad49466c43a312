"""Render the README's training screenshot: the real main window at 1280x800 after LeNet-5
trained on the built-in digits from the Training tab (live plots, per-node telemetry on the
canvas).

    python docs/screenshots/render_training.py [docs/screenshots/training.png]

It drives the app exactly as a user would on first start (untitled LeNet-5, its own recipe,
Train), so the picture shows what the app does, not a mock-up. Runs go to a temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(out: str) -> int:
    os.environ.setdefault("PLAYGROUND_RUNS_DIR", tempfile.mkdtemp(prefix="screenshot-runs-"))
    os.environ.setdefault("PLAYGROUND_AUTOSAVE_DIR", tempfile.mkdtemp(prefix="screenshot-auto-"))
    from playground.ui.app import make_window, open_start_document, prefer_offscreen

    prefer_offscreen()
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from playground.core.atomic import write_bytes_atomic

    app, window = make_window(None, offer_recovery=False)
    window.persist_settings = False        # a scripted render must not move the user's window
    window.resize(1280, 800)                 # a projector's size: everything must fit
    window.show()
    if not open_start_document(window):
        print("error: the LeNet-5 preset could not be opened", file=sys.stderr)
        return 1
    panel = window.training_panel
    window.training_dock.raise_()            # as a user's click: the panel takes its share
    QCoreApplication.processEvents()
    window.view.fit_all()
    loop = QEventLoop()
    panel.run_finished.connect(lambda _status: loop.quit())
    QTimer.singleShot(300_000, loop.quit)            # never hang a docs build
    if not panel.start():
        print(f"error: training did not start: {panel.status_text}", file=sys.stderr)
        return 1
    loop.exec()
    if panel.last_result is None or panel.last_result.status != "finished":
        print(f"error: training did not finish: {panel.status_text}", file=sys.stderr)
        return 1
    for _ in range(5):                               # last tick: plots, log, telemetry colours
        QCoreApplication.processEvents()
        panel._tick()
    window.view.fit_all()
    QCoreApplication.processEvents()
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not window.grab().toImage().save(buffer, "PNG"):
        print(f"error: could not encode {out}", file=sys.stderr)
        return 1
    buffer.close()
    write_bytes_atomic(out, bytes(data.data()))
    window.doc.undo_stack.setClean()
    print(f"wrote {out}: {panel.status_text}")
    sys.stdout.flush()
    os._exit(0)   # as the app does: no Qt global statics running after Python's finalization


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else
                          str(ROOT / "docs" / "screenshots" / "training.png")))
