"""The Predict dock: one image through the current weights, and what the selected node sees.

The image is a drawing (the mouse on a black pad, like the digits: white strokes), a dataset
sample, or an image file dropped on the pad or opened. The top-k classes are drawn as bars and
follow the drawing live. The weights are the training panel's last run (followed when a run
finishes), a loaded ``.keras`` (the safe importer, never ``load_model``), or the graph on the
canvas untrained (random weights, said so). Feature maps, kernels, Grad-CAM and saliency of the
node selected on the canvas come from ``playground.inspect``. A segmenter's prediction (a class
per pixel) is drawn as a coloured mask over the image, with a legend and an opacity slider.

The editor never imports TensorFlow for this: every model runs in an inference process
(``playground.inspect.service``), with lanes for loading, predictions, maps, evaluations and
dataset samples (decoded there, like training decodes them), each keeping only the newest request (a stroke sends many); a 15 ms timer collects the answers, so the
window never waits on the model, not even while TensorFlow loads. A crash of that process is
shown here and the next request starts a new one. Nothing starts until the dock is shown; the
process ends with the window (:meth:`PredictView.shutdown`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from playground.inspect.service import (
    InferenceService,
    ModelInfo,
    Reply,
    graph_source,
    imagenet_source,
    keras_source,
    run_source,
)

PAD_SIZE = 112            # the drawing's own resolution (pixels), white on black like the digits
BRUSH = 7.0               # stroke radius in pad pixels
TOP_K = 5
WRONG_SHOWN = 6           # confidently wrong samples shown with Grad-CAM in the Evaluate tab
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"
MASK_OPACITY = 45         # percent: a segmenter's mask over the image
CANVAS_SOURCES = ("graph", "imagenet")   # sources built from the canvas graph
IDLE_STOP_MS = 5 * 60 * 1000  # the inference process ends after the dock is hidden this long


def to_qimage(rgb: np.ndarray) -> QImage:
    """uint8 H x W x 3 (or H x W grey) -> an independent QImage."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    if arr.ndim == 2:
        h, w = arr.shape
        return QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    h, w, _ = arr.shape
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def stamp_segment(buffer: np.ndarray, a: tuple[float, float], b: tuple[float, float],
                  radius: float = BRUSH) -> None:
    """Draw a soft-edged round stroke from ``a`` to ``b`` (x, y in buffer pixels), in place."""
    h, w = buffer.shape
    ax, ay = a
    bx, by = b
    x0, x1 = int(max(0, min(ax, bx) - radius - 1)), int(min(w, max(ax, bx) + radius + 2))
    y0, y1 = int(max(0, min(ay, by) - radius - 1)), int(min(h, max(ay, by) + radius + 2))
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = np.zeros_like(xs) if length2 == 0 else np.clip(((xs - ax) * dx + (ys - ay) * dy)
                                                       / length2, 0.0, 1.0)
    dist = np.hypot(xs - (ax + t * dx), ys - (ay + t * dy))
    ink = np.clip((radius - dist) + 0.5, 0.0, 1.0) * 255.0
    region = buffer[y0:y1, x0:x1]
    np.maximum(region, ink.astype(np.uint8), out=region)


def accept_file_drag(event) -> None:
    """A drag that carries files is welcome on the pad and on the dock."""
    if event.mimeData().hasUrls():
        event.acceptProposedAction()


def dropped_file(event) -> str | None:
    """The first local file of a drop (accepted), or None (a drop of web links is ignored)."""
    urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
    if not urls:
        return None
    event.acceptProposedAction()
    return urls[0].toLocalFile()


