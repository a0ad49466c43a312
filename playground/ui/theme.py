"""Colours and sizes shared by the canvas, the palette and the panels (one place to restyle)."""

from __future__ import annotations

from PySide6.QtGui import QColor

# One hue per palette category; chosen to stay distinct for the common colour-vision deficiencies
# (blue/orange/purple dominate, red is kept for errors only), and dark enough that the white
# block titles on them reach WCAG AA (4.5:1; tests/firsthour/test_theme_contrast.py).
CATEGORY_COLORS: dict[str, str] = {
    "input": "#3a6ea5",
    "convolution": "#1f6fb8",
    "pooling": "#237a66",
    "normalization": "#7a55b5",
    "activation": "#a45f12",
    "regularization": "#656b74",
    "reshape": "#85622c",
    "merge": "#b03c78",
    "composite": "#5359c2",
    "head": "#a84e22",
}
FALLBACK_COLOR = "#62666b"

ERROR_COLOR = QColor("#e0302f")
WARNING_COLOR = QColor("#e0a800")
SELECT_COLOR = QColor("#ffb000")
TELEMETRY_NO_RELU = QColor("#4aa3df")   # telemetry bar of a node without ReLUs
CANVAS_BG = QColor("#23262b")
GRID_COLOR = QColor("#2b2f35")
EDGE_COLOR = QColor("#a9b4c2")
EDGE_LABEL_COLOR = QColor("#cfd8e3")
NODE_BODY = QColor("#31353c")
NODE_TEXT = QColor("#eef2f6")
NODE_SUBTEXT = QColor("#aab4c0")

NODE_WIDTH = 180.0  # = core.layout.NODE_SIZE, so preset layouts fit
NODE_HEIGHT = 80.0
HEADER_HEIGHT = 22.0
PORT_RADIUS = 6.5


def category_color(category: str | None) -> QColor:
    return QColor(CATEGORY_COLORS.get(category or "", FALLBACK_COLOR))


def desaturate(color: QColor, amount: float = 0.75) -> QColor:
    """Frozen nodes look frozen: most of the hue gone, a little darker."""
    h, s, v, a = color.getHsvF()
    out = QColor()
    out.setHsvF(max(h, 0.0), s * (1.0 - amount), v * 0.8, a)
    return out
