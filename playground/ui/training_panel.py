"""The training panel (bottom dock): run settings, start/stop/resume, live plots, log, evaluation,
runs to compare, exports.

The panel is a view of a :class:`playground.training.session.TrainingSession`: the run trains in
a child process (TensorFlow is imported there, not here, for training), so Stop is prompt in every
phase and a crash inside TensorFlow leaves the editor standing. Its typed events queue up and a
QTimer drains them at 10 Hz on the UI thread, so the plots redraw at most once per tick from
preallocated buffers. A finished run is a :class:`playground.training.outcome.RunOutcome`: its
model is rebuilt from the run folder only for an export (in a background job).

Contract with the editor: ``TrainingPanel(get_graph, parent, push)`` (``push`` is the editor's
``Document.push``: graph edits go through its undo stack); ``is_running()``,
``stop_and_wait(timeout_ms)``; signals ``telemetry(dict)`` (node id -> ``{"grad_norm",
"weight_change", "dead_relu"}`` after each epoch) and ``device_changed(str)``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from playground.core.errors import PlaygroundError
from playground.core.graph import Graph
from playground.data import sources as dataset_sources
from playground.data.augment import AUGMENTATIONS
from playground.training import events as ev
from playground.training.config import OPTIMIZERS, SCHEDULES, RunConfig, config_for_graph
from playground.training.session import TrainingSession
from playground.training.worker import BackgroundJob
from playground.ui.evaluation_view import EvaluationView, image_to_pixmap
from playground.ui.gc_guard import ensure_gui_thread_gc
from playground.ui.plots import TrainingPlots

PICKS = ("folder", "file")  # the list's entries that ask for a path (DatasetSource.pick)


def _dataset_entries() -> list[tuple[str, str]]:
    """(label, key) of the dataset list, from the one source registry: each built-in set by
    name, then one entry per way of choosing a path (a folder; a file of any file source)."""
    entries = [(s.label, s.name) for s in dataset_sources.named_sources()]
    for pick in PICKS:
        found = dataset_sources.path_sources(pick)
        if pick == "folder" and found:
            entries.append((" or ".join(s.label for s in found) + "...", pick))
        elif found:
            patterns = dict.fromkeys(s.pattern.lstrip("*") for s in found)
            entries.append((" or ".join(patterns) + " file...", pick))
    return entries


BUILTIN_DATASETS = _dataset_entries()
TICK_MS = 100  # 10 Hz: progress, log and plots (the spec's 10-30 Hz; each tick costs ~5 ms)
BATCH_INTERVAL = 0.02  # at most 50 batch events a second from the worker
LOG_LINES = 5000      # the log keeps this many lines (older ones scroll away)
LOG_LINES_PER_TICK = 200  # a burst (a scan naming thousands of files) is shown over ticks


def _outcome(status: str, message: str, history: list[dict[str, Any]], ok: bool) -> str:
    """The status line at the end of a run: what happened and, for a run that trained, what it
    reached (the best validation accuracy is the figure users compare runs by)."""
    text = message if message.startswith(status) else f"{status}: {message}"
    scored = [r for r in history if isinstance(r.get("val_accuracy"), float)]
    if ok and scored:
        best = max(scored, key=lambda r: r["val_accuracy"])
        text += (f" after {len(history)} epoch{'s' * (len(history) != 1)}; val_accuracy "
                 f"{scored[-1]['val_accuracy']:.4f} (best {best['val_accuracy']:.4f} at epoch "
                 f"{int(best['epoch'])})")
    return text


def _fmt_time(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60:02d}:{seconds % 60:02d}"



def _path_row(placeholder: str, browse: Callable[[], None]) -> tuple[QLineEdit, QHBoxLayout]:
    """A path field with its "..." browse button, as one form row."""
    field = QLineEdit()
    field.setPlaceholderText(placeholder)
    button = QPushButton("...")
    button.setStyleSheet("padding: 2px 6px;")   # the theme's 12 px padding would hide the dots
    button.setMaximumWidth(34)
    button.clicked.connect(browse)
    row = QHBoxLayout()
    row.addWidget(field, 1)
    row.addWidget(button)
    return field, row

class TrainingPanel(QWidget):
    telemetry = Signal(object)   # a dict; object: Signal(dict) deep-copied it through QVariant
    device_changed = Signal(str)
    run_finished = Signal(str)   # the final status: finished, stopped, nan, oom, error...

    def __init__(self, get_graph: Callable[[], Graph], parent: QWidget | None = None,
                 push: Callable[[Any], str | None] | None = None) -> None:
        super().__init__(parent)
        ensure_gui_thread_gc()
        self.get_graph = get_graph
        # The editor's undo stack (Document.push): every edit the panel makes to the graph goes
        # through it, so it can be undone and marks the document modified. A bare panel (tests,
        # scripts) applies commands to the graph directly.
        self.push_command = push
        # The graph file's path (set by the window): a graph's recorded weights sit beside it.
        self.get_path: Callable[[], Any] = lambda: None
        # The run in progress or last run: a TrainingSession (training in a child process).
        self.worker: TrainingSession | None = None
        self.jobs: list[tuple[BackgroundJob, Callable[[BackgroundJob], None]]] = []
        self.last_result: Any = None
        self.last_run_dir: str | None = None
        self.status_text = "ready"
        self.max_tick_gap = 0.0       # longest gap between timer ticks while a run was live (s)
        self._last_tick: float | None = None
        self._pending_log: list[str] = []
        self._latest_batch: dict[str, Any] | None = None
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.load_defaults()
        self.refresh_graph_options()

    # ================================================================== layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.start_button = QPushButton("Train")
        self.start_button.setToolTip("Train the graph on the chosen dataset (a new run)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop at the end of the current batch; the weights are kept")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the last run from its checkpoint (weights, "
                                      "optimizer state, epoch)")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)  # whole percents: fewer repaints than permille
        self.progress.setValue(0)
        self.status = QLabel("ready")
        # Ignored width: a status text that changes length every tick must not re-lay-out the
        # panel (that would resize and fully repaint the plots, axes included).
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setMinimumWidth(120)
        self.device_label = QLabel("")
        for w in (self.start_button, self.stop_button, self.resume_button):
            bar.addWidget(w)
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.status, 2)
        bar.addWidget(self.device_label)
        outer.addLayout(bar)
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(lambda: self.start(resume=True))

        split = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(split, 1)
        split.addWidget(self._settings_widget())
        self.tabs = QTabWidget()
        self.plots = TrainingPlots()
        self.tabs.addTab(self.plots, "Plots")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.tabs.addTab(self.log, "Log")
        self.evaluation = EvaluationView()
        self.tabs.addTab(self.evaluation, "Evaluation")
        self.tabs.addTab(self._preview_widget(), "Data preview")
        self.tabs.addTab(self._runs_widget(), "Runs")
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 1)
        # The settings column as wide as its fields need (no clipped browse buttons), then the
        # plots take the rest.
        need = self._settings_box.minimumSizeHint().width() + 24
        split.setSizes([max(260, min(400, need)), 900])
        self._update_buttons()

    def _settings_widget(self) -> QWidget:
        box = self._settings_box = QWidget()
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.dataset_combo = QComboBox()
        # Long source names ("Segmentation folder (images/ + masks/) or Image folder...") must
        # not widen the settings column past the panel (the browse buttons would be cut off);
        # the popup still shows them whole.
        self.dataset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.dataset_combo.setMinimumContentsLength(18)
        for label, key in BUILTIN_DATASETS:
            self.dataset_combo.addItem(label, key)
        self.dataset_path, row = _path_row("folder of class subfolders, .csv index or .npz",
                                           self._browse_dataset)
        self.dataset_combo.currentIndexChanged.connect(self._dataset_kind_changed)
        form.addRow("Dataset", self.dataset_combo)
        form.addRow("", row)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100_000)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 1 << 16)
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 10.0)
        self.lr.setSingleStep(1e-4)
        self.schedule = QComboBox()
        self.schedule.addItems(list(SCHEDULES))
        self.weight_decay = QDoubleSpinBox()
        self.weight_decay.setDecimals(6)
        self.weight_decay.setRange(0.0, 1.0)
        self.early_stopping = QSpinBox()
        self.early_stopping.setRange(0, 1000)
        self.early_stopping.setSpecialValueText("off")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.val_split = QDoubleSpinBox()
        self.val_split.setRange(0.0, 0.9)
        self.val_split.setSingleStep(0.05)
        self.test_split = QDoubleSpinBox()
        self.test_split.setRange(0.0, 0.9)
        self.test_split.setSingleStep(0.05)
        for label, widget in (("Epochs", self.epochs), ("Batch size", self.batch_size),
                              ("Optimizer", self.optimizer), ("Learning rate", self.lr),
                              ("Schedule", self.schedule), ("Weight decay", self.weight_decay),
                              ("Early stopping", self.early_stopping), ("Seed", self.seed),
                              ("Validation split", self.val_split),
                              ("Test split", self.test_split)):
            form.addRow(label, widget)
        self.class_weights = QCheckBox("class weights (unbalanced classes)")
        self.class_weights.setToolTip("weight the loss by inverse class frequency of the "
                                      "training split")
        self.skip_bad_images = QCheckBox("skip unreadable images")
        self.skip_bad_images.setToolTip("folders/CSV: skip (and name in the log) images that "
                                        "cannot be decoded, instead of stopping the run")
        form.addRow("Data", self.class_weights)
        form.addRow("", self.skip_bad_images)
        aug = QGridLayout()
        self.augment_boxes: dict[str, QCheckBox] = {}
        for i, (name, help_text) in enumerate(AUGMENTATIONS.items()):
            check = QCheckBox(name)
            check.setToolTip(help_text)
            self.augment_boxes[name] = check
            aug.addWidget(check, i // 2, i % 2)
        form.addRow("Augment", aug)
        self.mixed_precision = QCheckBox("mixed precision (float16)")
        self.xla = QCheckBox("XLA")
        self.steps_per_call = QSpinBox()
        self.steps_per_call.setRange(0, 1024)
        self.steps_per_call.setSpecialValueText("auto")
        self.steps_per_call.setToolTip(
            "training steps per compiled call (Keras' steps_per_execution): several steps "
            "per call spare small models a return to Python after every batch; auto chooses "
            "from the model's size and says so in the log")
        compiled = QHBoxLayout()
        compiled.addWidget(self.xla)
        compiled.addStretch(1)
        compiled.addWidget(QLabel("steps per call"))
        compiled.addWidget(self.steps_per_call)
        form.addRow("GPU", self.mixed_precision)
        form.addRow("Compile", compiled)
        self.init_weights, wrow = _path_row("none (.keras, .weights.h5, .h5 or a run folder)",
                                            self._browse_weights)
        form.addRow("Initial weights", wrow)
        self.imagenet_weights = QCheckBox("ImageNet (Keras applications)")
        self.imagenet_weights.toggled.connect(self._imagenet_toggled)
        form.addRow("", self.imagenet_weights)
        self.freeze_button = QPushButton("Freeze feature extractor")
        self.freeze_button.setToolTip("Freeze every node except the classifier head (undoable)")
        self.freeze_button.clicked.connect(self.freeze_feature_extractor)
        self.finetune_button = QPushButton("Fine-tuning preset (lr / 10)")
        self.finetune_button.clicked.connect(self.fine_tuning_preset)
        self.defaults_button = QPushButton("Defaults from the graph")
        self.defaults_button.clicked.connect(self.load_defaults)
        form.addRow(self.freeze_button)
        form.addRow(self.finetune_button)
        form.addRow(self.defaults_button)
        # One button per format of the export registry (playground.exporters).
        from playground.exporters import all_formats

        self.export_buttons: dict[str, QPushButton] = {}
        for fmt in all_formats():
            button = QPushButton(f"Export {fmt.label}")
            button.setToolTip(f"{fmt.help} (the weights of the last run)" if fmt.uses_weights
                              else fmt.help)
            button.clicked.connect(lambda _=False, name=fmt.name: self._export(name))
            self.export_buttons[fmt.name] = button
            form.addRow(button)
        self.export_keras_button = self.export_buttons["keras"]
        self.export_saved_button = self.export_buttons["savedmodel"]
        self.export_python_button = self.export_buttons["python"]
        self.export_png_button = QPushButton("Save plots PNG...")
        self.export_png_button.clicked.connect(self._save_png)
        form.addRow(self.export_png_button)
        scroll = QScrollArea()
        scroll.setWidget(box)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(260)
        # Fields shrink to the column instead of a sideways scroll bar at 1024 px.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._dataset_kind_changed()
        return scroll

    def _preview_widget(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.preview_button = QPushButton("Preview samples (with the chosen augmentation)")
        self.preview_button.clicked.connect(self.preview)
        row.addWidget(self.preview_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.preview_grid_box = QWidget()
        self.preview_grid = QGridLayout(self.preview_grid_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.preview_grid_box)
        layout.addWidget(scroll, 1)
        self.preview_cells: list[QLabel] = []
        return box

    def _runs_widget(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        self.runs_list = QListWidget()
        layout.addWidget(QLabel("Check runs to overlay them on the plots "
                                "(dashed: validation, dotted: training)."))
        layout.addWidget(self.runs_list, 1)
        row = QHBoxLayout()
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_runs)
        compare = QPushButton("Compare checked")
        compare.clicked.connect(self.compare_checked)
        clear = QPushButton("Clear comparison")
        clear.clicked.connect(self.plots.clear_comparisons)
        use = QPushButton("Use as initial weights")
        use.clicked.connect(self._use_run_weights)
        for b in (refresh, compare, clear, use):
            row.addWidget(b)
        layout.addLayout(row)
        return box

    # ================================================================== settings
    def _dataset_kind_changed(self) -> None:
        kind = self.dataset_combo.currentData()
        self.dataset_path.setEnabled(kind in PICKS)

    def _browse_dataset(self) -> None:
        if self.dataset_combo.currentData() == "file":
            files = dataset_sources.path_sources("file")
            path, _ = QFileDialog.getOpenFileName(
                self, f"Dataset ({' or '.join(s.label for s in files)})", "",
                f"Datasets ({' '.join(s.pattern for s in files)})")
        else:
            path = QFileDialog.getExistingDirectory(self, "Image folder (one subfolder per "
                                                          "class)")
        if path:
            self.dataset_path.setText(path)

    def keras_application(self) -> str | None:
        """The keras.applications twin the graph names (presets carry ``keras_application``)."""
        name = self.get_graph().extra.get("keras_application")
        return name if isinstance(name, str) and name else None

    def recorded_weights(self) -> str | None:
        """The weights file the graph records (``import --with-weights``), if usable."""
        from playground.core.graph_weights import recorded_weights

        path, _problem = recorded_weights(self.get_graph(), self.get_path())
        return str(path) if path is not None else None

    def refresh_graph_options(self) -> None:
        """Offer ImageNet weights only for a graph with a keras.applications twin (cheap: one
        dict lookup; called when the graph is re-checked and when the panel is shown)."""
        recorded = self.recorded_weights()
        self.init_weights.setPlaceholderText(
            f"the graph's weights: {os.path.basename(recorded)}" if recorded
            else "none (.keras, .weights.h5, .h5 or a run folder)")
        twin = self.keras_application()
        self.imagenet_weights.setEnabled(twin is not None)
        if twin is None:
            self.imagenet_weights.setChecked(False)
            from playground.core.twins import TWINS

            names = ", ".join(t.name for t in TWINS.values())
            self.imagenet_weights.setToolTip(
                f"only for graphs that are twins of a keras.applications model ({names})")
        else:
            self.imagenet_weights.setToolTip(
                f"start from Keras' published ImageNet weights of {twin} (loaded from the Keras "
                "cache, downloaded once); a retargeted head keeps its fresh weights")

    def _imagenet_toggled(self, checked: bool) -> None:
        self.init_weights.setEnabled(not checked)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.refresh_graph_options()
        super().showEvent(event)

    def initial_weights(self) -> str | None:
        """What the run starts from: ``"imagenet"``, a file/run folder, or None."""
        if self.imagenet_weights.isChecked() and self.imagenet_weights.isEnabled():
            return "imagenet"
        return self.init_weights.text().strip() or self.recorded_weights()

    def _browse_weights(self) -> None:
        from playground.ui import file_dialogs

        path, _ = QFileDialog.getOpenFileName(self, "Initial weights", file_dialogs.start_dir(),
                                              "Keras (*.keras *.h5)")
        if path:
            file_dialogs.remember(path)
            self.init_weights.setText(path)

    def dataset_spec(self) -> str:
        kind = self.dataset_combo.currentData()
        if kind in PICKS:
            path = self.dataset_path.text().strip()
            if not path:
                what = self.dataset_combo.currentText().rstrip(".").lower()
                raise PlaygroundError(f"choose the dataset's {what}")
            return path
        return kind

    def set_dataset(self, spec: str) -> None:
        for i, (_, key) in enumerate(BUILTIN_DATASETS):
            if key == spec:
                self.dataset_combo.setCurrentIndex(i)
                return
        source = dataset_sources.find_source(spec)  # a missing folder: still a folder
        pick = source.pick if source is not None and source.pick else "folder"
        self.dataset_combo.setCurrentIndex(max(0, self.dataset_combo.findData(pick)))
        self.dataset_path.setText(spec)

    def config(self) -> RunConfig:
        """The run settings shown, validated (raises ConfigError naming the setting)."""
        return RunConfig.from_dict({
            "dataset": self.dataset_spec(), "epochs": self.epochs.value(),
            "batch_size": self.batch_size.value(), "optimizer": self.optimizer.currentText(),
            "lr": self.lr.value(), "schedule": self.schedule.currentText(),
            "weight_decay": self.weight_decay.value(),
            "early_stopping": self.early_stopping.value(), "seed": self.seed.value(),
            "val_split": self.val_split.value(), "test_split": self.test_split.value(),
            "augment": [n for n, c in self.augment_boxes.items() if c.isChecked()],
            "mixed_precision": self.mixed_precision.isChecked(), "xla": self.xla.isChecked(),
            "steps_per_execution": self.steps_per_call.value(),
            "class_weights": self.class_weights.isChecked(),
            "bad_images": "skip" if self.skip_bad_images.isChecked() else "stop",
        }, base=self._base)

    def set_config(self, config: RunConfig) -> None:
        self._base = config
        self.set_dataset(config.dataset)
        self.epochs.setValue(config.epochs)
        self.batch_size.setValue(config.batch_size)
        self.optimizer.setCurrentText(config.optimizer)
        self.lr.setValue(config.lr)
        self.schedule.setCurrentText(config.schedule)
        self.weight_decay.setValue(config.weight_decay)
        self.early_stopping.setValue(config.early_stopping)
        self.seed.setValue(config.seed)
        self.val_split.setValue(config.val_split)
        self.test_split.setValue(config.test_split)
        for name, check in self.augment_boxes.items():
            check.setChecked(name in config.augment)
        self.mixed_precision.setChecked(config.mixed_precision)
        self.xla.setChecked(config.xla)
        self.steps_per_call.setValue(config.steps_per_execution)
        self.class_weights.setChecked(config.class_weights)
        self.skip_bad_images.setChecked(config.bad_images == "skip")

    def load_defaults(self) -> None:
        """Settings from the graph's ``"training"`` object (presets), else the app defaults."""
        try:
            config = config_for_graph(self.get_graph())
        except PlaygroundError as exc:
            self._log(f"training defaults: {exc}")
            config = RunConfig()
        self.set_config(config)

    def adopt_graph_defaults(self) -> None:
        """Another graph was loaded: show its training defaults (a preset's recipe), keeping the
        dataset the user chose. A live run keeps its settings; the defaults wait for the next
        "Defaults" click then.
        """
        if self.is_running():
            return
        index, path = self.dataset_combo.currentIndex(), self.dataset_path.text()
        self.load_defaults()
        self.dataset_combo.setCurrentIndex(index)
        self.dataset_path.setText(path)
        self.forget_run()

    def forget_run(self) -> None:
        """Another graph is shown: the last run's status, plots, evaluation and model belong
        to the old one (its folder stays in the Runs tab, to compare or to load weights from)."""
        if self.is_running():
            return
        self.last_result = None
        self.last_run_dir = None
        self._latest_batch = None
        self.plots.clear()
        self.plots.redraw()
        self.evaluation.clear()
        self.progress.setValue(0)
        self.device_label.setText("")
        self._set_status("ready")
        self._update_buttons()

    def fine_tuning_preset(self) -> None:
        self.lr.setValue(self.lr.value() / 10.0)
        self._log(f"fine-tuning preset: learning rate {self.lr.value():g}")

    def freeze_feature_extractor(self) -> list[str]:
        """Freeze all but the head, through the editor's undo stack when there is one."""
        from playground.core.commands import SetTrainable
        from playground.training.transfer import feature_extractor_ids

        graph = self.get_graph()
        ids = feature_extractor_ids(graph)
        if not ids:
            self._log("freeze: nothing to freeze (every node but the head is frozen already)")
            return []
        command = SetTrainable(ids, False)
        error = self.push_command(command) if self.push_command else command.do(graph)
        if error:
            self._log(f"freeze: {error}")
            return []
        self._log(f"froze the feature extractor: {', '.join(ids)}")
        return ids

    # ================================================================== running
    def is_running(self) -> bool:
        return self.worker is not None and not self.worker.ended

    def train_linear_probe(self, node_id: str) -> bool:
        """"Train a linear classifier on the features of node X": a run of the graph cut after
        X (X and its ancestors frozen, then pooling and a softmax Dense), on X's features
        computed once per image. The stages' weights: the initial weights set in the panel, else
        the last run's. The editor's graph is not changed."""
        from playground.training.feature_cache import linear_probe_graph

        try:
            probe = linear_probe_graph(self.get_graph(), node_id)
        except PlaygroundError as exc:
            self._set_status(f"cannot start: {exc}", error=True)
            return False
        weights = self.initial_weights() or self.last_run_dir
        self._log(f"linear classifier on the features of {node_id}; stages' weights: "
                  f"{weights or 'untrained (set initial weights or train first)'}")
        return self.start(graph=probe, init_weights=weights)

    def start(self, resume: bool = False, graph: Any = None, init_weights: str | None = None
              ) -> bool:
        """Start a run (or resume the last one); False with a message if it cannot start.
        ``graph``/``init_weights``: another graph than the editor's (the linear probe)."""
        if self.is_running():
            return False
        try:
            config = self.config()
        except PlaygroundError as exc:
            self._set_status(f"cannot start: {exc}", error=True)
            return False
        if resume and not self.last_run_dir:
            self._set_status("nothing to resume: no run in this session yet", error=True)
            return False
        graph = self.get_graph() if graph is None else graph
        self.refresh_graph_options()
        # Frozen layers without initial weights: offer the last run's (Yes fills the field),
        # or say plainly that they stay random; Cancel starts nothing.
        frozen = None if resume or init_weights or self.initial_weights() else \
            self._frozen_without_weights(graph)
        if frozen is False:
            return False
        frozen_note = frozen[1] if isinstance(frozen, tuple) else None
        self.plots.clear()
        self.progress.setValue(0)
        self.last_result = None
        self._latest_batch = None
        kwargs: dict[str, Any] = {"resume": resume, "batch_interval": BATCH_INTERVAL}
        if resume:
            kwargs["run_dir"] = self.last_run_dir
        weights = init_weights or self.initial_weights()
        if weights and not resume:
            kwargs["init_weights"] = weights
            if not self.init_weights.text().strip() and weights == self.recorded_weights():
                self._log(f"starting from the graph's weights {os.path.basename(weights)}")
        from playground.training.rundir import killed_runs
        from playground.training.runs import runs_root

        for note in killed_runs(runs_root()):  # a run the kernel killed (out of memory) says so
            self._log(f"note: {note}")
        run_dir = kwargs.pop("run_dir", None)
        try:
            session = TrainingSession(graph, config, run_dir, **kwargs)
            self._log(("resuming " if resume else "starting ")
                      + f"{graph.name} on {config.dataset}")
            if frozen_note:
                self._log(frozen_note)
            self.worker = session.start()
        except PlaygroundError as exc:     # a run folder that is not ours, a bad setting
            self._set_status(f"cannot start: {exc}", error=True)
            return False
        except OSError as exc:             # the training process could not be started
            self._set_status(f"cannot start the training process: {exc}", error=True)
            return False
        self._started_at = time.perf_counter()
        self._last_tick = None
        self.max_tick_gap = 0.0
        self._set_status("starting (loading data, building the model)..."
                         + (f" {frozen_note}" if frozen_note else ""))
        self.timer.start()
        self._update_buttons()
        return True

    def _frozen_without_weights(self, graph: Graph) -> tuple[str | None, str] | bool | None:
        """Frozen layers with weights but no initial weights would train on with their random
        initialisation. Offer the last run's weights (this session, this graph); otherwise say
        plainly that they stay random. Returns None (nothing frozen), False (cancelled), or
        (weights to use or None, the note for the log)."""
        from playground.core.shapes import analyze

        try:
            analysis = analyze(graph)
            frozen = [n.id for n in graph.nodes if not n.trainable
                      and getattr(analysis.nodes.get(n.id), "params", 0)]
        except Exception:  # noqa: BLE001 - an invalid graph is reported by the run itself
            return None
        if not frozen:
            return None
        names = ", ".join(frozen[:6]) + (f" and {len(frozen) - 6} more" if len(frozen) > 6
                                         else "")
        random_note = (f"note: frozen layers ({names}) keep their random initial weights: no "
                       "initial weights were chosen, so they will not learn anything")
        if self.last_run_dir and os.path.isdir(self.last_run_dir):
            from PySide6.QtWidgets import QMessageBox

            B = QMessageBox.StandardButton  # noqa: N806
            answer = QMessageBox.question(
                self, "Frozen layers without weights",
                f"{len(frozen)} frozen layer(s) ({names}) have no initial weights: frozen, "
                "their random weights would never change.\n\nStart from the weights of the "
                f"last run ({os.path.basename(self.last_run_dir)})?\n"
                "Yes: use them. No: train with the random frozen weights.",
                B.Yes | B.No | B.Cancel, B.Yes)
            if answer == B.Cancel:
                return False
            if answer == B.Yes:
                self.init_weights.setText(self.last_run_dir)
                return self.last_run_dir, (f"frozen layers start from the last run's weights "
                                           f"({self.last_run_dir})")
        return None, random_note

    def stop(self) -> None:
        if self.is_running():
            self.worker.stop()
            self._set_status("stopping (at the end of the current batch, or within a second)...")

    def stop_and_wait(self, timeout_ms: int) -> bool:
        """Ask the run to stop and wait up to ``timeout_ms``; True when nothing is running."""
        deadline = time.perf_counter() + timeout_ms / 1000.0
        if self.worker is not None:
            self.worker.stop()
            self.worker.wait(max(0.0, deadline - time.perf_counter()))
        for job, _ in list(self.jobs):
            job.join(max(0.0, deadline - time.perf_counter()))
        self._tick()
        running = self.is_running() or any(not j.done.is_set() for j, _ in self.jobs)
        return not running

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(not running and bool(self.last_run_dir))
        has_model = self.last_result is not None and self.last_result.has_model
        from playground.exporters import get as export_format

        for name, button in self.export_buttons.items():
            button.setEnabled(has_model and not running and (
                export_format(name).uses_weights or self.last_result.graph is not None))

    # ================================================================== the timer
    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last_tick is not None and self.is_running():
            self.max_tick_gap = max(self.max_tick_gap, now - self._last_tick)
        self._last_tick = now
        if self.worker is not None:
            for event in self.worker.drain():
                # An epoch's telemetry and a run's evaluation travel inside the epoch and end
                # events' payloads, which _handle reads.
                if not isinstance(event, (ev.Telemetry, ev.Evaluation)):
                    self._handle(event.raw)
        for entry in list(self.jobs):
            job, on_done = entry
            if job.done.is_set():
                self.jobs.remove(entry)
                on_done(job)
        if self._pending_log:
            self._flush_log(LOG_LINES_PER_TICK)
        if self._latest_batch is not None:
            self._show_progress(self._latest_batch)
            self._latest_batch = None
        self.plots.redraw()
        if not self.is_running() and not self.jobs and not self._pending_log and (
                self.worker is None or not self.worker.has_events):
            self.timer.stop()
            self._update_buttons()

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        if kind == "log":
            self._log(event["text"])
        elif kind == "device":
            self.device_label.setText(event["text"])
            self.device_changed.emit(event["text"])
        elif kind == "start":
            self.plots.clear()
            self.plots.set_epochs(event["epochs"])
            self.plots.load_history(event.get("history") or [])
            self._epochs = event["epochs"]
        elif kind == "stopping":
            self._latest_batch = None
            self._set_status(f"stopping: training ended at epoch {event['epoch']}, batch "
                             f"{event['step']}; keeping the weights...")
        elif kind == "batch":
            x = event["epoch"] - 1 + event["step"] / max(1, event["steps"])
            self.plots.add_batch(x, event.get("loss"), event.get("accuracy"), event.get("lr"))
            self._latest_batch = event
        elif kind == "epoch":
            self.plots.add_epoch(event["row"])
            row = event["row"]
            self._log(f"epoch {event['epoch']}/{event['epochs']}: loss {row.get('loss'):.4f}"
                      + (f", val_loss {row['val_loss']:.4f}, val_accuracy "
                         f"{row['val_accuracy']:.4f}" if row.get("val_loss") is not None
                         else ""))
            if event.get("telemetry"):
                self.telemetry.emit({k: dict(v) for k, v in event["telemetry"].items()})
        elif kind == "done":
            self._finished(event)

    def _show_progress(self, event: dict[str, Any]) -> None:
        value = int(100 * min(1.0, event.get("fraction", 0.0)))
        if value != self.progress.value():
            self.progress.setValue(value)
        self._set_status(
            f"epoch {event['epoch']}/{getattr(self, '_epochs', '?')}, batch "
            f"{event['step']}/{event['steps']} | {event['images_per_s']:,.0f} img/s | "
            f"elapsed {_fmt_time(event['elapsed'])} | ETA {_fmt_time(event['eta'])}")

    def _finished(self, event: dict[str, Any]) -> None:
        status = event["status"]
        # A batch drained in the same tick must not overwrite the final status (an error line).
        self._latest_batch = None
        from playground.training.outcome import RunOutcome

        result = RunOutcome.from_event(event)
        self.last_result = result
        if event.get("run_dir"):
            self.last_run_dir = event["run_dir"]
        ok = result.ok
        if ok:
            self.progress.setValue(100 if status == "finished" else self.progress.value())
        text = _outcome(status, event.get("message", ""), event.get("history") or [], ok)
        self._set_status(text, error=not ok)
        self._log(text)
        if event.get("evaluation"):
            self.evaluation.set_result(event["evaluation"], self._eval_images(result))
        self.plots.redraw()
        if event.get("run_dir"):
            self._show_run(str(event["run_dir"]), event.get("history") or [])
        self.run_finished.emit(status)

    @staticmethod
    def _eval_images(result: Any) -> Any:
        """Images of the evaluated samples by index: the pictures the training process sent
        for the most confidently wrong ones, else (a run in this process) the dataset's."""
        wrong = (result.evaluation or {}).get("wrong", [])
        if getattr(result, "wrong_images", None):
            return dict(zip(wrong, result.wrong_images, strict=False))
        data = result.dataset
        if data is None or result.eval_indices is None:
            return None
        source = data.x_test if result.eval_source == "test" else data.x
        return None if source is None else source[result.eval_indices]

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_text = text
        self.status.setText(text)
        from playground.ui.themes import current

        self.status.setStyleSheet(f"color: {current().error};" if error else "")
        self.status.setToolTip(text)

    def _log(self, text: str) -> None:
        self._pending_log.append(text)
        if not self.timer.isActive():
            self._flush_log(None)

    def _flush_log(self, most: int | None) -> None:
        """Append pending lines to the log: at most ``most`` now (the timer shows the rest on
        the next ticks, so one tick's work stays small); lines the log could not keep anyway
        are dropped before they cost anything."""
        pending = self._pending_log[-LOG_LINES:]
        now, later = (pending, []) if most is None else (pending[:most], pending[most:])
        self._pending_log = later
        if now:
            self.log.appendPlainText("\n".join(now))

    # ================================================================== runs
    def refresh_runs(self) -> None:
        from playground.training.runs import list_runs

        self.runs_list.clear()
        for info in list_runs():
            self.runs_list.addItem(self._run_item(info.path, info.history))

    @staticmethod
    def _run_item(path: Any, history: list[dict[str, Any]]) -> QListWidgetItem:
        last = history[-1] if history else {}
        acc = last.get("val_accuracy")
        text = f"{os.path.basename(str(path))}  ({len(history)} epochs" + \
            (f", val acc {acc:.3f})" if acc is not None else ")")
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        item.setData(Qt.ItemDataRole.UserRole, str(path))
        return item

    def _show_run(self, run_dir: str, history: list[dict[str, Any]]) -> None:
        """The run that just ended in the Runs list, where :meth:`refresh_runs` would put it,
        without re-reading every run folder on the GUI thread (hundreds of runs took that long
        at the end of each run)."""
        from pathlib import Path

        from playground.training.runs import runs_root

        path = Path(run_dir)
        if path.parent.resolve() != Path(runs_root()).resolve() \
                or not (path / "config.json").is_file():
            return   # refresh_runs lists only the runs folder's own runs
        rows = self.runs_list
        for i in reversed(range(rows.count())):
            if rows.item(i).data(Qt.ItemDataRole.UserRole) == str(path):
                rows.takeItem(i)
        at = next((i for i in range(rows.count())
                   if os.path.basename(rows.item(i).data(Qt.ItemDataRole.UserRole))
                   < path.name), rows.count())
        rows.insertItem(at, self._run_item(path, history))

    def compare_checked(self) -> int:
        from playground.training.runs import read_history

        count = 0
        for i in range(self.runs_list.count()):
            item = self.runs_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                path = item.data(Qt.ItemDataRole.UserRole)
                self.plots.compare(os.path.basename(path), read_history(path))
                count += 1
        return count

    def _use_run_weights(self) -> None:
        item = self.runs_list.currentItem()
        if item is not None:
            self.init_weights.setText(item.data(Qt.ItemDataRole.UserRole))

    # ================================================================== background jobs
    def _run_job(self, fn: Callable[[], Any], on_done: Callable[[BackgroundJob], None]) -> None:
        self.jobs.append((BackgroundJob(fn).start(), on_done))
        self.timer.start()

    def _export(self, kind: str) -> None:
        """Ask where, ask before replacing a name the panel made up (an added ending, the
        ``savedmodel`` folder: the file dialog asked only about the name it returned), then
        write the last run's model through the export registry in a background job."""
        from playground.exporters import get as export_format

        result = self.last_result
        if result is None or result.model is None:
            return
        fmt = export_format(kind)
        if fmt.kind == "file":
            path, _ = QFileDialog.getSaveFileName(self, f"Export {fmt.label}", "",
                                                  f"{fmt.name} (*{fmt.suffix})")
            if not path:
                return
            ask = not path.endswith(fmt.suffix)
            if ask:
                path += fmt.suffix
        else:
            path = QFileDialog.getExistingDirectory(self, f"Export {fmt.label} into (a new "
                                                          f"folder named '{fmt.name}')")
            if not path:
                return
            path = os.path.join(path, fmt.name)
            ask = True
        from playground.ui.confirm import confirm_replace

        if ask and not confirm_replace(self, path):
            self._set_status(f"export cancelled: {path} kept")
            return
        from playground.exporters import write as write_export
        from playground.exporters.source import ExportSource

        source = ExportSource.from_result(result)

        def fn():
            # The user chose (or agreed to replace) this path: overwrite, atomically.
            return str(write_export(kind, source, path, force=True))
        self.export_to(kind, path, fn)

    def export_to(self, kind: str, path: str, fn: Callable[[], Any]) -> None:
        self._set_status(f"writing {path}...")

        def done(job: BackgroundJob) -> None:
            if job.error:
                self._set_status(f"export failed: {job.error}", error=True)
            else:
                self._set_status(f"wrote {job.result}")
            self._log(f"export {kind}: {job.error or job.result}")

        self._run_job(fn, done)

    def _save_png(self) -> None:
        from playground.ui import file_dialogs

        path, _ = QFileDialog.getSaveFileName(self, "Save plots",
                                              file_dialogs.start_path("plots.png"), "PNG (*.png)")
        if path:
            file_dialogs.remember(path)
            try:
                self.plots.save_png(path if path.endswith(".png") else path + ".png")
                self._set_status(f"wrote {path}")
            except PlaygroundError as exc:
                self._set_status(str(exc), error=True)

    def preview(self) -> None:
        """Sixteen samples with labels, and the same after the chosen augmentation."""
        try:
            config = self.config()
        except PlaygroundError as exc:
            self._set_status(f"preview: {exc}", error=True)
            return
        from playground.training.runner import input_shape_of

        try:
            shape = input_shape_of(self.get_graph())
        except PlaygroundError as exc:
            self._set_status(f"preview: {exc}", error=True)
            return

        def fn():
            from playground.data.adapt import adapt_array
            from playground.data.augment import build_augmenter
            from playground.data.dataset import load_dataset

            # Folders and CSV indexes are only listed: just these 16 images are decoded.
            data = load_dataset(config.dataset, shape, bad_images=config.bad_images)
            rng = np.random.default_rng(config.seed)
            rows = rng.choice(len(data.y), size=min(16, len(data.y)), replace=False)
            raw = np.asarray(data.x[rows])
            from playground.data.segdata import is_segmentation, mask_caption, overlay_masks
            if is_segmentation(data):  # images with their masks tinted over them
                masks = np.asarray(data.y[rows])
                return (overlay_masks(raw, masks),
                        [mask_caption(m, data.class_names) for m in masks], None)
            augmented = None
            pca = None
            if "pca" in config.augment:
                from playground.data.augment import training_pca

                pca = training_pca(data, seed=config.seed, count=64, channels=shape[2])
            aug = build_augmenter(config.augment, shape, config.seed, pca=pca)
            if aug is not None:
                x = aug(adapt_array(raw, shape), training=True)
                augmented = np.clip(np.asarray(x) * 255.0, 0, 255).astype(np.uint8)
            return raw, [data.class_names[int(v)] for v in data.y[rows]], augmented

        def done(job: BackgroundJob) -> None:
            if job.error:
                self._set_status(f"preview: {job.error}", error=True)
                return
            self._show_preview(*job.result)

        self._set_status("loading the preview...")
        self._run_job(fn, done)

    def _show_preview(self, raw: np.ndarray, labels: list[str],
                      augmented: np.ndarray | None) -> None:
        while self.preview_grid.count():
            item = self.preview_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.preview_cells = []
        for i, (img, label) in enumerate(zip(raw, labels, strict=True)):
            images = [img] if augmented is None else [img, augmented[i]]
            for j, shown in enumerate(images):
                cell = QLabel()
                cell.setPixmap(image_to_pixmap(shown, 56))
                cell.setToolTip(label + (" (augmented)" if j else ""))
                caption = QLabel(label + (" aug." if j else ""))
                box = QWidget()
                col = QVBoxLayout(box)
                col.setContentsMargins(1, 1, 1, 1)
                col.addWidget(cell)
                col.addWidget(caption)
                per_row = 8 if augmented is None else 4
                self.preview_grid.addWidget(box, i // per_row, (i % per_row) * len(images) + j)
                self.preview_cells.append(cell)
        self._set_status(f"preview: {len(raw)} samples"
                         + (" with augmentation" if augmented is not None else ""))
