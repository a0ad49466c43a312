"""The main window: canvas in the centre, palette (left), inspector (right), problems and training
(bottom), status bar with the graph's totals; menus, shortcuts, files, autosave and settings.

The window owns one ``Document``; every panel mirrors it. TensorFlow is imported only inside the
export/import workers and by the training panel when a run starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from playground import __version__
from playground.core import fileformat
from playground.core.errors import GraphFileError, PlaygroundError
from playground.core.graph import Graph
from playground.ui import theme, themes
from playground.ui.canvas.scene import GraphScene
from playground.ui.canvas.view import GraphView
from playground.ui.document import Document
from playground.ui.editing import LAYOUT_SPACING, Editor
from playground.ui.formatting import grouped, human_bytes, human_count
from playground.ui.gc_guard import ensure_gui_thread_gc
from playground.ui.inspector import Inspector, InspectorTabs
from playground.ui.palette import Palette
from playground.ui.problems import ProblemsPanel
from playground.ui.workers import FunctionThread, export_graph, import_keras

APP_NAME = "Keras Architecture Playground"
MAX_RECENT = 10
AUTOSAVE_DELAY_MS = 4000
# Short: at 1024 px the totals beside it left the status message ~30 px ("layo...").
DEVICE_UNKNOWN = "CPU/GPU: ?"
DEVICE_UNKNOWN_TIP = "the device (CPU or which GPU) is detected when training starts"


def settings_enabled() -> bool:
    return os.environ.get("PLAYGROUND_NO_SETTINGS") != "1"


def ensure_positions(graph: Graph, aspect: float = 1.6) -> str | None:
    """Give a freshly loaded graph a readable layout (not an edit: no undo step).

    Nodes without positions get the wrapped layered layout; so does a stored layout that is one
    long strip of many nodes (fitted to a window its nodes would be specks). Returns a note for
    the status bar when it changed anything.
    """
    from playground.ui.wrap_layout import is_cramped, is_degenerate, wrap_layout

    size = (theme.NODE_WIDTH, theme.NODE_HEIGHT)
    missing = any(n.pos is None for n in graph.nodes)
    strip = not missing and is_degenerate([n.pos for n in graph.nodes], size)
    cramped = not missing and not strip and is_cramped(graph, size)
    if not missing and not strip and not cramped:
        return None
    positions = wrap_layout(graph, aspect, spacing=LAYOUT_SPACING["LR"], node_size=size)
    for nid, pos in positions.items():
        graph.node(nid).pos = (float(pos[0]), float(pos[1]))
    if missing:
        return "nodes without positions were laid out automatically"
    if cramped:
        return "layout: nodes stood too close; spaced out automatically"
    return "layout: wrapped into rows to fit the window"


class MainWindow(QMainWindow):
    def __init__(self, graph: Graph | None = None, path: str | None = None,
                 offer_recovery: bool = True) -> None:
        super().__init__()
        ensure_gui_thread_gc()
        self.setObjectName("MainWindow")
        self.doc = Document(parent=self)
        self.scene = GraphScene(self.doc, self)
        self.view = GraphView(self.scene, self)
        self.editor = Editor(self.doc, self.scene, self)
        self.setCentralWidget(self.view)
        self.recent_files: list[str] = []
        self.persist_settings = True
        self.training_panel: Any = None
        self._threads: set[FunctionThread] = set()
        self._autosave: Any = None
        self._build_docks()
        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        self._connect()
        self.resize(1400, 900)
        self._load_settings()
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        if graph is not None:
            note = ensure_positions(graph, self.canvas_aspect())
            self.doc.set_graph(graph, path)
            if note:
                self.show_message(note)
        self._update_title()
        self._update_status(self.doc.analysis)
        if offer_recovery:
            QTimer.singleShot(0, self.offer_recovery)

    # ------------------------------------------------------------------ layout
    def _build_docks(self) -> None:
        self.palette = Palette(self)
        self.palette_dock = self._dock("Blocks", "paletteDock", self.palette,
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector = Inspector(self.doc, self.editor, self)
        self.inspector_tabs = InspectorTabs(self.inspector, self)   # Parameters | Explain
        self.explain_view = self.inspector_tabs.explain
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector_tabs,
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems = ProblemsPanel(self.doc, self.editor, self)
        self.problems_dock = self._dock("Problems", "problemsDock", self.problems,
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
        from playground.ui.layer_table import LayerTable

        self.layer_table = LayerTable(self.doc, self)
        self.layers_dock = self._dock("Layers", "layersDock", self.layer_table,
                                      Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.layers_dock)
        self.problems_dock.raise_()
        self.training_dock: QDockWidget | None = None
        try:
            from playground.ui.training_panel import TrainingPanel
        except Exception:  # noqa: BLE001 - the editor works without the training panel
            TrainingPanel = None  # noqa: N806
        if TrainingPanel is not None:
            try:
                self.training_panel = TrainingPanel(lambda: self.doc.graph, self,
                                                    push=lambda command: self.doc.push(command))
                self.training_panel.get_path = lambda: self.doc.path
                # The ImageNet option depends on the graph (its keras_application twin).
                self.doc.analyzed.connect(
                    lambda _analysis: self.training_panel.refresh_graph_options())
                # A preset carries its training recipe: show it when the preset is opened.
                self.doc.reset.connect(self.training_panel.adopt_graph_defaults)
            except Exception as exc:  # noqa: BLE001
                print(f"warning: training panel unavailable: {exc}", file=sys.stderr)
                self.training_panel = None
        if self.training_panel is not None:
            # In a scroll area: the panel's minimum width must not set the window's.
            scroller = QScrollArea(self)
            scroller.setWidgetResizable(True)
            scroller.setFrameShape(QScrollArea.Shape.NoFrame)
            scroller.setWidget(self.training_panel)
            self.training_dock = self._dock("Training", "trainingDock", scroller,
                                            Qt.DockWidgetArea.BottomDockWidgetArea)
            self.tabifyDockWidget(self.problems_dock, self.training_dock)
            self.problems_dock.raise_()
            self.training_dock.visibilityChanged.connect(self._training_dock_shown)
            for name, slot in (("telemetry", self.scene.set_telemetry),
                               ("device_changed", self._set_device)):
                signal = getattr(self.training_panel, name, None)
                if signal is not None:
                    signal.connect(slot)
        self._build_predict_dock()
        self.resizeDocks([self.palette_dock, self.inspector_dock], [210, 300],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.problems_dock], [170], Qt.Orientation.Vertical)
        from playground.ui.problems import EmptyCollapse

        bottom = [self.layers_dock] + ([self.training_dock] if self.training_dock else [])
        self.problems_collapse = EmptyCollapse(self, self.problems_dock, self.problems, bottom)

    def fit_docks(self) -> None:
        """Side panels in proportion to the window (a 1024-wide window keeps a usable canvas):
        the palette and the inspector take at most 210 and 300 px, less in a narrow window."""
        width = max(self.width(), 640)
        self.resizeDocks([self.palette_dock, self.inspector_dock],
                         [min(210, int(0.18 * width)), min(300, int(0.24 * width))],
                         Qt.Orientation.Horizontal)

    def training_share(self) -> int:
        """The bottom panel's height when Training is shown: enough for the plots (about 45 %
        of the window, at least 300 px) while the canvas keeps at least 280 px."""
        height = self.height()
        return max(min(int(0.45 * height), height - 360), min(300, height - 280), 160)

    def _training_dock_shown(self, visible: bool) -> None:
        """Grow the panel to its share the first time it is shown; later only when it is too
        short for the plots (a height the user chose above that is kept)."""
        if not visible or self.training_dock is None:
            return
        height = self.training_dock.height()
        first = not getattr(self, "_training_grown", False)
        if height < self.training_share() - 20 and (first or height < 200):
            self._training_grown = True
            self.resizeDocks([self.training_dock], [self.training_share()],
                             Qt.Orientation.Vertical)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not getattr(self, "_docks_fitted", False):
            self._docks_fitted = True
            if not getattr(self, "_restored_state", False):
                self.fit_docks()
        super().showEvent(event)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_predict_dock(self) -> None:
        """Predict: one image (drawn, a sample, a file) through the current weights, and the
        selected node's feature maps, filters and Grad-CAM (playground/ui/predict_view.py)."""
        from playground.ui.predict_view import PredictView

        self.predict_view = PredictView(lambda: self.doc.graph, self.training_panel, self,
                                        get_path=lambda: self.doc.path)
        # In a scroll area: the view's minimum height must not set the window's.
        scroller = QScrollArea(self)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        scroller.setWidget(self.predict_view)
        self.predict_dock = self._dock("Predict", "predictDock", scroller,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.predict_dock)
        self.inspector_dock.raise_()
        self.predict_dock.visibilityChanged.connect(self.predict_view.dock_visible)
        self.scene.selectionChanged.connect(self._predict_selection)
        self.doc.graph_changed.connect(lambda *_args: self.predict_view.graph_changed())

    def _predict_selection(self) -> None:
        try:
            ids = self.scene.selected_node_ids()
        except RuntimeError:  # scene being torn down
            return
        self.predict_view.set_node(ids[0] if len(ids) == 1 else None)

    def _build_status_bar(self) -> None:
        from playground.ui.status_bar import ElidingStatusBar

        self.setStatusBar(ElidingStatusBar(self))
        bar = self.statusBar()
        self.status_labels: dict[str, QLabel] = {}
        for key in ("params", "trainable", "macs", "memory", "validity", "device"):
            label = QLabel(self)
            label.setObjectName(f"status_{key}")
            label.setContentsMargins(6, 0, 6, 0)
            label.setMinimumWidth(30)  # may shrink in a narrow window (text is clipped)
            bar.addPermanentWidget(label)
            self.status_labels[key] = label
        self.status_labels["device"].setText(self._initial_device_text())
        self.status_labels["device"].setToolTip(DEVICE_UNKNOWN_TIP)

    def _initial_device_text(self) -> str:
        """Never imports TensorFlow: asks the training module's cache if it is there."""
        try:
            from playground.training.device import describe_device_cached
        except Exception:  # noqa: BLE001
            return DEVICE_UNKNOWN
        try:
            text = describe_device_cached()
        except Exception:  # noqa: BLE001
            return DEVICE_UNKNOWN
        return str(text) if text else DEVICE_UNKNOWN

    def _set_device(self, text: str) -> None:
        self.status_labels["device"].setText(text or DEVICE_UNKNOWN)

    # ---------------------------------------------------------------- actions
    def _action(self, text: str, slot, shortcut=None, tip: str = "",
                checkable: bool = False, checked: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        if checkable:
            action.setCheckable(True)
            action.setChecked(checked)
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey  # noqa: N806
        a = self._action
        self.act_new = a("&New", self.new_document, K.New)
        self.act_open = a("&Open...", self.open_dialog, K.Open)
        self.act_open_preset = a("Open &Preset...", self.open_preset_dialog, "Ctrl+Shift+P")
        self.act_save = a("&Save", self.save, K.Save)
        self.act_save_as = a("Save &As...", self.save_as, K.SaveAs)
        self.act_import = a("&Import Keras model...", self.import_dialog)
        from playground.exporters import all_formats

        self.export_actions = {f.name: a(f.label, lambda n=f.name: self.export_dialog(n))
                               for f in all_formats()}   # the export registry's formats
        self.act_export_keras = self.export_actions["keras"]
        self.act_export_saved = self.export_actions["savedmodel"]
        self.act_export_python = self.export_actions["python"]
        self.act_export_diagram = a("Export &Diagram (PNG, SVG)...", self.export_diagram_dialog,
                                    tip="Save the diagram as a PNG image or an SVG vector file")
        self.act_quit = a("&Quit", self.close, K.Quit)

        self.act_undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence(K.Undo))
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence(K.Redo), QKeySequence("Ctrl+Y")])
        self.act_cut = a("Cu&t", self.editor.cut, K.Cut)
        self.act_copy = a("&Copy", self.editor.copy, K.Copy)
        self.act_paste = a("&Paste", self.editor.paste, K.Paste)
        self.act_duplicate = a("D&uplicate", self.editor.duplicate, "Ctrl+D")
        self.act_delete = a("&Delete", self.editor.delete_selection, K.Delete)
        self.act_delete.setShortcuts([QKeySequence(K.Delete), QKeySequence("Backspace")])
        self.act_select_all = a("Select &All", self.editor.select_all, K.SelectAll)
        self.act_retarget = a("&Retarget (input shape, classes)...", self.retarget_dialog,
                              "Ctrl+R")
        self.act_freeze = a("&Freeze selected", lambda: self._freeze_selected(True), "Ctrl+L")
        self.act_unfreeze = a("U&nfreeze selected", lambda: self._freeze_selected(False),
                              "Ctrl+Shift+L")
        self.act_unfreeze_all = a("Unfreeze a&ll", self.editor.unfreeze_all)

        self.act_zoom_in = a("Zoom &In", lambda: self.view.zoom_by(1.25, False), K.ZoomIn)
        self.act_zoom_in.setShortcuts([QKeySequence(K.ZoomIn), QKeySequence("Ctrl+=")])
        self.act_zoom_out = a("Zoom &Out", lambda: self.view.zoom_by(0.8, False), K.ZoomOut)
        self.act_fit = a("&Fit to View", self.view.fit_all, "Ctrl+0")
        self.act_layout_wrap = a("&Auto-layout (rows that fit the window)",
                                 lambda: self._layout("wrap"), "Ctrl+Shift+A")
        self.act_layout_lr = a("Auto-layout left to right (one row)", lambda: self._layout("LR"))
        self.act_layout_tb = a("Auto-layout top down", lambda: self._layout("TB"))
        self.act_edge_shapes = a("Tensor shapes on edges", self._toggle_edge_shapes,
                                 checkable=True, checked=True)
        self.act_node_params = a("Parameter counts on nodes", self._toggle_node_params,
                                 checkable=True, checked=True)
        self.act_node_macs = a("MACs on nodes (instead of parameters)", self._toggle_node_macs,
                               checkable=True, checked=False)
        self.act_about = a("&About", self.about)
        self.act_help = a("&Help", self.show_help, "F1",
                          tip="How to read the canvas, every block, transfer learning and "
                              "augmentation advice")
        self.act_shortcuts = a("&Keyboard shortcuts", self.show_shortcuts, "Shift+F1")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for act in (self.act_new, self.act_open, self.act_open_preset):
            file_menu.addAction(act)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addAction(self.act_save)
        file_menu.addAction(self.act_save_as)
        file_menu.addSeparator()
        file_menu.addAction(self.act_import)
        export_menu = file_menu.addMenu("&Export")
        for act in self.export_actions.values():
            export_menu.addAction(act)
        file_menu.addAction(self.act_export_diagram)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        edit = bar.addMenu("&Edit")
        for act in (self.act_undo, self.act_redo, None, self.act_cut, self.act_copy,
                    self.act_paste, self.act_duplicate, self.act_delete, None,
                    self.act_select_all, None, self.act_freeze, self.act_unfreeze,
                    self.act_unfreeze_all, None, self.act_retarget):
            edit.addSeparator() if act is None else edit.addAction(act)

        view = bar.addMenu("&View")
        for act in (self.act_zoom_in, self.act_zoom_out, self.act_fit, None,
                    self.act_layout_wrap, self.act_layout_lr, self.act_layout_tb, None,
                    self.act_edge_shapes,
                    self.act_node_params, self.act_node_macs):
            view.addSeparator() if act is None else view.addAction(act)
        view.addSeparator()
        panels = view.addMenu("&Panels")
        for dock in (self.palette_dock, self.inspector_dock, self.problems_dock,
                     self.layers_dock, self.training_dock, self.predict_dock):
            if dock is not None:
                panels.addAction(dock.toggleViewAction())

        self._build_theme_menu(view)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_help)
        help_menu.addAction(self.act_shortcuts)
        help_menu.addAction(self.act_about)
        self._rebuild_recent_menu()

    def _build_theme_menu(self, view: QMenu) -> None:
        """View > Theme: dark (default), light, or the desktop's choice; remembered."""
        from PySide6.QtGui import QActionGroup

        menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for key, label in (("dark", "&Dark"), ("light", "&Light"),
                           ("system", "Follow the &system")):
            act = menu.addAction(label)
            act.setCheckable(True)
            act.setChecked(key == themes.choice())
            group.addAction(act)
            act.triggered.connect(lambda _checked=False, k=key: self.set_theme(k))
            self.theme_actions[key] = act

    def set_theme(self, name: str) -> None:
        """Switch every window to the ``dark``, ``light`` or ``system`` theme."""
        themes.apply(QApplication.instance(), name)
        if self._settings() is not None:
            themes.save_choice(name)
        for key, act in self.theme_actions.items():
            act.setChecked(key == themes.choice())
        self._update_status(self.doc.analysis)
        self._selection_changed()

    def _connect(self) -> None:
        self.editor.message.connect(self.show_message)
        self.scene.message.connect(self.show_message)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.scene.context_menu_requested.connect(self._context_menu)
        self.scene.freeze_toggle_requested.connect(
            lambda nid: self.editor.set_trainable([nid], not self.doc.graph.node(nid).trainable))
        self.view.connect_requested.connect(self.editor.connect)
        self.view.block_dropped.connect(lambda t, p: self.editor.add_block(t, p))
        self.palette.block_activated.connect(self.add_block_at_centre)
        self.problems.node_requested.connect(self.reveal_node)
        self.layer_table.node_requested.connect(self.reveal_node)
        self.doc.analyzed.connect(self._update_status)
        self.doc.modified_changed.connect(lambda _m: self._update_title())
        self.doc.path_changed.connect(self._update_title)
        self.doc.graph_changed.connect(self._schedule_autosave)

    # ------------------------------------------------------------ view updates
    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.doc.display_name}[*] \u2014 {APP_NAME}")
        self.setWindowModified(self.doc.is_modified())

    def _update_status(self, analysis) -> None:
        labels = self.status_labels
        labels["params"].setText(f"Params: {grouped(analysis.total_params)}")
        labels["params"].setToolTip(
            f"{analysis.total_params:,} parameters "
            f"({analysis.non_trainable_params:,} non-trainable)")
        labels["trainable"].setText(f"Trainable: {grouped(analysis.trainable_params)}")
        labels["macs"].setText(f"MACs: {human_count(analysis.macs)}")
        labels["macs"].setToolTip(f"{analysis.macs:,} multiply-accumulates per sample")
        labels["memory"].setText(f"Activations: {human_bytes(analysis.memory_bytes)}/sample")
        n_err, n_warn = len(analysis.errors), len(analysis.warnings)
        if n_err:
            labels["validity"].setText(f"\u2716 {n_err} error{'s' if n_err != 1 else ''}")
            labels["validity"].setStyleSheet(f"color:{themes.current().error};font-weight:bold")
        else:
            text = "\u2714 valid" + (f" ({n_warn} warning{'s' if n_warn != 1 else ''})"
                                      if n_warn else "")
            labels["validity"].setText(text)
            labels["validity"].setStyleSheet(f"color:{themes.current().ok};font-weight:bold")

    def _selection_changed(self) -> None:
        try:
            ids = self.scene.selected_node_ids()
        except RuntimeError:  # scene being torn down
            return
        self.inspector_tabs.show_node(ids[0] if len(ids) == 1 else None)
        self.layer_table.select_node(ids[0] if len(ids) == 1 else None)

    def reveal_node(self, node_id: str) -> None:
        if node_id in self.scene.node_items:
            self.scene.select_nodes([node_id])
            self.view.center_on_node(node_id)

    def add_block_at_centre(self, block_type: str) -> None:
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        # Nudge so repeated double-clicks do not stack nodes exactly.
        offset = 24.0 * (len(self.doc.graph) % 5)
        self.editor.add_block(block_type, QPointF(centre.x() + offset, centre.y() + offset))

    def canvas_aspect(self) -> float:
        """Width/height of the canvas, for layouts that should fill it."""
        rect = self.view.viewport().rect()
        if rect.width() < 50 or rect.height() < 50 or not self.isVisible():
            return 1.5  # not shown yet: the usual canvas of a 1400x900 window
        return max(0.3, min(4.0, rect.width() / rect.height()))

    def _layout(self, direction: str) -> None:
        self.editor.auto_layout(direction, self.canvas_aspect())
        self.view.fit_all()

    def _toggle_edge_shapes(self, on: bool) -> None:
        self.scene.show_edge_shapes = on
        for edge in self.scene.edge_items.values():
            edge.set_detail(self.scene.detail)

    def _toggle_node_params(self, on: bool) -> None:
        self.scene.show_node_params = on
        for item in self.scene.node_items.values():
            item.update()

    def _toggle_node_macs(self, on: bool) -> None:
        self.scene.show_node_macs = on
        for item in self.scene.node_items.values():
            item.update()

    def export_diagram_dialog(self) -> None:
        stem = self.doc.path.stem if self.doc.path else (self.doc.graph.name or "diagram")
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export diagram", f"{stem}.svg", "SVG vector (*.svg);;PNG image (*.png)")
        if not path:
            return
        if Path(path).suffix.lower() not in (".png", ".svg"):
            path += ".png" if "png" in chosen.lower() else ".svg"
            if os.path.lexists(path) and not self._confirm_replace(path):
                self.show_message(f"diagram export cancelled: {path} kept")
                return
        self.export_diagram_to(path)

    def export_diagram_to(self, path: str) -> bool:
        """Write the diagram as PNG or SVG (by the extension); says why when it cannot."""
        from playground.ui.diagram_export import save_diagram

        try:
            fmt = save_diagram(self.scene, path, title=self.doc.graph.name)
        except (OSError, PlaygroundError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.show_message(f"diagram export failed: {reason}")
            QMessageBox.warning(self, "Export diagram", f"Could not save {path}:\n{reason}")
            return False
        self.show_message(f"diagram saved as {fmt.upper()}: {path}")
        return True

    def _freeze_selected(self, frozen: bool) -> None:
        ids = self.scene.selected_node_ids()
        if not ids:
            self.show_message("select nodes to freeze or unfreeze")
            return
        self.editor.set_trainable(ids, not frozen)

    def _linear_probe(self, node_id: str) -> None:
        """Show the training panel and train a linear classifier on ``node_id``'s features."""
        if self.training_dock is not None:
            self.training_dock.show()
            self.training_dock.raise_()
        self.training_panel.train_linear_probe(node_id)

    def _context_menu(self, node_id: str, global_pos) -> None:
        menu = self.build_context_menu(node_id)
        menu.exec(global_pos)

    def build_context_menu(self, node_id: str) -> QMenu:
        menu = QMenu(self)
        if node_id:
            node = self.doc.graph.node(node_id)
            if self.editor.can_expand(node_id):
                menu.addAction("Expand into layers",
                               lambda: self.editor.expand(node_id)).setObjectName("expand")
            menu.addAction("Unfreeze" if not node.trainable else "Freeze",
                           lambda: self.editor.set_trainable([node_id], not node.trainable))
            menu.addAction("Freeze everything up to here",
                           lambda: self.editor.freeze_up_to(node_id))
            menu.addAction("Unfreeze all", self.editor.unfreeze_all)
            if self.training_panel is not None and node.type != "Input":
                menu.addAction("Train a linear classifier on these features",
                               lambda: self._linear_probe(node_id)).setObjectName("linearProbe")
            menu.addSeparator()
            menu.addAction(self.act_copy)
            menu.addAction(self.act_cut)
            menu.addAction(self.act_duplicate)
            menu.addAction(self.act_delete)
        else:
            menu.addAction(self.act_paste)
            menu.addAction(self.act_select_all)
            menu.addSeparator()
            menu.addAction(self.act_fit)
            menu.addAction(self.act_layout_wrap)
            menu.addAction(self.act_layout_lr)
            menu.addAction(self.act_layout_tb)
        return menu

    # ------------------------------------------------------------------- files
    def maybe_save(self) -> bool:
        """Ask about unsaved changes. True: go on (saved or discarded); False: stay."""
        if not self.doc.is_modified():
            return True
        B = QMessageBox.StandardButton  # noqa: N806
        answer = QMessageBox.question(
            self, APP_NAME,
            f"“{self.doc.display_name}” has unsaved changes. Save them?",
            B.Save | B.Discard | B.Cancel, B.Save)
        if answer == B.Save:
            return self.save()
        return answer == B.Discard

    def new_document(self) -> bool:
        if not self.maybe_save():
            return False
        self._clear_autosave()
        self.doc.set_graph(Graph(), None)
        self.view.reset_zoom()
        return True

    def open_dialog(self) -> None:
        from playground.ui import file_dialogs

        start = str(self.doc.path.parent) if self.doc.path else file_dialogs.start_dir()
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", start,
                                              "Graph files (*.json);;All files (*)")
        if path:
            file_dialogs.remember(path)
            self.open_file(path)

    def open_file(self, path: str | Path, as_copy: bool = False, ask: bool = True) -> bool:
        """Open a graph file; ``as_copy`` opens it untitled (presets: never overwrite them)."""
        if ask and not self.maybe_save():
            return False
        try:
            graph = fileformat.load(path)
        except GraphFileError as exc:
            details = "\n".join(f"{where}: {message}" for where, message in exc.problems[:20])
            QMessageBox.warning(self, "Cannot open file", f"{exc}\n\n{details}".strip())
            self.show_message(f"cannot open {path}")
            return False
        except OSError as exc:
            QMessageBox.warning(self, "Cannot open file", f"{path}: {exc.strerror or exc}")
            return False
        self._clear_autosave()
        note = ensure_positions(graph, self.canvas_aspect())
        if as_copy:
            self.doc.set_graph(graph, None, display_name=f"{graph.name} (preset copy)")
        else:
            self.doc.set_graph(graph, path)
            self._add_recent(str(Path(path).resolve()))
        QTimer.singleShot(0, self.view.fit_all)
        self.view.fit_all()
        self.show_message(f"opened {graph.name}: {len(graph)} nodes" + (f"; {note}" if note
                                                                           else ""))
        return True

    def open_preset_dialog(self) -> None:
        from playground.core.presets import list_presets
        from playground.ui.dialogs import PresetDialog

        dialog = PresetDialog(list_presets(), self)
        if dialog.exec() and dialog.selected_path():
            self.open_file(dialog.selected_path(), as_copy=True)

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self.save_to(self.doc.path)

    def save_as(self) -> bool:
        from playground.ui import file_dialogs

        suggested = str(self.doc.path) if self.doc.path else file_dialogs.start_path(
            f"{self.doc.graph.name or 'graph'}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save graph", suggested,
                                              "Graph files (*.json)")
        if not path:
            return False
        file_dialogs.remember(path)
        if not path.endswith(".json"):
            path += ".json"
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        """Atomic save; a failure says why and leaves the document marked unsaved."""
        if not self._may_overwrite_changes_on_disk(path):
            return False
        try:
            fileformat.save(self.doc.graph, path)
        except (OSError, PlaygroundError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            QMessageBox.critical(self, "Save failed",
                                 f"Could not save to {path}:\n{reason}\n\n"
                                 "Your changes are still here, unsaved.")
            self.show_message(f"save failed: {reason}")
            return False
        self.doc.mark_saved(path)
        self._clear_autosave()
        self._add_recent(str(Path(path).resolve()))
        self.show_message(f"saved {path}")
        return True

    def _may_overwrite_changes_on_disk(self, path: str | Path) -> bool:
        """Two editors on one file: if another program wrote our file since we opened or saved
        it, ask before replacing that work (default: Cancel)."""
        from playground.core.disk_stamp import changed_since

        same = self.doc.path is not None and Path(path).absolute() == self.doc.path.absolute()
        if not same or not changed_since(path, getattr(self.doc, "disk_stamp", None)):
            return True
        B = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, "File changed on disk",
            f"{path} was changed on disk since you opened or last saved it (by another editor "
            "or program).\n\nSave anyway and replace those changes with yours?",
            B.Save | B.Cancel, B.Cancel)
        if answer != B.Save:
            self.show_message(f"not saved: {path} changed on disk; use Save As to keep both")
            return False
        return True

    # ----------------------------------------------------------------- recents
    def _add_recent(self, path: str) -> None:
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        self.recent_files = self.recent_files[:MAX_RECENT]
        self._rebuild_recent_menu()
        self._save_settings(recent_only=True)

    def _rebuild_recent_menu(self) -> None:
        if not hasattr(self, "recent_menu"):
            return
        self.recent_menu.clear()
        for path in self.recent_files:
            self.recent_menu.addAction(path, lambda p=path: self.open_file(p))
        self.recent_menu.setEnabled(bool(self.recent_files))

    # ----------------------------------------------------------------- settings
    def _settings(self) -> QSettings | None:
        if not settings_enabled() or not getattr(self, "persist_settings", True):
            return None
        return QSettings("KerasPlayground", "KerasArchitecturePlayground")

    def _load_settings(self) -> None:
        settings = self._settings()
        if settings is None:
            return
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray | bytes):
            self.restoreGeometry(geometry)
        state = settings.value("window/state")
        if isinstance(state, QByteArray | bytes):
            self._restored_state = bool(self.restoreState(state))
        recent = settings.value("recentFiles", [])
        if isinstance(recent, str):
            recent = [recent]
        self.recent_files = [str(p) for p in (recent or []) if p][:MAX_RECENT]
        self._rebuild_recent_menu()

    def _save_settings(self, recent_only: bool = False) -> None:
        settings = self._settings()
        if settings is None:
            return
        settings.setValue("recentFiles", self.recent_files)
        if not recent_only:
            settings.setValue("window/geometry", self.saveGeometry())
            settings.setValue("window/state", self.saveState())

    # ----------------------------------------------------------------- autosave
    def autosave_store(self):
        if self._autosave is None:
            from playground.core.autosave import Autosave, autosave_dir

            self._autosave = Autosave(autosave_dir())
        return self._autosave

    def _schedule_autosave(self, _kind: str = "", _details: dict | None = None) -> None:
        self._autosave_timer.start()  # restarted by each edit: writes once the user pauses

    def autosave_now(self) -> None:
        if not self.doc.is_modified():
            return
        try:
            self.autosave_store().write(self.doc.key, self.doc.graph,
                                        str(self.doc.path) if self.doc.path else None)
        except (OSError, PlaygroundError, ValueError) as exc:
            self.show_message(f"autosave failed: {exc}")

    def _clear_autosave(self) -> None:
        self._autosave_timer.stop()
        try:
            self.autosave_store().clear(self.doc.key)
        except (OSError, PlaygroundError):
            pass

    def offer_recovery(self) -> bool:
        """After a crash: offer the newest autosave of a process that is gone."""
        try:
            entries = self.autosave_store().pending()
        except (OSError, PlaygroundError) as exc:
            self.show_message(f"cannot read autosaves: {exc}")
            return False
        damaged = [e for e in entries if e.error is not None]
        if damaged:  # already moved aside to *.corrupt by the store: say so once, keep going
            text = "\n\n".join(f"{e.error}\nIt was set aside as {e.path}." for e in damaged)
            self.show_message(f"{len(damaged)} damaged recovery file(s) set aside")
            QMessageBox.warning(self, "Damaged recovery file", text)
        entries = [e for e in entries if e.error is None]
        if not entries:
            return False
        entry = max(entries, key=lambda e: e.time)
        B = QMessageBox.StandardButton  # noqa: N806
        where = entry.source_path or "an untitled graph"
        answer = QMessageBox.question(
            self, "Recover unsaved work",
            f"Keras Architecture Playground did not close properly. Unsaved work on "
            f"“{entry.name or where}” ({where}) was autosaved. Recover it?",
            B.Yes | B.No, B.Yes)
        if answer != B.Yes:
            for e in entries:
                try:
                    e.discard()
                except OSError:
                    pass
            return False
        try:
            graph = entry.load()
        except (GraphFileError, OSError) as exc:
            QMessageBox.warning(self, "Recovery failed", str(exc))
            return False
        ensure_positions(graph, self.canvas_aspect())
        self.doc.set_graph(graph, entry.source_path,
                           display_name=(Path(entry.source_path).name if entry.source_path
                                         else f"{graph.name} (recovered)"), dirty=True)
        for e in entries:
            try:
                e.discard()
            except OSError:
                pass
        self.autosave_now()  # this session now holds the recovered work
        self.view.fit_all()
        self.show_message("recovered autosaved work; save it to keep it")
        return True

    # --------------------------------------------------------- export / import
    def _start_thread(self, fn, on_success, what: str) -> FunctionThread:
        thread = FunctionThread(fn, self)
        self._threads.add(thread)
        thread.succeeded.connect(on_success)
        thread.failed.connect(lambda msg: self._work_failed(what, msg))
        thread.finished.connect(lambda t=thread: self._threads.discard(t))
        thread.start()
        self.show_message(f"{what}...", 0)
        return thread

    def _work_failed(self, what: str, message: str) -> None:
        self.show_message(f"{what} failed: {message}")
        QMessageBox.warning(self, f"{what} failed", message)

    def export_dialog(self, fmt: str) -> None:
        """After a training run the user chooses the run's weights or the untrained graph
        (never silently untrained); then where to write, asking before replacing."""
        from playground.exporters import default_target, get
        from playground.ui.export_choice import RUN, ask_export_weights, trained_run

        spec = get(fmt)
        run = trained_run(self.training_panel) if spec.uses_weights else None
        if run is not None:
            choice = ask_export_weights(self, run, spec.label.rstrip(".").lower())
            if choice is None:
                return
            run = run if choice == RUN else None
        analysis = self.doc.current_analysis()
        if run is None and not analysis.valid:
            QMessageBox.warning(self, "Cannot export",
                                "Fix the graph's errors first (see the Problems panel).")
            return
        stem = (self.doc.path.stem if self.doc.path else self.doc.graph.name or "model")
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
        if spec.kind == "folder":
            path = QFileDialog.getExistingDirectory(self, f"Export {spec.label} into (new "
                                                          "folder is created inside)")
            if not path:
                return
            path = default_target(spec, path, stem)
            ask = True  # the folder name is ours: no dialog has asked about replacing it
        else:
            suffix = spec.suffix
            path, _ = QFileDialog.getSaveFileName(self, "Export", f"{stem}{suffix}",
                                                  f"*{suffix}")
            if not path:
                return
            ask = not path.endswith(suffix)  # the dialog asked about the name it returned
            if ask:
                path += suffix
        if ask and os.path.lexists(path) and not self._confirm_replace(path):
            self.show_message(f"export cancelled: {path} kept")
            return
        self.export_to(fmt, path, run)

    def _confirm_replace(self, path: str) -> bool:
        """An export replaces an existing file or folder only when the user says so."""
        from playground.ui.confirm import confirm_replace

        return confirm_replace(self, path)

    def export_to(self, fmt: str, path: str, run: Any = None) -> FunctionThread:
        """Write in a worker thread: ``run`` (a training result) exports its weights, else the
        current graph is built and exported untrained (and the message says so)."""
        if run is not None:
            from playground.exporters import write as write_export
            from playground.exporters.source import ExportSource
            from playground.ui.export_choice import run_label

            source, label = ExportSource.from_result(run), f"weights of run {run_label(run)}"
            return self._start_thread(
                lambda: str(write_export(fmt, source, path, force=True)),
                lambda out: self.show_message(f"exported to {out} ({label})"), "Export")
        graph = self.doc.graph.copy()
        analysis = self.doc.current_analysis()
        source = str(self.doc.path) if self.doc.path else None
        from playground.core.graph_weights import recorded_weights
        from playground.exporters import get

        weights, _problem = recorded_weights(graph, self.doc.path)   # the graph's own weights
        init = str(weights) if weights is not None and get(fmt).uses_weights else None
        said = (f" (weights: {weights.name}, recorded in the graph)" if init
                else " (untrained weights)" if get(fmt).uses_weights else "")
        return self._start_thread(lambda: export_graph(graph, analysis, fmt, path, source, init),
                                  lambda out: self.show_message(f"exported to {out}{said}"),
                                  "Export")

    def import_dialog(self) -> None:
        from playground.ui import file_dialogs

        path, _ = QFileDialog.getOpenFileName(self, "Import Keras model",
                                              file_dialogs.start_dir(),
                                              "Keras models (*.keras *.h5);;All files (*)")
        if path:
            file_dialogs.remember(path)
            self.import_from(path)

    def import_from(self, path: str) -> FunctionThread | None:
        if not self.maybe_save():
            return None
        return self._start_thread(lambda: import_keras(path), self._imported, "Import")

    def _imported(self, result: Any) -> None:
        graph = getattr(result, "graph", result)   # importer.Imported(graph, ..., notes)
        notes = list(getattr(result, "notes", []) or [])
        if isinstance(result, tuple):
            graph = next((r for r in result if isinstance(r, Graph)), None)
        if not isinstance(graph, Graph):
            self._work_failed("Import", "the importer returned no graph")
            return
        self._clear_autosave()
        ensure_positions(graph, self.canvas_aspect())
        self.doc.set_graph(graph, None, display_name=f"{graph.name} (imported)", dirty=True)
        self.view.fit_all()
        self.show_message(f"imported {len(graph)} nodes" + (f"; {notes[0]}" if notes else ""))

    def wait_for_workers(self, timeout_ms: int = 60000) -> None:
        for thread in list(self._threads):
            thread.wait(timeout_ms)

    # ----------------------------------------------------------------- dialogs
    def retarget_dialog(self) -> None:
        from playground.core.retarget import parse_shape
        from playground.ui.dialogs import RetargetDialog

        graph = self.doc.graph
        inputs = [n for n in graph.nodes if n.type == "Input"]
        shape = inputs[0].params.get("shape") if len(inputs) == 1 else None
        dialog = RetargetDialog(shape if isinstance(shape, list) else None, None, self)
        if not dialog.exec():
            return
        shape_text, classes = dialog.values()
        try:
            new_shape = parse_shape(shape_text) if shape_text else None
        except PlaygroundError as exc:
            self.show_message(str(exc))
            QMessageBox.warning(self, "Retarget", str(exc))
            return
        self.editor.retarget(new_shape, classes)

    def about(self) -> None:
        QMessageBox.about(
            self, f"About {APP_NAME}",
            f"<b>{APP_NAME}</b> {__version__}<br>Build convolutional networks as graphs, see "
            "shapes, parameters and MACs as you edit, train with Keras and export.")

    def show_help(self, section: str | None = None):
        """F1: the help window (kept, non-modal), at the selected node's block if there is one."""
        from playground.ui.help_view import HelpWindow

        if getattr(self, "help_window", None) is None:
            self.help_window = HelpWindow(self)
        if section is None:
            ids = self.scene.selected_node_ids()
            if len(ids) == 1 and ids[0] in self.doc.graph:
                section = f"block-{self.doc.graph.node(ids[0]).type}"
        self.help_window.show()
        self.help_window.raise_()
        if section:
            self.help_window.show_section(section)
        return self.help_window

    def show_shortcuts(self) -> None:
        from playground.ui.dialogs import ShortcutsDialog

        rows = []
        for act in self.actions():
            key = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if key:
                rows.append((key, act.text().replace("&", "")))
        rows += [("Wheel", "zoom around the cursor"), ("Middle drag / Space+drag", "pan"),
                 ("Drag from an output port", "connect to an input port"),
                 ("Drag on empty canvas", "rubber-band select"),
                 ("Right click", "node menu: expand, freeze up to here...")]
        ShortcutsDialog(rows, self).exec()

    # -------------------------------------------------------------------- close
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Every question first (stop the run? save the changes?), then act: cancelling any
        question leaves the run training and the document open."""
        panel = self.training_panel
        running = panel is not None and _call(panel, "is_running")
        if running:
            B = QMessageBox.StandardButton  # noqa: N806
            answer = QMessageBox.question(self, APP_NAME,
                                          "Training is running. Stop it and close?",
                                          B.Yes | B.No, B.No)
            if answer != B.Yes:
                event.ignore()
                return
        if not self.maybe_save():
            event.ignore()
            return
        if running and not panel.stop_and_wait(15000):
            self.show_message("training did not stop in time; try again")
            event.ignore()
            return
        self.wait_for_workers()
        _call(getattr(self, "predict_view", None), "shutdown")  # ends the inference process
        self._clear_autosave()
        self._save_settings()
        event.accept()


def _call(obj: Any, name: str) -> Any:
    fn = getattr(obj, name, None)
    try:
        return fn() if callable(fn) else None
    except Exception:  # noqa: BLE001
        return None


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("KerasPlayground")
    return app  # type: ignore[return-value]
