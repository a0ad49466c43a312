"""Render the README's training screenshot: the real main window at 1280x800 after LeNet-5
trained on the built-in digits from the Training tab (live plots, per-node telemetry on the
canvas).

    python docs/screenshots/render_training.py [docs/screenshots/training.png]

It drives the app exactly as a user would on first start (untitled LeNet-5, its own recipe,
Train), so the picture shows what the app does, not a mock-up. Runs go to a temporary folder.
"""

from __future__ import annotations

import sys

from shots import ROOT, first_start_window, save_and_exit, train


def main(out: str) -> int:
    started = first_start_window((1280, 800))    # a projector's size: everything must fit
    if started is None:
        return 1
    app, window = started
    from PySide6.QtCore import QCoreApplication

    panel = window.training_panel
    window.training_dock.raise_()            # as a user's click: the panel takes its share
    QCoreApplication.processEvents()
    window.view.fit_all()
    if not train(app, window):
        return 1
    for _ in range(5):                               # last tick: plots, log, telemetry colours
        QCoreApplication.processEvents()
        panel._tick()
    window.view.fit_all()
    QCoreApplication.processEvents()
    return save_and_exit(window, out, panel.status_text)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else
                          str(ROOT / "docs" / "screenshots" / "training.png")))
