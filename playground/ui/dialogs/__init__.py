"""Small dialogs of the editor: open preset, retarget, keyboard shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

PATH_ROLE = Qt.ItemDataRole.UserRole + 3


class PresetDialog(QDialog):
    """Lists the bundled presets (year, name, description) in the order given (lecture order from
    ``list_presets``); the chosen one opens as an untitled copy."""

    def __init__(self, presets, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open Preset")
        self.resize(560, 420)
        self.list = QListWidget(self)
        for info in presets:
            year = getattr(info, "year", None)
            item = QListWidgetItem((f"{year}  " if year else "") + f"{info.name}  ({info.key})")
            item.setData(PATH_ROLE, str(info.path))
            item.setToolTip(info.description or info.name)
            self.list.addItem(item)
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setMinimumHeight(60)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if not presets:
            layout.addWidget(QLabel("No presets found (see the presets/ folder)."))
        layout.addWidget(self.list)
        layout.addWidget(self.description)
        layout.addWidget(buttons)
        self.list.currentItemChanged.connect(
            lambda item, _prev: self.description.setText(item.toolTip() if item else ""))
        self.list.itemDoubleClicked.connect(lambda _i: self.accept())
        if presets:
            self.list.setCurrentRow(0)

    def selected_path(self) -> str | None:
        item = self.list.currentItem()
        return item.data(PATH_ROLE) if item else None


class RetargetDialog(QDialog):
    """A new input shape and class count, applied as one undo step."""

    def __init__(self, shape: list[int] | None, classes: int | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Retarget")
        self.shape_edit = QLineEdit(", ".join(str(d) for d in shape) if shape else "")
        self.shape_edit.setPlaceholderText("H, W, C  e.g. 32, 32, 3")
        self.classes = QSpinBox()
        self.classes.setRange(0, 1_000_000)
        self.classes.setSpecialValueText("unchanged")
        self.classes.setValue(classes or 0)
        form = QFormLayout()
        form.addRow("Input shape", self.shape_edit)
        form.addRow("Classes", self.classes)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> tuple[str, int | None]:
        return self.shape_edit.text().strip(), (self.classes.value() or None)


class ShortcutsDialog(QDialog):
    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(460, 520)
        text = QTextBrowser(self)
        text.setHtml("<table cellpadding='3'>" + "".join(
            f"<tr><td><b>{key}</b></td><td>{what}</td></tr>" for key, what in rows)
            + "</table>")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
