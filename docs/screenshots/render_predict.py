"""Render the README's Predict screenshot: a digit drawn with the mouse on the real window's
Predict dock, its top-5 classes, and Grad-CAM of conv1 for it.

    python docs/screenshots/render_predict.py [docs/screenshots/predict.png]

LeNet-5 is trained first from the Training tab on the built-in digits (its own recipe, as on
first start); then the mouse draws a "3" on the pad (real mouse events along a path), and the
canvas selects c1. Runs go to a temporary folder.
"""

from __future__ import annotations

import sys

from shots import ROOT, first_start_window, save_and_exit, train, wait


def draw(pad, points) -> None:
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    def send(kind, p, button, buttons):
        point = QPointF(*p)
        QApplication.sendEvent(pad, QMouseEvent(kind, point, pad.mapToGlobal(point), button,
                                                buttons, Qt.KeyboardModifier.NoModifier))

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send(QEvent.Type.MouseButtonPress, points[0], left, left)
    for p in points[1:]:
        send(QEvent.Type.MouseMove, p, none, left)
        QApplication.processEvents()
    send(QEvent.Type.MouseButtonRelease, points[-1], left, none)


def three(pad) -> list[tuple[float, float]]:
    """A "3" as a hand would go: top arc, middle, bottom arc (fractions of the pad)."""
    square = pad._square()
    x0, y0, side = square.x(), square.y(), square.width()
    corners = [(0.3, 0.2), (0.5, 0.13), (0.68, 0.2), (0.7, 0.33), (0.5, 0.47), (0.7, 0.6),
               (0.72, 0.75), (0.55, 0.87), (0.3, 0.82)]
    path = []
    for (ua, va), (ub, vb) in zip(corners, corners[1:], strict=False):
        path += [(ua + (ub - ua) * t / 6, va + (vb - va) * t / 6) for t in range(6)]
    path.append(corners[-1])
    return [(x0 + side * u, y0 + side * v) for u, v in path]


def main(out: str) -> int:
    started = first_start_window((1400, 1000))
    if started is None:
        return 1
    app, window = started
    from PySide6.QtCore import QCoreApplication, Qt

    if not train(app, window):
        return 1
    view = window.predict_view
    window.predict_dock.show()
    window.predict_dock.raise_()
    window.resizeDocks([window.predict_dock], [520], Qt.Orientation.Horizontal)
    wait(app, lambda: view.loaded is not None and not view.busy, 120)
    if view.loaded is None or view.loaded.random:
        print(f"error: the run's weights did not load: {view.error}", file=sys.stderr)
        return 1
    draw(view.pad, three(view.pad))
    window.scene.select_nodes(["c1"])
    window.view.fit_all()
    wait(app, lambda: getattr(view.maps, "node", None) == "c1" and not view.busy, 120)
    view.map_tabs.setCurrentIndex(0)
    for _ in range(5):
        QCoreApplication.processEvents()
    view.request_maps()                  # redraw at the label's final size
    wait(app, lambda: not view.busy, 60)
    QCoreApplication.processEvents()
    top = view.bars.rows[0] if view.bars.rows else {"class": "?", "p": 0}
    return save_and_exit(window, out, f"drawn 3 -> {top['class']} ({top['p']:.1%})")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else
                          str(ROOT / "docs" / "screenshots" / "predict.png")))
