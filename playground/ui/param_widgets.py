"""One editor widget per ``Param`` kind (spin boxes with the declared ranges, combo boxes for
choices, a height/width pair, check boxes, text for lists).

Each editor emits ``edited(value)`` with a JSON-ready value when the user commits a change, and
takes ``set_value(raw)`` to mirror the model without emitting (undo/redo updates the form).
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from playground.blocks.spec import ACTIVATIONS, Param

INT_MAX = 2_147_483_647


def _int_range(p: Param) -> tuple[int, int]:
    lo = int(p.minimum) if p.minimum is not None else -INT_MAX
    hi = int(p.maximum) if p.maximum is not None else INT_MAX
    if p.exclusive_max and p.maximum is not None:
        hi -= 1
    return max(lo, -INT_MAX), min(hi, INT_MAX)


class ParamEditor(QWidget):
    edited = Signal(object)

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setToolTip(param.help)

    def set_value(self, raw: Any) -> None:
        raise NotImplementedError

    def _emit(self, value: Any) -> None:
        self.edited.emit(value)


class IntEditor(ParamEditor):
    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.spin = QSpinBox(self)
        lo, hi = _int_range(param)
        self.spin.setRange(lo, hi)
        self.spin.setKeyboardTracking(False)
        self.spin.setAccelerated(True)
        self._layout.addWidget(self.spin)
        self.spin.valueChanged.connect(lambda v: self._emit(int(v)))

    def set_value(self, raw: Any) -> None:
        self.spin.blockSignals(True)
        if isinstance(raw, int) and not isinstance(raw, bool):
            self.spin.setValue(raw)
        self.spin.blockSignals(False)


class FloatEditor(ParamEditor):
    """A number; nullable params get a 'none' check box (e.g. ReLU's max_value)."""

    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.spin = QDoubleSpinBox(self)
        self.spin.setDecimals(6)
        lo = param.minimum if param.minimum is not None else -1e9
        hi = param.maximum if param.maximum is not None else 1e9
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(0.1 if hi - lo > 2 else 0.01)
        self.spin.setKeyboardTracking(False)
        self._layout.addWidget(self.spin, 1)
        self.none_box: QCheckBox | None = None
        if param.nullable:
            self.none_box = QCheckBox("none", self)
            self._layout.addWidget(self.none_box)
            self.none_box.toggled.connect(self._none_toggled)
        self.spin.valueChanged.connect(lambda v: self._emit(float(v)))

    def _none_toggled(self, checked: bool) -> None:
        self.spin.setEnabled(not checked)
        self._emit(None if checked else float(self.spin.value()))

    def set_value(self, raw: Any) -> None:
        self.spin.blockSignals(True)
        if self.none_box is not None:
            self.none_box.blockSignals(True)
            self.none_box.setChecked(raw is None)
            self.spin.setEnabled(raw is not None)
            self.none_box.blockSignals(False)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            self.spin.setValue(float(raw))
        self.spin.blockSignals(False)


class BoolEditor(ParamEditor):
    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.box = QCheckBox(self)
        self._layout.addWidget(self.box)
        self.box.toggled.connect(lambda v: self._emit(bool(v)))

    def set_value(self, raw: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(raw))
        self.box.blockSignals(False)


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.combo = QComboBox(self)
        choices = ACTIVATIONS if param.kind == "activation" else param.choices
        for c in choices:
            self.combo.addItem(str(c), c)
        self._layout.addWidget(self.combo)
        self.combo.activated.connect(lambda i: self._emit(self.combo.itemData(i)))

    def set_value(self, raw: Any) -> None:
        self.combo.blockSignals(True)
        index = self.combo.findData(raw if raw is not None else "linear")
        if index < 0 and raw is not None:
            self.combo.addItem(f"{raw} (invalid)", raw)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)


