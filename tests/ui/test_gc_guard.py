"""The GUI-thread collector freezes the survivors of a slow pass (a big library's heap)."""

from __future__ import annotations

import gc

from playground.ui import gc_guard


def test_a_slow_pass_freezes_the_survivors_and_a_quick_one_does_not():
    before = gc_guard.freezes
    try:
        assert gc_guard.freeze_after_slow_pass(0.001) is False
        assert gc_guard.freezes == before
        assert gc_guard.freeze_after_slow_pass(gc_guard.SLOW_PASS_S + 0.1) is True
        assert gc_guard.freezes == before + 1 and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_gui_collector_times_each_pass(qapp, monkeypatch):
    seen: list[float] = []
    monkeypatch.setattr(gc_guard, "freeze_after_slow_pass", seen.append)
    gc_guard.ensure_gui_thread_gc()
    gc_guard._collector.check()
    assert len(seen) == 1 and 0.0 <= seen[0] < 5.0
