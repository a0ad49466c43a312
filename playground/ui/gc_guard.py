"""Python's cycle collector must run on the GUI thread.

The training worker and the export/import jobs run Python on other threads. If the cycle collector
happens to run there, it can free a Qt widget (a closed dialog, a menu of an old window) off the GUI
thread: Qt then deadlocks or crashes (seen: QMenu destroyed by a GC pass triggered while the
training thread traced its train step, while the GUI thread destroyed a sibling). pyqtgraph's
GarbageCollector disables automatic collection and collects from a GUI-thread timer instead.
"""

from __future__ import annotations

import gc
import time
from typing import Any

_collector: Any = None
SLOW_PASS_S = 0.05     # a collection this long means a big library's objects are in the heap
freezes = 0            # how often the survivors were frozen (tests)


def freeze_after_slow_pass(seconds: float) -> bool:
    """After a collector pass that took ``seconds``: when it was slow, move every object alive
    now to the permanent generation (``gc.freeze``); True when it did.

    A slow pass means a big library's module-level objects are in the heap (TensorFlow and
    Keras: ~0.5 million, ~0.7 s per full pass on the GUI thread, when an export or an import
    check loads them into the editor). They survived a full pass, so they are long-lived;
    after the freeze a pass takes milliseconds again. The price: cyclic garbage alive at this
    moment is never collected (a few MB at most). Inference itself runs in its own process
    (``playground.inspect.service``), so the editor rarely holds such a heap at all."""
    global freezes
    if seconds < SLOW_PASS_S:
        return False
    gc.freeze()
    freezes += 1
    return True


def ensure_gui_thread_gc(interval_s: float = 0.5) -> None:
    """Idempotent; call from the GUI thread before starting any Python worker thread."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        class _Collector(GarbageCollector):
            def check(self) -> None:
                start = time.perf_counter()
                super().check()
                freeze_after_slow_pass(time.perf_counter() - start)

        _collector = _Collector(interval=interval_s)
