"""PySide6 6.12 on Python 3.11 drops references to None/True on void calls and signal emits.

pyproject.toml pins PySide6 below 6.12; ``immortalize_none`` guards environments that bring an
affected PySide6 anyway. Either way, thousands of void Qt calls and emits must not drain the
singletons' reference counts (the interpreter would abort with none_dealloc/bool_dealloc).
"""

from __future__ import annotations

import sys

import PySide6
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPainter

from playground.ui._compat import immortalize_none


class _Emitter(QObject):
    fired = Signal(int)


def test_singletons_survive_many_void_calls_and_emits(qapp):
    applied = immortalize_none()
    affected = sys.version_info < (3, 12) and tuple(PySide6.__version_info__[:2]) >= (6, 12)
    assert applied == affected
    before = {v: sys.getrefcount(v) for v in (None, True, False)}
    image = QImage(16, 16, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    emitter = _Emitter()
    emitter.fired.connect(lambda value: None)
    for i in range(10_000):
        painter.setPen(painter.pen())   # a void call
        emitter.fired.emit(i)
    painter.end()
    for value, count in before.items():
        # Without the pin or the guard, 6.12 loses one reference per call here.
        assert sys.getrefcount(value) > count - 1_000, value
