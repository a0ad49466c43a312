"""F1 opens the in-app help: every catalogue block with its description, how to read the
canvas, and the lecture notes' transfer-learning table and augmentation advice."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from playground.blocks import by_category  # noqa: E402
from playground.ui.help_content import help_html  # noqa: E402


def test_help_lists_every_block_with_its_catalogue_description() -> None:
    html = help_html({"flip": "horizontal flip"})
    for specs in by_category().values():
        for spec in specs:
            assert f"name='block-{spec.type}'" in html
            assert spec.label in html
    for words in ("Reading the canvas", "very little data", "fine-tune a larger number of layers",
                  "linear classifier", "Mirroring", "PCA colour", "horizontal flip",
                  "Freeze feature extractor"):
        assert words in html, words


def test_f1_opens_the_help_at_the_selected_block(window, qtbot) -> None:
    from tests.ui.conftest import chain_graph, load_into

    load_into(window, chain_graph())
    window.scene.select_nodes(["conv"])
    qtbot.keyClick(window.view, Qt.Key.Key_F1)
    QApplication.processEvents()
    help_window = getattr(window, "help_window", None)
    assert help_window is not None and help_window.isVisible()
    text = help_window.browser.toPlainText()
    assert "Transfer learning" in text and "Conv 2D" in text
    # Scrolled to the Conv2D entry: it is on screen.
    browser = help_window.browser
    cursor_rect = browser.document().documentLayout().blockBoundingRect(
        browser.document().find("Conv2D").block())
    top = browser.verticalScrollBar().value()
    assert top > 0 and top <= cursor_rect.top() <= top + browser.viewport().height()
    help_window.find.setText("augmentation")
    assert help_window.find_next()
    assert window.act_help.shortcut().toString() == "F1"
    help_window.close()
