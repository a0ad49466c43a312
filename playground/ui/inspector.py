"""The inspector: the selected node's id, freeze toggle, params (one fitting widget each, every
change an undoable ``SetParam``), help from the catalogue, and what the checker says about it:
output shape, params, MACs, receptive field, problems.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from playground.blocks import get_spec
from playground.core.graph import MISSING
from playground.ui import themes
from playground.ui.document import Document
from playground.ui.editing import Editor
from playground.ui.formatting import grouped, human_bytes, shape_text
from playground.ui.param_widgets import ParamEditor, editor_for


class Inspector(QScrollArea):
    def __init__(self, doc: Document, editor: Editor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.editor = editor
        self.node_id: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.setWidgetResizable(True)
        self.setMinimumWidth(260)
        doc.graph_changed.connect(self._on_graph_changed)
        doc.analyzed.connect(lambda _a: self._refresh_themed())
        doc.reset.connect(lambda: self.show_node(None))
        self.show_node(None)

    # ------------------------------------------------------------------ building
    def show_node(self, node_id: str | None) -> None:
        if node_id is not None and node_id not in self.doc.graph:
            node_id = None
        self.node_id = node_id
        self.editors = {}
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 8)
        self.body = body
        if node_id is None:
            hint = QLabel("Select a node to edit its parameters.\n\nDrag blocks from the "
                          "palette onto the canvas; drag from an output port (right) to an "
                          "input port (left) to connect.")
            hint.setWordWrap(True)
            hint.setObjectName("hint")
            layout.addWidget(hint)
            layout.addStretch(1)
            self.setWidget(body)
            self.title = self.id_edit = self.frozen_box = self.info = self.problems = None
            return
        node = self.doc.graph.node(node_id)
        spec = get_spec(node.type)
        self.title = QLabel(f"<b>{spec.label if spec else node.type}</b> "
                            f"<span style='color:{themes.current().subtext}'>({node.type})</span>")
        layout.addWidget(self.title)
        if spec is not None and spec.help:
            help_label = QLabel(spec.help)
            help_label.setWordWrap(True)
            help_label.setObjectName("help")
            layout.addWidget(help_label)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.id_edit = QLineEdit(node.id)
        self.id_edit.setToolTip("The node id becomes the Keras layer name.")
        self.id_edit.editingFinished.connect(self._rename)
        form.addRow("id", self.id_edit)
        self.frozen_box = QCheckBox("frozen (weights not trained)")
        self.frozen_box.setChecked(not node.trainable)
        self.frozen_box.toggled.connect(self._toggle_frozen)
        form.addRow("", self.frozen_box)
        layout.addLayout(form)

        if spec is not None and spec.params:
            line = QFrame()
            line.setFrameShape(QFrame.Shape.HLine)
            layout.addWidget(line)
            pform = QFormLayout()
            pform.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for param in spec.params:
                editor = editor_for(param)
                editor.set_value(node.params.get(param.name, param.default))
                editor.edited.connect(lambda value, key=param.name: self._edited(key, value))
                label = QLabel(param.name)
                label.setToolTip(param.help)
                pform.addRow(label, editor)
                self.editors[param.name] = editor
            layout.addLayout(pform)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        layout.addWidget(line)
        self.info = QLabel()
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.info)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setObjectName("problems")
        layout.addWidget(self.problems)
        layout.addStretch(1)
        self.setWidget(body)
        self._refresh_themed()

    # ------------------------------------------------------------------- edits
    def _edited(self, key: str, value: Any) -> None:
        if self.node_id is None:
            return
        node = self.doc.graph.node(self.node_id)
        spec = get_spec(node.type)
        # Back to the default: remove the key, so files stay minimal and Keras' default applies.
        if spec is not None and value == spec.param(key).default and key != "shape":
            value = MISSING if key in node.params else None
            if value is None:
                return
        if node.params.get(key, MISSING) == value:
            return
        self.editor.set_param(self.node_id, key, value)

    def _rename(self) -> None:
        if self.node_id is None or self.id_edit is None:
            return
        new = self.id_edit.text().strip()
        if new and new != self.node_id:
            if not self.editor.rename(self.node_id, new):
                self.id_edit.setText(self.node_id)

    def _toggle_frozen(self, frozen: bool) -> None:
        if self.node_id is not None:
            self.editor.set_trainable([self.node_id], not frozen)

    # ----------------------------------------------------------------- mirroring
    def _on_graph_changed(self, kind: str, details: dict) -> None:
        if self.node_id is None:
            return
        if kind == "renamed" and details.get("old") == self.node_id:
            self.node_id = details["new"]
            if self.id_edit is not None:
                self.id_edit.setText(self.node_id)
            return
        if kind == "node_removed" and details.get("node_id") == self.node_id:
            self.show_node(None)
            return
        if details.get("node_id") != self.node_id or self.node_id not in self.doc.graph:
            return
        node = self.doc.graph.node(self.node_id)
        if kind == "params_changed":
            spec = get_spec(node.type)
            for name, editor in self.editors.items():
                default = spec.param(name).default if spec else None
                editor.set_value(node.params.get(name, default))
        elif kind == "trainable_changed" and self.frozen_box is not None:
            self.frozen_box.blockSignals(True)
            self.frozen_box.setChecked(not node.trainable)
            self.frozen_box.blockSignals(False)

    def _refresh_themed(self) -> None:
        """The figures, then the problem line in the theme's error/warning colour (AA on the
        theme's background, dark or light)."""
        self._refresh_info()
        report = self.doc.analysis.nodes.get(self.node_id) if self.node_id else None
        if self.problems is not None and report is not None:
            theme = themes.current()
            self.problems.setStyleSheet(f"color:{theme.error if report.has_error else theme.warning}")

    def _refresh_info(self) -> None:
        if self.node_id is None or self.info is None:
            return
        report = self.doc.analysis.nodes.get(self.node_id)
        if report is None:
            self.info.setText("")
            return
        rows = [
            ("output", shape_text(report.shape)),
            ("params", grouped(report.params)),
            ("trainable", grouped(report.trainable_params)),
            ("MACs", grouped(report.macs)),
            ("memory/sample", human_bytes(report.memory_bytes)),
        ]
        if report.rf_size is not None:
            rows.append(("receptive field",
                         f"{report.rf_size[0]:g}\u00d7{report.rf_size[1]:g} px"
                         + (f" (jump {report.rf_jump[0]:g})" if report.rf_jump else "")))
        if report.inner:
            rows.append(("layers inside", str(len(report.inner))))
        self.info.setText("<table>" + "".join(
            f"<tr><td style='color:{themes.current().subtext};padding-right:10px'>{k}</td>"
            f"<td>{v}</td></tr>"
            for k, v in rows) + "</table>")
        if self.problems is not None:
            self.problems.setText("\n".join(f"{p.severity}: {p.message}"
                                            for p in report.problems))
            self.problems.setStyleSheet("color:#ff6b6b" if report.has_error else
                                        "color:#e0b000")


class InspectorTabs(QTabWidget):
    """The inspector dock's two tabs: "Parameters" (the ``Inspector``) and "Explain" (the
    arithmetic behind the selected node's numbers, ``ExplainView``). Both follow the selection."""

    def __init__(self, inspector: Inspector, parent: QWidget | None = None) -> None:
        from playground.ui.explain_view import ExplainView

        super().__init__(parent)
        self.setObjectName("inspectorTabs")
        self.setDocumentMode(True)   # no pane frame: the dock already frames it
        self.inspector = inspector
        self.explain = ExplainView(inspector.doc, self)
        self.addTab(inspector, "Parameters")
        self.addTab(self.explain, "Explain")

    def show_node(self, node_id: str | None) -> None:
        self.inspector.show_node(node_id)
        self.explain.show_node(node_id)

    def show_explain(self) -> None:
        self.setCurrentWidget(self.explain)
