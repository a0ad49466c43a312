"""The diagram as an image for slides: PNG (raster, 2x for sharp text) or SVG (vector, via
``QSvgGenerator``), the whole graph at full detail whatever the window's zoom.

Rendering goes through ``QGraphicsScene.render``, so the file shows exactly what the canvas
draws. For the time of the render the items paint without their pixmap cache (an SVG must get
text and paths, not bitmaps), without the selection outline and with ports and edge labels on;
all of it is restored afterwards. The file is written atomically.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QImage, QPainter

from playground.core.atomic import write_bytes_atomic
from playground.core.errors import PlaygroundError

FORMATS = ("png", "svg")
MARGIN = 24.0


class DiagramExportError(PlaygroundError):
    """Nothing to draw, an unknown format, or the image could not be encoded."""


def diagram_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise DiagramExportError(f"{path}: a diagram is saved as .png or .svg, not "
                                 f"{'.' + suffix if suffix else 'a file without extension'}")
    return suffix


def diagram_bytes(scene, fmt: str, scale: float = 2.0, title: str = "") -> bytes:
    """The scene's items (with a margin) encoded as ``fmt`` ("png" or "svg")."""
    if fmt not in FORMATS:
        raise DiagramExportError(f"unknown diagram format {fmt!r} (png or svg)")
    if not scene.node_items:
        raise DiagramExportError("the graph is empty: there is no diagram to save")
    with _full_detail(scene):
        source = scene.itemsBoundingRect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
        if fmt == "svg":
            return _svg(scene, source, title)
        return _png(scene, source, scale)


def save_diagram(scene, path: str | Path, title: str = "") -> str:
    """Write the diagram to ``path`` (format from its extension); returns the format."""
    fmt = diagram_format(path)
    write_bytes_atomic(path, diagram_bytes(scene, fmt, title=title))
    return fmt


def _png(scene, source: QRectF, scale: float) -> bytes:
    # Keep huge graphs within a sane bitmap (about 16k pixels on the long side).
    scale = min(scale, 16000.0 / max(source.width(), source.height(), 1.0))
    size = QSize(max(1, round(source.width() * scale)), max(1, round(source.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(scene.backgroundBrush().color())
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    scene.render(painter, QRectF(0, 0, size.width(), size.height()), source)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise DiagramExportError("could not encode the PNG")
    buffer.close()
    return bytes(data.data())


def _svg(scene, source: QRectF, title: str) -> bytes:
    from PySide6.QtSvg import QSvgGenerator

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    size = QSize(max(1, round(source.width())), max(1, round(source.height())))
    generator.setSize(size)
    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
    generator.setTitle(title or "Keras Architecture Playground diagram")
    generator.setDescription("Rendered by Keras Architecture Playground")
    painter = QPainter(generator)
    painter.fillRect(QRectF(0, 0, size.width(), size.height()), scene.backgroundBrush())
    scene.render(painter, QRectF(0, 0, size.width(), size.height()), source)
    painter.end()
    buffer.close()
    return bytes(data.data())


class _full_detail:  # noqa: N801 - used as a context manager
    """Render state for an export; everything is put back on exit."""

    def __init__(self, scene) -> None:
        self.scene = scene

    def __enter__(self) -> None:
        from PySide6.QtWidgets import QGraphicsItem

        scene = self.scene
        self.selected = [item for item in scene.selectedItems()]
        self.detail = scene.detail
        scene.blockSignals(True)   # the inspector keeps showing the selected node
        try:
            for item in self.selected:
                item.setSelected(False)
        finally:
            scene.blockSignals(False)
        if not scene.detail:
            scene.set_detail(True)
        self.overview = scene.overview    # telemetry bars show at full detail too
        scene.set_overview(False)
        self.cached = []
        for item in scene.items():
            if item.cacheMode() != QGraphicsItem.CacheMode.NoCache:
                self.cached.append((item, item.cacheMode()))
                item.setCacheMode(QGraphicsItem.CacheMode.NoCache)

    def __exit__(self, *exc) -> None:
        scene = self.scene
        for item, mode in self.cached:
            item.setCacheMode(mode)
        if scene.detail != self.detail:
            scene.set_detail(self.detail)
        scene.set_overview(self.overview)
        scene.blockSignals(True)
        try:
            for item in self.selected:
                item.setSelected(True)
        finally:
            scene.blockSignals(False)
