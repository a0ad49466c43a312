"""The PySide6 6.12 / Python 3.11 work-around: painting must not drain None's reference count."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtGui import QImage, QPainter

from playground.ui._compat import immortalize_none


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal on 3.12+")
def test_none_survives_many_void_qt_calls(qapp):
    assert immortalize_none()
    before = sys.getrefcount(None)
    assert before > 2**39
    image = QImage(16, 16, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    for _ in range(10_000):
        painter.setPen(None or painter.pen())   # a void call: PySide6 6.12 drops a reference
    painter.end()
    after = sys.getrefcount(None)
    assert after > 2**39            # still effectively immortal
    assert before - after < 50_000  # and the leak is bounded by the calls made
