"""Icons drawn with QPainter (no bitmap assets to ship or license)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap

from playground.ui import theme


def app_icon(size: int = 64) -> QIcon:
    """Three coloured layer blocks joined by edges: the app in a glance."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64.0
    p.setBrush(QColor("#23262b"))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(0, 0, size, size), 12 * s, 12 * s)
    pen = QPen(QColor("#a9b4c2"), 2.5 * s)
    p.setPen(pen)
    p.drawLine(QPointF(20 * s, 18 * s), QPointF(44 * s, 32 * s))
    p.drawLine(QPointF(44 * s, 32 * s), QPointF(20 * s, 46 * s))
    p.setPen(Qt.PenStyle.NoPen)
    for (x, y), cat in (((8, 10), "input"), ((32, 24), "convolution"), ((8, 38), "head")):
        p.setBrush(theme.category_color(cat))
        p.drawRoundedRect(QRectF(x * s, y * s, 24 * s, 16 * s), 4 * s, 4 * s)
    p.end()
    return QIcon(pix)
