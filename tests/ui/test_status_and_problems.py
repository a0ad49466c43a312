"""At 1024x768 the status bar's message is elided with its full text in the tooltip (it was cut
mid-word), and the Problems panel collapses to one line while it lists nothing (an empty table
took ~150 px), growing back when problems appear or another bottom tab is shown."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from tests.ui.conftest import chain_graph, load_into

LONG = "nodes without positions were laid out automatically; " * 3


def settle(qtbot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(10)


def test_a_long_status_message_is_elided_with_the_full_text_in_the_tooltip(window, qtbot):
    window.resize(1024, 768)
    settle(qtbot)
    bar = window.statusBar()
    window.show_message(LONG)
    assert bar.currentMessage() == LONG                    # callers still read the full text
    shown = bar.displayed_message()
    assert shown.endswith("\u2026") and len(shown) < len(LONG)
    assert bar.fontMetrics().horizontalAdvance(shown) <= bar.message_rect().width()
    assert bar.message_rect().right() < min(label.x() for label in window.status_labels.values())
    assert bar.toolTip() == LONG
    window.show_message("saved")                           # fits: no ellipsis, no tooltip
    assert bar.displayed_message() == "saved" and bar.toolTip() == ""


def test_at_1024_px_a_big_models_totals_leave_the_message_room(window, qtbot):
    from playground.core.presets import load_preset

    window.resize(1024, 768)
    load_into(window, load_preset("resnet34"))
    window._set_device("")     # as at a fresh start (a run earlier in this process knows it)
    settle(qtbot)
    device = window.status_labels["device"]
    assert device.text() == "CPU/GPU: ?" and "detected when training starts" in device.toolTip()
    # The totals (21,814,696 params...) and the device left the message ~30 px ("layo...").
    assert window.statusBar().message_rect().width() >= 120


def test_the_empty_problems_panel_collapses_and_grows_back(window, qtbot):
    window.resize(1024, 768)
    load_into(window, chain_graph())                       # valid: nothing to list
    settle(qtbot)
    dock = window.problems_dock
    assert window.problems.is_empty and window.problems.empty_label.isVisible()
    qtbot.waitUntil(lambda: dock.height() <= 60, timeout=5000)
    canvas = window.view.height()
    # A problem appears: the list gets its height back.
    window.editor.set_param("input", "shape", [2, 2, 3])
    qtbot.waitUntil(lambda: dock.height() >= 140, timeout=5000)
    assert window.problems.tree.isVisible() and window.view.height() < canvas
    # Fixed again: one line.
    window.editor.set_param("input", "shape", [16, 16, 3])
    qtbot.waitUntil(lambda: dock.height() <= 60, timeout=5000)
    # The Layers tab shows the table at its full height, and Problems collapses again after.
    window.layers_dock.raise_()
    qtbot.waitUntil(lambda: window.layers_dock.height() >= 140, timeout=5000)
    dock.raise_()
    qtbot.waitUntil(lambda: dock.height() <= 60, timeout=5000)


def test_a_height_the_user_chose_is_kept_until_the_list_changes(window, qtbot):
    from PySide6.QtCore import Qt

    load_into(window, chain_graph())
    dock = window.problems_dock
    qtbot.waitUntil(lambda: dock.height() <= 60, timeout=5000)
    window.resizeDocks([dock], [220], Qt.Orientation.Vertical)   # the user drags it taller
    settle(qtbot)
    chosen = dock.height()
    assert chosen >= 180
    window.editor.set_param("conv", "filters", 9)          # an edit that changes no problem
    settle(qtbot)
    assert dock.height() == chosen
    window.editor.set_param("input", "shape", [2, 2, 3])
    settle(qtbot)
    window.editor.set_param("input", "shape", [16, 16, 3])
    qtbot.waitUntil(lambda: dock.height() <= 60, timeout=5000)
    window.editor.set_param("input", "shape", [2, 2, 3])
    qtbot.waitUntil(lambda: abs(dock.height() - chosen) <= 2, timeout=5000)  # the user's
    window.doc.undo_stack.setClean()
