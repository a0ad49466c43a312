"""Every text at WCAG AA (4.5:1) in both themes: the colour pairs the theme defines, and the
real widgets rendered in a main window (Log tab, Evaluation header, Runs hint, combo-box popup,
Qt's file dialog, status bar, plots), where the text's colour is read from the pixels."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor, QImage, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel  # noqa: E402

from playground.ui import theme as canvas_theme  # noqa: E402
from playground.ui import themes  # noqa: E402

AA = 4.5


def luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def contrast(a: QColor | str, b: QColor | str) -> float:
    la, lb = sorted((luminance(QColor(a)), luminance(QColor(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula_matches_wcag_examples() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("theme", [themes.DARK, themes.LIGHT], ids=lambda t: t.name)
def test_every_text_pair_of_the_theme_reaches_aa(theme) -> None:
    t = theme
    pairs = [(t.text, bg) for bg in (t.window, t.panel, t.base, t.alt_base, t.input, t.button,
                                     t.button_hover, t.tab_selected)]
    pairs += [(t.subtext, bg) for bg in (t.window, t.panel, t.base, t.alt_base,
                                         t.tab_selected)]
    pairs += [(fg, bg) for fg in (t.error, t.ok, t.warning, t.link) for bg in (t.window, t.panel,
                                                                                t.base)]
    # Disabled controls are exempt in WCAG; they stay readable here all the same.
    pairs += [(t.disabled_text, bg) for bg in (t.button, t.input, t.window)]
    pairs += [(t.text, t.button_hover)]   # a hovered tab shows the full text colour
    pairs += [(t.highlight_text, t.highlight), (t.plot_fg, t.plot_bg),
              ("#ffffff", t.ok_button), ("#ffffff", t.ok_button_hover)]
    low = [(fg, bg, round(contrast(fg, bg), 2)) for fg, bg in pairs if contrast(fg, bg) < AA]
    assert low == []
    pal = themes.palette(t)
    R = QPalette.ColorRole  # noqa: N806
    for fg, bg in ((R.WindowText, R.Window), (R.Text, R.Base), (R.Text, R.AlternateBase),
                   (R.ButtonText, R.Button), (R.HighlightedText, R.Highlight),
                   (R.ToolTipText, R.ToolTipBase), (R.PlaceholderText, R.Base)):
        assert contrast(pal.color(fg), pal.color(bg)) >= AA, (fg, bg)


def test_canvas_texts_reach_aa() -> None:
    t = canvas_theme
    assert contrast(t.NODE_TEXT, t.NODE_BODY) >= AA
    assert contrast(t.NODE_SUBTEXT, t.NODE_BODY) >= AA
    assert contrast(t.EDGE_LABEL_COLOR, t.CANVAS_BG) >= AA
    for category, color in t.CATEGORY_COLORS.items():   # white block titles on the header
        assert contrast("#ffffff", color) >= AA, category
    assert contrast("#ffffff", t.FALLBACK_COLOR) >= AA


def _pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    w, h = image.width(), image.height()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.bytesPerLine() * h)
    return data.reshape(h, image.bytesPerLine() // 4, 4)[:, :w, 2::-1].reshape(-1, 3).copy()


def rendered_contrast(widget) -> tuple[float, str, str]:
    """(ratio, text colour, background colour): the background is the most common colour, the
    text the pixel that differs most from it (a glyph's stem is drawn in the full colour)."""
    px = _pixels(widget)
    colors, counts = np.unique(px, axis=0, return_counts=True)
    bg = QColor(*map(int, colors[int(np.argmax(counts))]))
    ratios = [contrast(QColor(*map(int, c)), bg) for c in colors]
    best = int(np.argmax(ratios))
    return ratios[best], QColor(*map(int, colors[best])).name(), bg.name()


@pytest.fixture(params=["dark", "light"])
def themed(request, qapp):
    saved_palette, saved_sheet = qapp.palette(), qapp.styleSheet()
    themes.apply(qapp, request.param)
    yield themes.current()
    qapp.setStyleSheet(saved_sheet)
    qapp.setPalette(saved_palette)
    themes._current = themes.DARK


def test_rendered_panels_reach_aa(themed, window, qtbot) -> None:
    window.resize(1280, 800)
    panel = window.training_panel
    window.training_dock.show()
    window.training_dock.raise_()
    panel.log.appendPlainText("epoch 1/10: loss 0.4213, val_loss 0.3821, val_accuracy 0.9012")
    hint = next(w for w in panel.findChildren(QLabel) if w.text().startswith("Check runs"))
    checks = {"log": (panel.tabs, panel.log), "evaluation header": (panel.tabs,
                                                                     panel.evaluation.summary),
              "runs hint": (panel.tabs, hint)}
    results = {}
    for name, (tabs, widget) in checks.items():
        page = next(i for i in range(tabs.count())
                    if tabs.widget(i).isAncestorOf(widget) or tabs.widget(i) is widget)
        tabs.setCurrentIndex(page)
        qtbot.waitUntil(widget.isVisible)
        QApplication.processEvents()
        results[name] = rendered_contrast(widget)
    for key in ("params", "validity"):
        results[f"status {key}"] = rendered_contrast(window.status_labels[key])
    results["plots"] = rendered_contrast(panel.plots.canvas)
    panel.tabs.setCurrentWidget(panel.evaluation)
    QApplication.processEvents()
    results["evaluation plot"] = rendered_contrast(panel.evaluation.confusion_plot)
    low = {k: v for k, v in results.items() if v[0] < AA}
    assert low == {}
    # The plots are drawn on the theme's background, not pyqtgraph's default black or white.
    assert results["plots"][2] == QColor(themed.plot_bg).name()


def test_combo_popup_and_file_dialog_reach_aa(themed, window, qtbot) -> None:
    combo = window.training_panel.dataset_combo
    window.training_dock.show()
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    ratio, fg, bg = rendered_contrast(view)
    combo.hidePopup()
    assert ratio >= AA, (fg, bg)
    dialog = QFileDialog(window, "Open graph")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    labels = [w for w in dialog.findChildren(QLabel) if w.isVisible() and w.text()]
    assert labels
    for label in labels:
        ratio, fg, bg = rendered_contrast(label)
        assert ratio >= AA, (label.text(), fg, bg)
    ratio, fg, bg = rendered_contrast(dialog)
    assert ratio >= AA
    assert QColor(bg).lightness() < 128 if themed.name == "dark" else QColor(bg).lightness() > 128
    dialog.close()


def test_view_menu_switches_the_theme_live(window, qapp) -> None:
    saved_palette, saved_sheet = qapp.palette(), qapp.styleSheet()
    try:
        window.set_theme("light")
        assert window.theme_actions["light"].isChecked()
        assert not window.theme_actions["dark"].isChecked()
        plots = window.training_panel.plots.canvas
        assert plots.backgroundBrush().color().name() == themes.LIGHT.plot_bg
        assert qapp.palette().color(QPalette.ColorRole.Base).name() == themes.LIGHT.base
        ratio, _fg, bg = rendered_contrast(window.status_labels["validity"])
        assert ratio >= AA and QColor(bg).lightness() > 128
        window.set_theme("dark")
        assert plots.backgroundBrush().color().name() == themes.DARK.plot_bg
    finally:
        qapp.setStyleSheet(saved_sheet)
        qapp.setPalette(saved_palette)
        themes._current = themes.DARK