class PairEditor(ParamEditor):
    """``[h, w]`` as two spin boxes; writes an int when both are equal (Keras' usual form)."""

    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        lo, hi = _int_range(param)
        self.h = QSpinBox(self)
        self.w = QSpinBox(self)
        for spin in (self.h, self.w):
            spin.setRange(lo, hi)
            spin.setKeyboardTracking(False)
        self._layout.addWidget(self.h, 1)
        self._layout.addWidget(QLabel("\u00d7", self))
        self._layout.addWidget(self.w, 1)
        self.none_box: QCheckBox | None = None
        if param.nullable:
            self.none_box = QCheckBox("default", self)
            self.none_box.setToolTip("leave unset (Keras' default, e.g. strides = pool size)")
            self._layout.addWidget(self.none_box)
            self.none_box.toggled.connect(lambda _c: self._commit())
        self.h.valueChanged.connect(lambda _v: self._commit())
        self.w.valueChanged.connect(lambda _v: self._commit())

    def _commit(self) -> None:
        if self.none_box is not None and self.none_box.isChecked():
            self.h.setEnabled(False)
            self.w.setEnabled(False)
            self._emit(None)
            return
        self.h.setEnabled(True)
        self.w.setEnabled(True)
        h, w = int(self.h.value()), int(self.w.value())
        self._emit(h if h == w else [h, w])

    def set_value(self, raw: Any) -> None:
        for widget in (self.h, self.w, self.none_box):
            if widget is not None:
                widget.blockSignals(True)
        if self.none_box is not None:
            self.none_box.setChecked(raw is None)
            self.h.setEnabled(raw is not None)
            self.w.setEnabled(raw is not None)
        if isinstance(raw, int) and not isinstance(raw, bool):
            self.h.setValue(raw)
            self.w.setValue(raw)
        elif isinstance(raw, list | tuple) and len(raw) == 2 and all(
                isinstance(v, int) for v in raw):
            self.h.setValue(raw[0])
            self.w.setValue(raw[1])
        for widget in (self.h, self.w, self.none_box):
            if widget is not None:
                widget.blockSignals(False)


class TextEditor(ParamEditor):
    """Lists and paddings as text: ``32, 32, 3`` or ``[[1, 1], [2, 2]]`` (JSON also accepted).

    Unparseable text is sent as-is so the checker names the problem on the node, rather than the
    form silently dropping what the user typed.
    """

    def __init__(self, param: Param, parent=None) -> None:
        super().__init__(param, parent)
        self.edit = QLineEdit(self)
        placeholder = {"shape": "H, W, C", "int_list": "e.g. -1 or 7, 7, 512",
                       "pad2": "n, or h, w, or [[top, bottom], [left, right]]"}
        self.edit.setPlaceholderText(placeholder.get(param.kind, ""))
        self._layout.addWidget(self.edit)
        self.edit.editingFinished.connect(self._commit)
        self._last: Any = object()

    @staticmethod
    def parse(text: str) -> Any:
        text = text.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            pass
        try:
            parts = [int(p) for p in text.replace("x", ",").split(",") if p.strip()]
        except ValueError:
            return text
        return parts[0] if len(parts) == 1 else parts

    def _commit(self) -> None:
        value = self.parse(self.edit.text())
        if self.param.kind in ("shape", "int_list") and isinstance(value, int):
            value = [value]
        if value == self._last:
            return
        self._last = value
        self._emit(value)

    def set_value(self, raw: Any) -> None:
        self._last = raw
        self.edit.blockSignals(True)
        if isinstance(raw, list | tuple) and all(isinstance(v, int) for v in raw):
            self.edit.setText(", ".join(str(v) for v in raw))
        elif raw is None:
            self.edit.setText("")
        else:
            self.edit.setText(json.dumps(raw) if not isinstance(raw, str) else raw)
        self.edit.blockSignals(False)


def editor_for(param: Param, parent: QWidget | None = None) -> ParamEditor:
    kind = param.kind
    if kind == "int":
        return IntEditor(param, parent)
    if kind == "float":
        return FloatEditor(param, parent)
    if kind == "bool":
        return BoolEditor(param, parent)
    if kind in ("choice", "activation"):
        return ChoiceEditor(param, parent)
    if kind == "pair":
        return PairEditor(param, parent)
    return TextEditor(param, parent)
