"""The evaluation tab: accuracy/loss (and top-5 for many classes), a confusion-matrix heatmap,
per-class accuracy bars and the most confidently wrong samples with their images.

It only draws a result computed by :mod:`playground.training.evaluation` (pure functions, tested
on their own); the images are the raw dataset images of the evaluated split.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from playground.ui import themes


def image_to_pixmap(img: np.ndarray, size: int = 64) -> QPixmap:
    """A uint8 H x W x C (C = 1 or 3) image as a nearest-neighbour-scaled pixmap."""
    img = np.ascontiguousarray(img.astype(np.uint8))
    h, w = img.shape[:2]
    if img.ndim == 2 or img.shape[-1] == 1:
        qimg = QImage(img.reshape(h, w).tobytes(), w, h, w, QImage.Format.Format_Grayscale8)
    else:
        qimg = QImage(img[..., :3].tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimg.copy()).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)


class EvaluationView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.summary = QLabel("Train a model to see its evaluation here.")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        row = QHBoxLayout()
        layout.addLayout(row, 1)
        self.confusion_plot = pg.PlotWidget(title="confusion (rows: true, columns: predicted)")
        self.confusion_plot.invertY(True)
        self.confusion_plot.setAspectLocked(True)
        self.heatmap = pg.ImageItem()
        self.heatmap.setColorMap(pg.colormap.get("viridis"))
        self.confusion_plot.addItem(self.heatmap)
        row.addWidget(self.confusion_plot, 1)
        self.class_plot = pg.PlotWidget(title="per-class accuracy")
        self.class_plot.setYRange(0, 1)
        self.bars: pg.BarGraphItem | None = None
        row.addWidget(self.class_plot, 1)
        self.wrong_area = QScrollArea()
        self.wrong_area.setWidgetResizable(True)
        self.wrong_box = QWidget()
        self.wrong_grid = QGridLayout(self.wrong_box)
        self.wrong_area.setWidget(self.wrong_box)
        self.wrong_area.setMinimumWidth(300)
        row.addWidget(self.wrong_area, 1)
        self.result: dict[str, Any] | None = None
        self.wrong_labels: list[QLabel] = []
        self.apply_theme(themes.current())

    def apply_theme(self, theme: themes.Theme) -> None:
        """The plots in the app theme's colours (called on a switch)."""
        for widget in (self.confusion_plot, self.class_plot):
            widget.setBackground(theme.plot_bg)
            themes.style_plot(widget.getPlotItem(), theme)

    def set_result(self, result: dict[str, Any], images: np.ndarray | None = None) -> None:
        """Show ``evaluate_predictions``' output; ``images[i]`` is the raw image of sample i."""
        self.result = result
        names = result["class_names"]
        text = (f"{result['split']}: {result['samples']} samples, accuracy "
                f"{result['accuracy']:.2%}, loss {result['loss']:.4f}")
        if "top5" in result:
            text += f", top-5 accuracy {result['top5']:.2%}"
        if result.get("task") == "segmentation":  # pixels, not images; bars are IoU per class
            text = (f"{result['split']}: {result['samples']} images, pixel accuracy "
                    f"{result['pixel_accuracy']:.2%}, mean IoU {result['mean_iou']:.3f}, mean "
                    f"Dice {result['mean_dice']:.3f}, loss {result['loss']:.4f} (confusion of "
                    "pixels; bars: IoU per class)")
            pairs = [f"{n} {iou:.3f}/{dice:.3f}" for n, iou, dice in
                     zip(names, result["iou"], result.get("dice") or result["iou"], strict=True)
                     if iou is not None and dice is not None]
            if pairs:
                text += "\nIoU/Dice per class: " + ", ".join(pairs[:12]) + \
                    (", ..." if len(pairs) > 12 else "")
        self.summary.setText(text)
        cm = np.asarray(result["confusion"], dtype=np.float64)
        rows = cm.sum(axis=1, keepdims=True)
        norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
        # ImageItem's first axis is x: transpose so rows are true classes drawn down the y axis.
        self.heatmap.setImage(norm.T, levels=(0, 1))
        ticks = [(i + 0.5, str(n)) for i, n in enumerate(names)] if len(names) <= 20 else []
        for axis in ("bottom", "left"):
            self.confusion_plot.getAxis(axis).setTicks([ticks])
        per_class = [np.nan if v is None else v for v in result["per_class"]]
        if self.bars is not None:
            self.class_plot.removeItem(self.bars)
        self.bars = pg.BarGraphItem(x=np.arange(len(names)), height=np.nan_to_num(per_class),
                                    width=0.7, brush=(31, 119, 180))
        self.class_plot.addItem(self.bars)
        self.class_plot.getAxis("bottom").setTicks(
            [[(i, str(n)) for i, n in enumerate(names)]] if len(names) <= 20 else [[]])
        self._show_wrong(result, images)

    def clear(self) -> None:
        """Nothing evaluated (another graph was opened): no figures of a model not shown."""
        self.result = None
        self.summary.setText("Train a model to see its evaluation here.")
        self.heatmap.clear()
        if self.bars is not None:
            self.class_plot.removeItem(self.bars)
            self.bars = None
        self._clear_wrong()

    def _clear_wrong(self) -> None:
        while self.wrong_grid.count():
            item = self.wrong_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.wrong_labels = []

    def _show_worst_masks(self, result: dict[str, Any]) -> None:
        """A segmentation run: its worst images by IoU, each as image | true mask | predicted
        mask (the strips the run drew, ``worst_pictures``), captioned with the image's IoU."""
        pictures = result.get("worst_pictures") or []
        title = QLabel(f"worst images by IoU ({len(pictures)}): image | true mask | predicted")
        self.wrong_grid.addWidget(title, 0, 0, 1, 2)
        for k, picture in enumerate(pictures):
            iou = result["worst_iou"][k] if k < len(result.get("worst_iou", [])) else float("nan")
            index = result["worst"][k] if k < len(result.get("worst", [])) else k
            cell = QLabel()
            picture = np.asarray(picture, np.uint8)
            cell.setPixmap(image_to_pixmap(picture, 3 * 96))
            label = f"#{index}: IoU {iou:.3f}"
            cell.setToolTip(label)
            caption = QLabel(label)
            box = QWidget()
            col = QVBoxLayout(box)
            col.setContentsMargins(1, 1, 1, 1)
            col.addWidget(cell)
            col.addWidget(caption)
            self.wrong_grid.addWidget(box, 1 + k // 2, k % 2)
            self.wrong_labels.append(caption)

    def _show_wrong(self, result: dict[str, Any], images: Any) -> None:
        """``images``: sample index -> raw image, as an array or a dict of the shown ones."""
        while self.wrong_grid.count():
            item = self.wrong_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.wrong_labels = []
        names = result["class_names"]
        if result.get("task") == "segmentation":
            self._show_worst_masks(result)
            return
        title = QLabel(f"most confidently wrong ({len(result['wrong'])})")
        self.wrong_grid.addWidget(title, 0, 0, 1, 4)
        for k, index in enumerate(result["wrong"]):
            true = names[result["wrong_true"][k]]
            pred = names[result["wrong_pred"][k]]
            conf = result["wrong_conf"][k]
            cell = QLabel()
            cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
            image = (images.get(index) if isinstance(images, dict)
                     else images[index] if images is not None and 0 <= index < len(images)
                     else None)
            if image is not None:
                cell.setPixmap(image_to_pixmap(image))
            label = f"#{index}: {true} -> {pred} ({conf:.0%})"
            cell.setToolTip(label)
            caption = QLabel(label)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box = QWidget()
            col = QVBoxLayout(box)
            col.setContentsMargins(2, 2, 2, 2)
            col.addWidget(cell)
            col.addWidget(caption)
            self.wrong_grid.addWidget(box, 1 + k // 4, k % 4)
            self.wrong_labels.append(caption)