class DrawPad(QWidget):
    """A square black pad: draw with the left mouse button; drop an image file on it.

    ``pixels`` is what it shows: the drawing (``PAD_SIZE`` square, 1 channel) or a loaded
    picture (its own size). Drawing on a loaded picture starts a fresh drawing.
    """

    stroke = Signal()              # the drawing changed (many per stroke)
    stroke_finished = Signal()
    file_dropped = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.drawing = np.zeros((PAD_SIZE, PAD_SIZE), np.uint8)
        self.picture: np.ndarray | None = None     # a loaded image (H x W x C uint8)
        self._last: tuple[float, float] | None = None
        self.setAcceptDrops(True)
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit with the mouse (white on black), or drop an image file")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(150, 150)

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return width

    @property
    def is_drawing(self) -> bool:
        return self.picture is None

    def pixels(self) -> np.ndarray:
        return self.drawing[:, :, None] if self.picture is None else self.picture

    def clear(self) -> None:
        self.drawing[:] = 0
        self.picture = None
        self.update()
        self.stroke.emit()
        self.stroke_finished.emit()

    def show_picture(self, pixels: np.ndarray) -> None:
        self.picture = np.ascontiguousarray(pixels, np.uint8)
        self.update()

    def _square(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_pad(self, pos: QPointF) -> tuple[float, float]:
        rect = self._square()
        scale = PAD_SIZE / rect.width()
        return ((pos.x() - rect.x()) * scale, (pos.y() - rect.y()) * scale)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self.picture is not None:
            self.picture = None
            self.drawing[:] = 0
        self._last = self.to_pad(event.position())
        stamp_segment(self.drawing, self._last, self._last)
        self.update()
        self.stroke.emit()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._last is None:
            return
        point = self.to_pad(event.position())
        stamp_segment(self.drawing, self._last, point)
        self._last = point
        self.update()
        self.stroke.emit()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._last is not None:
            self._last = None
            self.stroke_finished.emit()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        rect = self._square()
        pixels = self.pixels()
        image = to_qimage(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.is_drawing)
        painter.drawImage(rect, image)
        painter.setPen(QColor("#5a6470"))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.end()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        accept_file_drag(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        path = dropped_file(event)
        if path is not None:
            self.file_dropped.emit(path)


class ImageView(QWidget):
    """A picture scaled to fit (aspect kept, nearest pixels), or a wrapped text when there is
    none. Painted, not a QLabel pixmap: the picture never sets the layout's size."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self._text = ""
        self.setMinimumHeight(100)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(240, 200)

    def set_image(self, rgb: np.ndarray | None) -> None:
        self.image = None if rgb is None else to_qimage(rgb)
        self._text = ""
        self.update()

    def set_text(self, text: str) -> None:
        self.image, self._text = None, text
        self.update()

    def image_pixels(self) -> np.ndarray | None:
        """The picture shown, as uint8 H x W x 3 (tests, screenshots)."""
        if self.image is None:
            return None
        image = self.image.convertToFormat(QImage.Format.Format_RGB888)
        h, w = image.height(), image.width()
        raw = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
        return raw.reshape(h, image.bytesPerLine())[:, :3 * w].reshape(h, w, 3).copy()

    def text(self) -> str:
        return self._text

    def image_rect(self) -> QRectF:
        """Where the picture is drawn (centred, aspect kept)."""
        if self.image is None:
            return QRectF()
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1b1f24"))
        if self.image is not None:
            painter.drawImage(self.image_rect(), self.image)
        elif self._text:
            painter.setPen(QColor("#c8ced6"))
            painter.drawText(QRectF(self.rect()).adjusted(8, 8, -8, -8),
                             int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap),
                             self._text)
        painter.end()


class ProbabilityBars(QWidget):
    """The top-k classes as horizontal bars with their names and probabilities."""

    ROW = 18

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.setMinimumHeight(self.ROW * TOP_K + 4)

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.rows = list(rows)
        self.update()

    def bar_rect(self, i: int) -> QRectF:
        """Where row ``i``'s bar is drawn (full length = probability 1)."""
        label_w = min(110, self.width() // 3)
        full = max(10.0, self.width() - label_w - 60)
        return QRectF(label_w + 4, i * self.ROW + 3, full * float(self.rows[i]["p"]),
                      self.ROW - 6)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        label_w = min(110, self.width() // 3)
        font = QFont(self.font())
        painter.setFont(font)
        for i, row in enumerate(self.rows):
            y = i * self.ROW
            painter.setPen(QColor("#d8dde3"))
            name = painter.fontMetrics().elidedText(str(row["class"]),
                                                    Qt.TextElideMode.ElideRight, label_w - 4)
            painter.drawText(QRectF(0, y, label_w, self.ROW),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            bar = self.bar_rect(i)
            painter.fillRect(bar, QColor("#3d9be9") if i else QColor("#40c070"))
            painter.drawText(QRectF(bar.right() + 6, y, 60, self.ROW),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"{row['p']:.1%}")
        painter.end()


def new_service(on_exit: Callable[[Reply], None]) -> InferenceService:
    """The dock's inference service, one per window (the tests lend one child to several
    windows in turn, to pay TensorFlow's import once)."""
    return InferenceService(on_exit=on_exit)


class PredictView(QWidget):
    """See the module docstring. ``get_graph`` gives the canvas graph; ``training_panel`` (or
    None) gives the last run and the dataset; ``get_path`` (optional) the graph's file, where
    the weights file its ``weights`` key names is found."""

    predicted = Signal()          # bars updated
    maps_ready = Signal()

    def __init__(self, get_graph: Callable[[], Any], training_panel: Any = None,
                 parent: QWidget | None = None,
                 get_path: Callable[[], Any] | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.get_graph = get_graph
        self.get_path = get_path
        self.training_panel = training_panel
        self.service: InferenceService | None = None   # started by the first request
        self.loaded: ModelInfo | None = None      # the model loaded in the inference process
        self.source: tuple[str, str | None] = ("graph", None)
        self.source_chosen = False                # the user picked a source: do not follow runs
        self.node_id: str | None = None
        self.class_choice: int | None = None
        self.result: dict[str, Any] | None = None   # the last prediction
        self.maps: Any = None                     # the last NodeMaps
        self.map_images: dict[str, np.ndarray] = {}
        self.error = ""
        self.predict_ms: list[float] = []         # round trip of each live update (ms)
        self.mask: np.ndarray | None = None       # a segmenter's last mask (class per pixel)
        self.mask_picture: np.ndarray | None = None   # the picture it was predicted for
        self._crashed = False                     # the inference process died: reload next
        self.maps_ms: float | None = None         # round trip of the last maps
        self._load_seq = 0                        # the newest load asked for
        self._stale = True
        self.sample_index: int | None = None     # the dataset sample shown, if one is
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(15)
        self.timer.timeout.connect(self._tick)
        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.timeout.connect(self._stop_if_idle)
        if training_panel is not None and hasattr(training_panel, "run_finished"):
            training_panel.run_finished.connect(self._run_finished)

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(5)
        self.source_label = QLabel("Weights: the graph on the canvas (untrained)", self)
        self.source_label.setWordWrap(True)
        layout.addWidget(self.source_label)
        self.run_button = QPushButton("Last run", self)
        self.run_button.setToolTip("The weights of the training panel's last run")
        self.run_button.clicked.connect(self.use_last_run)
        self.keras_button = QPushButton("Open .keras\u2026", self)
        self.keras_button.clicked.connect(self._browse_keras)
        self.graph_button = QPushButton("Untrained", self)
        self.graph_button.setToolTip("The graph on the canvas with random weights")
        self.graph_button.clicked.connect(lambda: self.use_graph(chosen=True))
        self.imagenet_button = QPushButton("ImageNet", self)
        self.imagenet_button.setToolTip("The graph on the canvas with Keras' ImageNet weights "
                                        "(a keras.applications twin: VGG16, ResNet50, "
                                        "MobileNet...), with the 1,000 class names")
        self.imagenet_button.clicked.connect(self.use_imagenet)
        # Two by two: four buttons in one row would widen the dock past a 1024-pixel screen.
        grid = QGridLayout()
        grid.setSpacing(4)
        for i, button in enumerate((self.run_button, self.keras_button, self.graph_button,
                                    self.imagenet_button)):
            grid.addWidget(button, i // 2, i % 2)
        layout.addLayout(grid)

        pad_row = QHBoxLayout()
        self.pad = DrawPad(self)
        self.pad.stroke.connect(self._drawn)
        self.pad.stroke_finished.connect(self.request_maps)
        self.pad.file_dropped.connect(self.open_image)
        pad_row.addWidget(self.pad, 1)
        side = QVBoxLayout()
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(self.pad.clear)
        self.sample_button = QPushButton("Sample", self)
        self.sample_button.setToolTip("A random image of the dataset (the run's, else the "
                                      "training panel's)")
        self.sample_button.clicked.connect(lambda: self.pick_sample())
        self.image_button = QPushButton("Image\u2026", self)
        self.image_button.clicked.connect(self._browse_image)
        for button in (self.clear_button, self.sample_button, self.image_button):
            side.addWidget(button)
        side.addStretch(1)
        pad_row.addLayout(side)
        layout.addLayout(pad_row)
        self.image_label = QLabel("Draw a digit, pick a sample or drop an image", self)
        self.image_label.setWordWrap(True)
        layout.addWidget(self.image_label)
        self.bars = ProbabilityBars(self)
        layout.addWidget(self.bars)
        self.note_label = QLabel("", self)
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color:#e0b050")
        layout.addWidget(self.note_label)
        layout.addWidget(self._mask_box())

        maps_row = QHBoxLayout()
        self.node_label = QLabel("Node: select one on the canvas", self)
        self.node_label.setWordWrap(True)
        maps_row.addWidget(self.node_label, 1)
        self.class_combo = QComboBox(self)
        self.class_combo.setToolTip("The class Grad-CAM and the saliency map explain")
        self.class_combo.addItem("predicted class", None)
        self.class_combo.activated.connect(self._class_chosen)
        maps_row.addWidget(self.class_combo)
        layout.addLayout(maps_row)
        self.map_tabs = QTabWidget(self)
        self.map_labels: dict[str, ImageView] = {}
        for key, title in (("gradcam", "Grad-CAM"), ("saliency", "Saliency"),
                           ("features", "Feature maps"), ("filters", "Filters")):
            view = ImageView(self)
            self.map_labels[key] = view
            self.map_tabs.addTab(view, title)
        self.map_tabs.addTab(self._evaluation_page(), "Evaluate")
        layout.addWidget(self.map_tabs, 1)
        self.maps_note = QLabel("", self)
        self.maps_note.setWordWrap(True)
        layout.addWidget(self.maps_note)

    def _mask_box(self) -> QWidget:
        """A segmenter's answer: the predicted mask over the image, an opacity slider and a
        legend (colour, class name, share of pixels). Hidden for classifiers."""
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.mask_view = ImageView(box)
        self.mask_view.setMinimumHeight(140)
        self.mask_view.setToolTip("The predicted class of every pixel, coloured over the image")
        column.addWidget(self.mask_view)
        row = QHBoxLayout()
        row.addWidget(QLabel("Opacity", box))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, box)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(MASK_OPACITY)
        self.opacity_slider.setToolTip("How strongly the mask's colours cover the image")
        self.opacity_slider.valueChanged.connect(lambda _v: self._draw_mask())
        row.addWidget(self.opacity_slider, 1)
        column.addLayout(row)
        self.legend_label = QLabel("", box)
        self.legend_label.setWordWrap(True)
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.legend_label)
        self.mask_box = box
        box.hide()
        return box

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        accept_file_drag(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        """An image file dropped anywhere on the dock (the pad handles its own drops)."""
        path = dropped_file(event)
        if path is not None:
            self.open_image(path)

    def _evaluation_page(self) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        # A short label: the button's width is the dock's minimum width at projector sizes.
        self.eval_button = QPushButton("Evaluate: TTA, ensemble", page)
        self.eval_button.setToolTip("Single model vs 10-crop TTA vs ensemble, on the run's "
                                    "held-out images; the runs checked in the Training tab's "
                                    "run list join the ensemble")
        self.eval_button.clicked.connect(self.evaluate)
        box.addWidget(self.eval_button)
        self.eval_text = QLabel("The lecture notes: 10-crop test-time augmentation and "
                                "ensembles gain 1-2 % and are not for production. Measure "
                                "both on this run.", page)
        self.eval_text.setWordWrap(True)
        self.eval_text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.eval_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.eval_text)
        self.wrong_view = ImageView(page)
        self.wrong_view.setToolTip("The most confidently wrong held-out samples, each beside "
                                   "Grad-CAM of the last spatial node for the wrong class")
        box.addWidget(self.wrong_view, 1)
        self.evaluation: Any = None
        self.wrong_rows: list[dict[str, Any]] = []
        return page

    def ensemble_runs(self) -> list[str]:
        """The current run first, then the runs checked in the Training tab's list."""
        runs = [self.source[1]] if self.source[0] == "run" and self.source[1] else []
        runs_list = getattr(self.training_panel, "runs_list", None)
        if runs_list is not None:
            for i in range(runs_list.count()):
                item = runs_list.item(i)
                path = item.data(Qt.ItemDataRole.UserRole)
                if (item.checkState() == Qt.CheckState.Checked and path
                        and os.path.normpath(path) not in map(os.path.normpath, runs)):
                    runs.append(path)
        return runs

    def evaluate(self) -> bool:
        """Single model vs 10-crop TTA vs the ensemble, in the inference process
        (evaluate.compare)."""
        if self.source[0] != "run":
            self.eval_text.setText("Evaluation needs a run's weights and held-out images: "
                                   "train, then press Last run.")
            return False
        runs = self.ensemble_runs()
        self.eval_button.setEnabled(False)
        self.eval_text.setText(f"evaluating {len(runs)} run(s)…")
        self._ask("eval", "evaluate", {"runs": runs, "wrong": WRONG_SHOWN}, self._evaluated)
        return True

    def _evaluated(self, reply: Reply) -> None:
        self.eval_button.setEnabled(True)
        if reply.error:
            self.eval_text.setText(f"✖ {reply.error}")
            return
        self.evaluation, (picture, self.wrong_rows) = reply.result
        if picture is not None:
            self.wrong_view.set_image(picture)
        else:
            self.wrong_view.set_text("no wrong predictions on the held-out images")
        mono = "font-family:'DejaVu Sans Mono',monospace;white-space:pre"
        import html

        table = html.escape(self.evaluation.text())
        extra = ("" if len(self.evaluation.runs) > 1 else
                 "<br>Check other runs of this graph in the Training tab's run list for an "
                 "ensemble.")
        self.eval_text.setText(f"<span style=\"{mono}\">{table}</span>{extra}")

    # ------------------------------------------------------------------ sources
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # Deferred: the window's first show passes through this tab before the Inspector is
        # raised; only a dock still visible a moment later builds a model.
        QTimer.singleShot(0, self._shown)

    def on_screen(self) -> bool:
        """Shown to the user: a tabbed dock behind another stays "visible" to Qt, off screen."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def dock_visible(self, visible: bool) -> None:
        """The dock's tab became current (QDockWidget.visibilityChanged), or went behind."""
        if visible:
            self.idle_timer.stop()
            QTimer.singleShot(0, self._shown)
        elif self.service is not None and self.service.alive:
            self.idle_timer.start(IDLE_STOP_MS)

    def _stop_if_idle(self) -> None:
        """Hidden for IDLE_STOP_MS: end the inference process (TensorFlow and the model hold
        hundreds of MB, and a training run may want them); shown again, it reloads."""
        if self.on_screen() or self.service is None or not self.service.alive:
            return
        if self.busy:
            self.idle_timer.start(IDLE_STOP_MS)
            return
        self.service.close()
        self.loaded = None
        self._crashed = False
        self.source_label.setText("Weights: set aside while the dock was hidden; they load "
                                  "again when it is shown")
        self.source_label.setStyleSheet("")

    def _shown(self) -> None:
        if not self.on_screen() or self._loading:
            return
        if self.loaded is None:
            last = getattr(self.training_panel, "last_run_dir", None)
            if last and not self.source_chosen and self.source[0] == "graph":
                self.use_run(last)
            else:
                self.reload()
        elif self._stale and self.source[0] in CANVAS_SOURCES:
            self.reload()
        else:
            self.request_maps()

    def use_last_run(self) -> bool:
        last = getattr(self.training_panel, "last_run_dir", None)
        if not last:
            self.source_label.setText("Weights: no run yet; train in the Training tab first")
            return False
        self.use_run(last, chosen=True)
        return True

    def use_run(self, run_dir: str, chosen: bool = False) -> None:
        self.source_chosen = self.source_chosen or chosen
        self.source = ("run", run_dir)
        self.reload()

    def use_keras(self, path: str) -> None:
        self.source_chosen = True
        self.source = ("keras", path)
        self.reload()

    def use_graph(self, chosen: bool = False) -> None:
        self.source_chosen = chosen
        self.source = ("graph", None)
        self.reload()

    def use_imagenet(self) -> None:
        """The canvas graph with Keras' ImageNet weights, its family's preprocessing and the
        1,000 class names (a keras.applications twin; resolved in the inference process, which
        names the weights file and folder when it is not cached offline)."""
        self.source_chosen = True
        self.source = ("imagenet", None)
        self.reload()

    def graph_changed(self) -> None:
        """The canvas graph changed: a model built from it is rebuilt when next shown."""
        if self.source[0] in CANVAS_SOURCES:
            self._stale = True
            if self.on_screen():
                QTimer.singleShot(400, self._reload_if_stale)

    def _reload_if_stale(self) -> None:
        if self._stale and self.source[0] in CANVAS_SOURCES and self.on_screen():
            self.reload()

    def _run_finished(self, _status: str) -> None:
        last = getattr(self.training_panel, "last_run_dir", None)
        if last and (not self.source_chosen or self.source[0] == "run"):
            self.source = ("run", last)
            if self.on_screen() or self.loaded is not None:
                self.reload()
            else:
                self.loaded = None          # loaded when the dock is shown

    @property
    def _loading(self) -> bool:
        return self.service is not None and self.service.busy("model")

    def _source_spec(self) -> dict[str, Any]:
        kind, path = self.source
        if kind == "run":
            return run_source(path)
        if kind == "keras":
            return keras_source(path)
        if kind == "imagenet":
            return imagenet_source(self.get_graph())
        graph_path = self.get_path() if self.get_path is not None else None
        return graph_source(self.get_graph(), graph_path)

    def reload(self) -> None:
        """Load the current source's model in the inference process."""
        kind, path = self.source
        self._stale = False
        self._crashed = False
        spec = self._source_spec()
        starting = self.service is None or not self.service.alive
        first = " (starting the inference process)" if starting else ""
        self.source_label.setText(f"Weights: loading {os.path.basename(path or '') or 'graph'}"
                                  f"{first}\u2026")
        self.source_label.setStyleSheet("")
        self._load_seq += 1
        seq = self._load_seq
        self._ask("model", "load", {"spec": spec}, lambda reply: self._loaded(reply, seq))

    def _loaded(self, reply: Reply, seq: int) -> None:
        if seq != self._load_seq:
            return                      # an older source's model; the newest follows
        if reply.error:
            self.loaded = None
            self.error = reply.error
            self._crashed = reply.crashed
            self.source_label.setText(f"Weights: cannot use them: {reply.error}")
            self.source_label.setStyleSheet("color:#ff6b6b")
            return
        self.error = ""
        self.loaded = info = reply.result
        self.source_label.setStyleSheet("")
        kind, path = self.source
        what = {"run": "run", "keras": ".keras", "graph": "untrained graph",
                "imagenet": "ImageNet weights for"}[kind]
        if kind == "graph" and not info.random:
            what = "graph with its weights"
        where = os.path.basename(os.path.normpath(path)) if path else info.graph_name
        task = (f"a mask of {max(2, info.num_classes)} classes per pixel" if info.segmenter
                else f"{info.num_classes} classes")
        self.source_label.setText(f"Weights: {what} {where} (input "
                                  f"{'x'.join(map(str, info.input_shape))}, {task})")
        self.class_combo.clear()
        self.class_combo.addItem("predicted class", None)
        for i in range(info.num_classes):
            self.class_combo.addItem(f"{i}: {info.class_name(i)}", i)
        self.class_choice = None
        self.class_combo.setEnabled(not info.segmenter)   # one class score per pixel
        self.mask = self.mask_picture = None
        self.mask_box.setVisible(info.segmenter)
        self.bars.setVisible(not info.segmenter)
        self.request_predict()
        self.request_maps()

    def _browse_keras(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a Keras model", "",
                                              "Keras models (*.keras)")
        if path:
            self.use_keras(path)

    # ------------------------------------------------------------------ images
    def _browse_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", IMAGE_FILTER)
        if path:
            self.open_image(path)

    def open_image(self, path: str) -> bool:
        """Show an image file (checked by content; a refusal names the file)."""
        from playground.inspect.images import ImageFileError, read_image

        try:
            picture = read_image(path)
        except ImageFileError as exc:
            self.image_label.setText(f"\u2716 {exc}")
            self.image_label.setStyleSheet("color:#ff6b6b")
            return False
        self.pad.show_picture(picture.pixels)
        self._set_image_text(f"{os.path.basename(path)}: {picture.format} "
                             f"{picture.shape[0]}x{picture.shape[1]}")
        self.request_predict()
        self.request_maps()
        return True

    def _dataset_of_source(self) -> str:
        if self.loaded is not None and self.source[0] == "run":
            from playground.training.runs import read_config

            try:
                spec = read_config(self.source[1]).get("config", {}).get("dataset")
            except (OSError, ValueError):
                spec = None
            if isinstance(spec, str) and spec:
                return spec
        spec_fn = getattr(self.training_panel, "dataset_spec", None)
        return spec_fn() if callable(spec_fn) else "digits"

    def pick_sample(self, index: int | None = None) -> None:
        """Show a dataset sample (random without ``index``). The inference process loads the
        dataset (once per dataset) and decodes the image: a folder's files decode with
        TensorFlow's decoders, exactly as in training, and never in the editor."""
        spec = self._dataset_of_source()
        self.image_label.setText(f"loading a sample of {spec}\u2026")
        shape = list(self.loaded.input_shape) if self.loaded is not None else None
        self._ask("data", "sample", {"dataset": spec, "index": index, "input_shape": shape},
                  self._sample_ready)

    def _sample_ready(self, reply: Reply) -> None:
        if reply.error:
            self.image_label.setText(f"\u2716 {reply.error}")
            self.image_label.setStyleSheet("color:#ff6b6b")
            return
        sample = reply.result
        self.pad.show_picture(sample["pixels"])
        self.sample_index = sample["index"]
        self._set_image_text(f"{sample['name']} sample {sample['index']} "
                             f"(label {sample['label']})")
        self.request_predict()
        self.request_maps()

    def _set_image_text(self, text: str) -> None:
        self.image_label.setStyleSheet("")
        self.image_label.setText(text)

    def _drawn(self) -> None:
        if self.pad.is_drawing:
            self._set_image_text("your drawing" if self.pad.drawing.any() else
                                 "Draw a digit, pick a sample or drop an image")
        self.request_predict()

    # ------------------------------------------------------------------ model work
    def current_input(self) -> dict[str, Any]:
        """The request's picture: the pad's pixels (uint8 H x W x C), whether it is a drawing
        and the dataset's own image size (a drawing is shrunk to it in the inference process,
        ``service_child.shrink_drawing``, so the GUI thread does no image work)."""
        raw = self.loaded.raw_size if self.loaded is not None else None
        if raw is None and self.source[0] == "graph":
            spec_fn = getattr(self.training_panel, "dataset_spec", None)
            if callable(spec_fn) and spec_fn() == "digits":
                raw = (8, 8)
        return {"pixels": self.pad.pixels().copy(), "drawing": self.pad.is_drawing,
                "raw_size": raw}

    def _revive(self) -> bool:
        """After the inference process died, the next request reloads the model (which starts
        a new process); True when it did."""
        if self.service is not None:
            self.service.poll()         # news of a process that died while idle
        if self.loaded is None and self._crashed and not self._loading:
            message = self.error
            self.reload()
            self.note_label.setText(f"\u2716 {message}; reloading the weights")
            return True
        return False

    def _stale_answer(self, reply: Reply, info: ModelInfo) -> bool:
        """An answer for an older model: ignored. When it is the current model's, the process
        lost it (it was restarted): reload."""
        if info is not self.loaded:
            return True
        if reply.stale:
            self._lost("the inference process was restarted")
            self._revive()
            return True
        return False

    def request_predict(self) -> None:
        if self.service is not None:
            self.service.poll()         # news of a process that died while idle
        if self.loaded is None:
            self._revive()
            return
        if self.pad.is_drawing and not self.pad.drawing.any():
            self.bars.set_rows([])
            self.mask = self.mask_picture = None
            self._draw_mask()
            self.note_label.setText(self._notes([]))
            return
        info = self.loaded
        picture = self.current_input()
        self._ask("predict", "predict", {"model": info.model_id, "top": TOP_K, **picture},
                  lambda reply: self._predicted(reply, info, picture["pixels"]))

    def _predicted(self, reply: Reply, info: ModelInfo, shown: np.ndarray) -> None:
        if self._stale_answer(reply, info):
            return                      # the weights changed meanwhile; a new request follows
        if reply.error:
            self.note_label.setText(f"\u2716 {reply.error}")
            if reply.crashed:
                self._lost(reply.error)
            return
        result = dict(reply.result)
        result["ms"] = reply.ms
        self.result = result
        self.predict_ms.append(reply.ms)
        self.bars.set_rows(result["top"])
        if "mask" in result:
            self.mask, self.mask_picture = result["mask"], shown
            self._draw_mask()
        self.note_label.setText(self._notes(result["steps"]))
        self.predicted.emit()

    def _lost(self, message: str) -> None:
        """The inference process died: say so; the next request starts a new one."""
        if self.loaded is None and self._crashed:
            return                      # already said
        self.loaded = None
        self._crashed = True
        self.error = message
        self.source_label.setText(f"Weights: \u2716 {message}")
        self.source_label.setStyleSheet("color:#ff6b6b")

    def _draw_mask(self) -> None:
        """The segmenter's mask over the picture at the slider's opacity, and the legend."""
        if self.mask is None or self.mask_picture is None or self.loaded is None:
            self.mask_view.set_text("Draw, pick a sample or drop an image: its predicted mask "
                                    "shows here")
            self.legend_label.setText("")
            return
        import html

        from playground.data.segdata import overlay_masks

        alpha = self.opacity_slider.value() / 100.0
        picture = overlay_masks(self.mask_picture[None], self.mask[None], alpha)[0]
        self.mask_view.set_image(picture)
        k = max(2, self.loaded.num_classes)
        shares = np.bincount(np.asarray(self.mask, np.int64).ravel(), minlength=k)
        shares = shares / max(1, self.mask.size)
        items = []
        for i in range(k):
            r, g, b = self.mask_colour(i)
            # Class 0 is left uncoloured on the image: an empty square says so.
            swatch = ("<span style='color:#8a939e'>\u25a1</span>" if i == 0 else
                      f"<span style='color:#{r:02x}{g:02x}{b:02x}'>\u25a0</span>")
            name = html.escape(self.loaded.class_name(i))
            items.append(f"{swatch}&nbsp;{name} {shares[i]:.0%}")
        self.legend_label.setText("&nbsp;&nbsp; ".join(items))
        self.legend_label.setToolTip("Class 0 is left uncoloured; the share is of the "
                                     "predicted pixels")

    def mask_colour(self, index: int) -> tuple[int, int, int]:
        """The overlay colour of class ``index`` (class 0 stays uncoloured: black here)."""
        from playground.data.segdata import OVERLAY_COLOURS

        if index <= 0:
            return (0, 0, 0)
        return tuple(int(v) for v in OVERLAY_COLOURS[(index - 1) % (len(OVERLAY_COLOURS) - 1)
                                                     + 1])  # type: ignore[return-value]

    def _notes(self, steps: list[str]) -> str:
        lines = []
        if self.loaded is not None and self.loaded.random:
            lines.append("Note: the weights are random (untrained graph); train it for a "
                         "meaningful prediction.")
        if steps:
            lines.append("Adapted like the training data: " + ", ".join(steps))
        return "\n".join(lines)

    def set_node(self, node_id: str | None) -> None:
        """The canvas selection (one node, or None)."""
        self.node_id = node_id
        self.node_label.setText(f"Node: {node_id}" if node_id else
                                "Node: select one on the canvas")
        self.request_maps()

    def _class_chosen(self, _index: int) -> None:
        self.class_choice = self.class_combo.currentData()
        self.request_maps()

    def request_maps(self) -> None:
        if not self.on_screen():
            return
        if self.loaded is None:
            self._revive()
            return
        if self.node_id is None:
            self._clear_maps("Select a node on the canvas to see its feature maps, filters and "
                             "Grad-CAM for this image.")
            return
        if self.pad.is_drawing and not self.pad.drawing.any():
            self._clear_maps("Draw something first.")
            return
        if self.node_id not in self.loaded.nodes:
            self._clear_maps(f"node {self.node_id} is not in the model "
                             f"({'reload the untrained graph' if self.source[0] == 'graph' else 'the weights come from another graph'})")
            return
        info = self.loaded
        self._ask("maps", "maps", {"model": info.model_id, "node": self.node_id,
                                   "class_index": self.class_choice, **self.current_input()},
                  lambda reply: self._maps_done(reply, info))

    def _maps_done(self, reply: Reply, info: ModelInfo) -> None:
        if self._stale_answer(reply, info):
            return
        if reply.error:
            self._clear_maps(f"\u2716 {reply.error}")
            if reply.crashed:
                self._lost(reply.error)
            return
        maps, images, why = reply.result
        self.maps_ms = reply.ms
        self.maps, self.map_images = maps, images
        cls = maps.class_index
        name = info.class_name(cls)
        for key, label in self.map_labels.items():
            if key in images:
                label.set_image(images[key])
            else:
                label.set_text(maps.reason if key in ("gradcam", "features", "saliency")
                               else why)
        if info.segmenter:
            lines = [f"Feature maps of {maps.node}; {maps.score_note}"]
        else:
            lines = [f"Grad-CAM and saliency for class {name} (p = {maps.probs[cls]:.1%}); "
                     f"{maps.score_note}"]
        if maps.reason:
            lines.append(maps.reason)
        self.maps_note.setText("\n".join(lines))
        self.maps_ready.emit()

    def _clear_maps(self, text: str) -> None:
        self.maps, self.map_images = None, {}
        for label in self.map_labels.values():
            label.set_text("")
        self.maps_note.setText(text)

    # ------------------------------------------------------------------ jobs
    def _ask(self, lane: str, op: str, args: dict[str, Any],
             on_done: Callable[[Reply], None]) -> None:
        """A request to the inference process (started now if it is not running)."""
        if self.service is None:
            self.service = new_service(lambda reply: self._lost(reply.error))
        self.service.submit(lane, op, args, on_done)
        if not self.timer.isActive():
            self.timer.start()

    def _tick(self) -> None:
        if self.service is not None:
            self.service.poll()
        if not self.busy:
            self.timer.stop()

    @property
    def busy(self) -> bool:
        return self.service is not None and self.service.busy()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Collect every open answer (tests, closing); True when all arrived in time."""
        end = time.monotonic() + timeout
        while self.busy:
            if time.monotonic() > end:
                return False
            self._tick()
            time.sleep(0.005)
        return True

    def shutdown(self) -> None:
        """The window closes: end the inference process."""
        self.timer.stop()
        self.idle_timer.stop()
        if self.service is not None:
            self.service.close()
