"""Python's cycle collector must run on the GUI thread.

The training worker and the export/import jobs run Python on other threads. If the cycle collector
happens to run there, it can free a Qt widget (a closed dialog, a menu of an old window) off the GUI
thread: Qt then deadlocks or crashes (seen: QMenu destroyed by a GC pass triggered while the
training thread traced its train step, while the GUI thread destroyed a sibling). pyqtgraph's
GarbageCollector disables automatic collection and collects from a GUI-thread timer instead.
"""

from __future__ import annotations

from typing import Any

_collector: Any = None


def ensure_gui_thread_gc(interval_s: float = 0.5) -> None:
    """Idempotent; call from the GUI thread before starting any Python worker thread."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=interval_s)
