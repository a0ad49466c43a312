"""Live training plots (pyqtgraph): loss, accuracy and learning rate.

Per the pyqtgraph scrolling-plots pattern, progress events only append to preallocated numpy
buffers; :meth:`TrainingPlots.redraw` (called by the panel's timer, 10-30 Hz) hands the filled
slices to ``setData`` once per tick, never once per batch. Earlier runs can be overlaid (dashed)
for comparison.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from playground.ui import themes


class Series:
    """A growable pair of float arrays (x, y); capacity doubles, nothing is reallocated per point."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.concatenate([self.x, np.empty_like(self.x)])
            self.y = np.concatenate([self.y, np.empty_like(self.y)])
        self.x[self.n] = x
        self.y[self.n] = y
        self.n += 1

    def clear(self) -> None:
        self.n = 0

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


class Smoother:
    """Exponential moving average with bias correction (as TensorBoard smooths)."""

    def __init__(self, weight: float = 0.9) -> None:
        self.weight = weight
        self.reset()

    def reset(self) -> None:
        self.value = 0.0
        self.count = 0

    def __call__(self, y: float) -> float:
        self.count += 1
        self.value = self.weight * self.value + (1 - self.weight) * y
        return self.value / (1 - self.weight ** self.count)


COLOURS = {"train": (31, 119, 180), "val": (255, 127, 14), "batch": (160, 190, 220),
           "lr": (44, 160, 44)}


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


COMPARE = [(148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127)]


class TrainingPlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # A static legend: pyqtgraph's LegendItem re-renders its labels on every setData.
        # Coloured squares, text in the theme's text colour (coloured text would miss AA).
        self._legend_text = (
            f"<span style='color:{_hex(COLOURS['batch'])}'>&#9632;</span> batches (smoothed) "
            f"&nbsp; <span style='color:{_hex(COLOURS['train'])}'>&#9632;</span> train (epoch)"
            f" &nbsp; <span style='color:{_hex(COLOURS['val'])}'>&#9632;</span> validation "
            f"&nbsp; <span style='color:{_hex(COLOURS['lr'])}'>&#9632;</span> learning rate")
        legend = QLabel(self._legend_text)
        legend.setWordWrap(True)   # a narrow window wraps it instead of widening the panel
        self.legend = legend
        layout.addWidget(legend)
        # One GraphicsLayoutWidget (one view to repaint) holding the three plots.
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(themes.current().plot_bg)
        layout.addWidget(self.canvas, 1)
        self.loss_plot = self._plot("loss", 0)
        self.acc_plot = self._plot("accuracy", 1)
        self.lr_plot = self._plot("learning rate", 2)
        # Fixed ranges where possible: an axis whose range does not move is not repainted, which
        # keeps each redraw to the curves themselves (the event loop must stay responsive).
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.y_top = {"loss": 0.0, "lr": 0.0}
        self.set_epochs(10)
        pen = pg.mkPen
        self.curves = {
            "batch_loss": self.loss_plot.plot(pen=pen(COLOURS["batch"], width=1),
                                              name="batch (smoothed)"),
            "loss": self.loss_plot.plot(pen=pen(COLOURS["train"], width=2), name="train"),
            "val_loss": self.loss_plot.plot(pen=pen(COLOURS["val"], width=2),
                                            name="validation"),
            "batch_accuracy": self.acc_plot.plot(pen=pen(COLOURS["batch"], width=1),
                                                 name="batch (smoothed)"),
            "accuracy": self.acc_plot.plot(pen=pen(COLOURS["train"], width=2), name="train"),
            "val_accuracy": self.acc_plot.plot(pen=pen(COLOURS["val"], width=2),
                                               name="validation"),
            "lr": self.lr_plot.plot(pen=pen(COLOURS["lr"], width=2), name="lr"),
            # Segmentation runs: mean IoU (dashed) beside the pixel accuracy.
            "mean_iou": self.acc_plot.plot(pen=pen(COLOURS["train"], width=2,
                                                   style=Qt.PenStyle.DashLine),
                                           name="train mean IoU"),
            "val_mean_iou": self.acc_plot.plot(pen=pen(COLOURS["val"], width=2,
                                                       style=Qt.PenStyle.DashLine),
                                               name="validation mean IoU"),
            "val_mean_dice": self.acc_plot.plot(pen=pen(COLOURS["val"], width=2,
                                                        style=Qt.PenStyle.DotLine),
                                                name="validation mean Dice"),
        }
        # A long run plots tens of thousands of batches: the batch curves are drawn at a few
        # points per pixel (min and max of each bin), so a tick late in a long run costs what an
        # early one does (30,000 batches: 7 ms a tick before, 3 ms after; bench_gui_stall.py).
        for name in ("batch_loss", "batch_accuracy"):
            self.curves[name].setDownsampling(auto=True, method="peak")
        self.apply_theme(themes.current())
        self.series = {name: Series() for name in self.curves}
        self.smooth_loss = Smoother()
        self.smooth_acc = Smoother()
        self._lr_end: tuple[float, float] | None = None   # last point of a flat lr stretch
        self.compared: list = []
        # Curves whose buffers changed since the last redraw: only those get setData, so a plot
        # whose data did not move (epoch curves between epochs, a constant learning rate) is
        # not repainted at all.
        self.changed: set[str] = set()
        self.redraws = 0

    def apply_theme(self, theme: themes.Theme) -> None:
        """Background, axes and titles in the app theme's colours (called on a switch)."""
        self.canvas.setBackground(theme.plot_bg)
        for plot in (self.loss_plot, self.acc_plot, self.lr_plot):
            themes.style_plot(plot, theme)

    def _plot(self, title: str, column: int) -> pg.PlotItem:
        plot = self.canvas.addPlot(row=0, col=column, title=title)
        # No grid: grid lines belong to the axis items, so every curve update would repaint them.
        plot.setLabel("bottom", "epoch")
        plot.setClipToView(True)
        plot.enableAutoRange(y=False)
        return plot

    def set_epochs(self, epochs: int) -> None:
        """Fix the x axes to the run's length (no axis repaint as batches arrive)."""
        for plot in (self.loss_plot, self.acc_plot, self.lr_plot):
            plot.enableAutoRange(x=False)
            plot.setXRange(0, max(1, epochs), padding=0.01)

    # ------------------------------------------------------------------ data in
    def clear(self) -> None:
        for s in self.series.values():
            s.clear()
        self.y_top = {"loss": 0.0, "lr": 0.0}
        self.smooth_loss.reset()
        self.smooth_acc.reset()
        self._lr_end = None
        self.changed = set(self.curves)

    def add_batch(self, x: float, loss: float | None, accuracy: float | None,
                  lr: float | None = None) -> None:
        """``x`` in epochs (e.g. 2.5 = half-way through the third epoch)."""
        if loss is not None and math.isfinite(loss):
            self.series["batch_loss"].append(x, self.smooth_loss(loss))
            self.changed.add("batch_loss")
        if accuracy is not None and math.isfinite(accuracy):
            self.series["batch_accuracy"].append(x, self.smooth_acc(accuracy))
            self.changed.add("batch_accuracy")
        if lr is not None and math.isfinite(lr):
            self._add_lr(x, lr)

    def _add_lr(self, x: float, lr: float) -> None:
        """The learning rate as a step line: a point where it changes (and where it ends), so
        a schedule that moves once an epoch redraws its plot once an epoch, not every frame."""
        series = self.series["lr"]
        if series.n and series.y[series.n - 1] == lr:
            self._lr_end = (x, lr)
            return
        if series.n and self._lr_end is not None:
            series.append(self._lr_end[0], self._lr_end[1])
        series.append(x, lr)
        self._lr_end = None
        self.changed.add("lr")

    def add_epoch(self, row: dict) -> None:
        epoch = float(row["epoch"])
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "mean_iou", "val_mean_iou",
                    "val_mean_dice"):
            value = row.get(key)
            if value is not None and math.isfinite(value):
                self.series[key].append(epoch, value)
                self.changed.add(key)
        self._add_class_ious(epoch, row)
        if self._lr_end is not None:      # extend the learning-rate step to the epoch's end
            self.series["lr"].append(*self._lr_end)
            self._lr_end = None
            self.changed.add("lr")

    def _add_class_ious(self, epoch: float, row: dict) -> None:
        """A segmentation run: validation IoU per class (``val_iou_<c>``) as thin lines in the
        class's overlay colour, made when a run first reports them."""
        for key, value in row.items():
            if not key.startswith("val_iou_") or value is None or not math.isfinite(value):
                continue
            if key not in self.curves:
                from playground.data.segdata import OVERLAY_COLOURS

                c = int(key.rsplit("_", 1)[1])
                colour = tuple(int(v) for v in OVERLAY_COLOURS[c % len(OVERLAY_COLOURS)]) \
                    if c % len(OVERLAY_COLOURS) else (128, 128, 128)
                self.curves[key] = self.acc_plot.plot(pen=pg.mkPen(colour, width=1),
                                                      name=f"validation IoU of class {c}")
                self.series[key] = Series(64)
            self.series[key].append(epoch, value)
            self.changed.add(key)

    def load_history(self, rows: list[dict]) -> None:
        """Show a finished run's epochs (e.g. when resuming it)."""
        for row in rows:
            self.add_epoch(row)

    def compare(self, label: str, rows: list[dict]) -> None:
        """Overlay another run's validation (dashed) and training (dotted) curves."""
        colour = COMPARE[len(self.compared) // 4 % len(COMPARE)]
        epochs = np.array([r.get("epoch", i + 1) for i, r in enumerate(rows)], dtype=float)
        for plot, key, style in ((self.loss_plot, "val_loss", Qt.PenStyle.DashLine),
                                 (self.loss_plot, "loss", Qt.PenStyle.DotLine),
                                 (self.acc_plot, "val_accuracy", Qt.PenStyle.DashLine),
                                 (self.acc_plot, "accuracy", Qt.PenStyle.DotLine)):
            values = np.array([r.get(key, np.nan) for r in rows], dtype=float)
            item = plot.plot(epochs, values, pen=pg.mkPen(colour, width=2, style=style),
                             name=f"{label} {key}")
            if key.endswith("loss") and np.isfinite(values).any():
                self.y_top["loss"] = max(self.y_top["loss"], float(np.nanmax(values)) * 1.25)
                plot.setYRange(0, self.y_top["loss"], padding=0)
            self.compared.append((plot, item))
        self._update_legend()

    def clear_comparisons(self) -> None:
        for plot, item in self.compared:
            plot.removeItem(item)
        self.compared = []
        self._update_legend()

    def _update_legend(self) -> None:
        """The compared runs' line styles are explained only while runs are compared."""
        self.legend.setText(self._legend_text + (
            " &nbsp; compared runs: dashed = validation, dotted = training"
            if self.compared else ""))

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> bool:
        """Push the changed buffers to their curves; True if it drew."""
        if not self.changed:
            return False
        for name in self.changed:
            x, y = self.series[name].data()
            self.curves[name].setData(x, y)
        if self.changed & {"batch_loss", "loss", "val_loss"}:
            self._fit_y(self.loss_plot, "loss", ("batch_loss", "loss", "val_loss"))
        if "lr" in self.changed:
            self._fit_y(self.lr_plot, "lr", ("lr",))
        self.changed = set()
        self.redraws += 1
        return True

    def _fit_y(self, plot: pg.PlotItem, key: str, names: tuple[str, ...]) -> None:
        """Grow the y range (never shrink it during a run): a still range means no axis repaint."""
        top = max((float(np.nanmax(self.series[n].data()[1])) for n in names
                   if self.series[n].n), default=0.0)
        if math.isfinite(top) and top > self.y_top[key]:
            self.y_top[key] = top * 1.25
            plot.setYRange(0, self.y_top[key], padding=0)

    def points(self, name: str) -> int:
        return self.series[name].n

    def save_png(self, path: str) -> None:
        """The three plots side by side, as shown, to a PNG (temp file, then moved into place)."""
        import os

        from playground.core.errors import PlaygroundError

        tmp = f"{path}.tmp-{os.getpid()}.png"
        if not self.grab().save(tmp, "PNG"):
            raise PlaygroundError(f"{path}: cannot write the plot image")
        os.replace(tmp, path)
