"""Work-around for PySide6 6.12 on Python 3.11: every call of a void Qt method drops one
reference to ``None``.

PySide6 6.12's generated wrappers return ``Py_None`` without a new reference, which is only
harmless on Python >= 3.12 where ``None`` is immortal (PEP 683). On 3.11 each ``QPainter`` call in
a ``paint()`` override costs one reference; after a few hundred repaints ``None``'s count reaches
zero and the interpreter aborts with "Fatal Python error: none_dealloc" (measured: a 25-node
canvas repaint drops ~530 references). Giving ``None`` a huge extra count makes it effectively
immortal, exactly what 3.12 does; nothing ever frees ``None``, so this changes no behaviour.

``True`` and ``False`` suffer the same way: every ``Signal.emit`` from Python drops one reference
to ``True`` (its return value), so a few thousand edits, analyses or training events abort the
interpreter with "Fatal Python error: bool_dealloc". They get the same treatment.
"""

from __future__ import annotations

import ctypes
import sys

_EXTRA = 1 << 40  # ~1e12 leaked decrements before trouble: hours of painting at any rate


def immortalize_none() -> bool:
    """Add ``_EXTRA`` references to ``None``, ``True`` and ``False`` on CPython < 3.12 with an
    affected PySide6 (6.12 and later; pyproject.toml pins below 6.12, so this is a guard for
    environments that bring their own Qt); True if it did."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    import PySide6

    if tuple(PySide6.__version_info__[:2]) < (6, 12):
        return False
    for singleton in (None, True, False):
        refcnt = ctypes.c_ssize_t.from_address(id(singleton))  # PyObject's first field
        if refcnt.value < _EXTRA // 2:
            refcnt.value += _EXTRA
    return True
