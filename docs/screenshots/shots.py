"""What the README's screenshot scripts share: the real main window on the untitled LeNet-5 of
a first start (runs and autosaves in temporary folders, offscreen, the user's settings left
alone), LeNet-5 trained from the Training tab, and the picture written atomically.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def first_start_window(size: tuple[int, int]):
    """(app, window) showing the start document at ``size``, or None (error printed)."""
    os.environ.setdefault("PLAYGROUND_RUNS_DIR", tempfile.mkdtemp(prefix="screenshot-runs-"))
    os.environ.setdefault("PLAYGROUND_AUTOSAVE_DIR", tempfile.mkdtemp(prefix="screenshot-auto-"))
    from playground.ui.app import make_window, open_start_document, prefer_offscreen

    prefer_offscreen()
    app, window = make_window(None, offer_recovery=False)
    window.persist_settings = False        # a scripted render must not move the user's window
    window.resize(*size)
    window.show()
    if not open_start_document(window):
        print("error: the LeNet-5 preset could not be opened", file=sys.stderr)
        return None
    return app, window


def wait(app, condition, seconds: float) -> bool:
    """Process events until ``condition()`` holds or ``seconds`` pass."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


def train(app, window, seconds: float = 300) -> bool:
    """Train the open graph with its own recipe, as the Train button does; False (error printed)
    when it does not start or finish in time (a docs build never hangs)."""
    panel = window.training_panel
    finished: list[str] = []
    panel.run_finished.connect(finished.append)
    if not panel.start():
        print(f"error: training did not start: {panel.status_text}", file=sys.stderr)
        return False
    if not wait(app, lambda: bool(finished), seconds):
        print(f"error: training did not finish in {seconds:g} s", file=sys.stderr)
        return False
    if panel.last_result is None or panel.last_result.status != "finished":
        print(f"error: training did not finish: {panel.status_text}", file=sys.stderr)
        return False
    return True


def save_and_exit(window, out: str, summary: str) -> int:
    """Write the window to ``out``; then leave as the app does (no Qt global statics running
    after Python's finalization), or return 1 when the picture could not be written."""
    from playground.ui.app import save_window_png

    if not save_window_png(window, out):
        return 1
    window.doc.undo_stack.setClean()
    print(f"wrote {out}: {summary}")
    sys.stdout.flush()
    os._exit(0)
