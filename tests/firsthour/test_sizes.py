"""At projector sizes (1280x800, 1024x768) the canvas, palette, inspector and the training panel
with its plots are usable without dragging a splitter: opening Training gives it a real share."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication, QScrollArea  # noqa: E402


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_training_panel_opens_usable_at_projector_sizes(qtbot, answers, autosave_dir, size):
    from playground.core.presets import preset_path
    from playground.ui.main_window import MainWindow

    window = MainWindow(offer_recovery=False)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.open_file(preset_path("lenet5"), as_copy=True, ask=False)
    window.training_dock.raise_()            # the user clicks the Training tab
    qtbot.waitUntil(window.training_dock.isVisible)
    for _ in range(3):
        QApplication.processEvents()
    panel = window.training_panel
    assert window.training_dock.height() >= 300, window.training_dock.height()
    assert window.view.height() >= 280 and window.view.width() >= 520
    assert window.palette_dock.width() >= 150 and window.inspector_dock.width() >= 200
    plots = panel.plots.canvas
    assert plots.isVisible() and plots.height() >= 150 and plots.width() >= 450
    scroller = window.training_dock.widget()
    assert isinstance(scroller, QScrollArea)
    assert not scroller.horizontalScrollBar().isVisible()   # nothing cut off at the side
    settings = panel._settings_box
    viewport = settings.parentWidget()
    assert settings.width() <= viewport.width()              # browse buttons not clipped
    window.doc.undo_stack.setClean()
