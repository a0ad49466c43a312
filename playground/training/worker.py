"""A training run in a plain Python thread, reporting through a thread-safe queue.

Qt-free on purpose: the worker never touches widgets or emits Qt signals; the window drains
:meth:`TrainingWorker.drain` from a QTimer (10-30 Hz) on the UI thread. Every live worker thread
is registered so the test-suite fixture (and the window's close handler) can find and stop them.
"""

from __future__ import annotations

import queue
import threading
import weakref
from typing import Any

from playground.core.graph import Graph
from playground.training.config import RunConfig

_LIVE: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_LIVE_WORKERS: weakref.WeakSet[TrainingWorker] = weakref.WeakSet()


def live_threads() -> list[threading.Thread]:
    """Training threads still running (used by tests/conftest.py's leak check)."""
    return [t for t in list(_LIVE) if t.is_alive()]


def stop_all(timeout: float = 30.0) -> int:
    """Ask every live worker to stop and wait for it; returns how many were running."""
    workers = [w for w in list(_LIVE_WORKERS) if w.is_running()]
    for worker in workers:
        worker.request_stop()
    for worker in workers:
        worker.join(timeout)
    others = [t for t in live_threads() if all(t is not w.thread for w in workers)]
    for thread in others:
        thread.join(timeout)
    return len(workers) + len(others)


class TrainingWorker:
    """Runs :func:`playground.training.runner.run_training` on a copy of the graph."""

    def __init__(self, graph: Graph, config: RunConfig, **run_kwargs: Any) -> None:
        self.graph = graph.copy()
        self.config = config
        self.run_kwargs = run_kwargs
        self.events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.stop_event = threading.Event()
        self.result: Any = None
        self.thread = threading.Thread(target=self._main, name="playground-training",
                                       daemon=True)

    def start(self) -> None:
        _LIVE.add(self.thread)
        _LIVE_WORKERS.add(self)
        self.thread.start()

    def _main(self) -> None:
        from playground.training.runner import run_training

        try:
            self.result = run_training(self.graph, self.config, sink=self.events.put,
                                       stop=self.stop_event, **self.run_kwargs)
        except BaseException as exc:  # noqa: BLE001 - run_training reports; this is a last net
            self.events.put({"kind": "done", "status": "error",
                             "message": f"{type(exc).__name__}: {exc}", "history": [],
                             "evaluation": None, "run_dir": None})

    def request_stop(self) -> None:
        """Stop at the end of the current batch (``model.stop_training``); weights are kept."""
        self.stop_event.set()

    def is_running(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        if self.thread.ident is None:
            return True
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def drain(self, limit: int = 100_000) -> list[dict[str, Any]]:
        """Every event queued so far (called on the UI thread by a timer)."""
        from playground.training.events import drain_queue

        return drain_queue(self.events, limit)


class BackgroundJob:
    """Any short function (export, dataset preview) on a registered Python thread; the UI polls
    :attr:`done` from its timer and reads :attr:`result` or :attr:`error`."""

    def __init__(self, fn: Any, name: str = "playground-job") -> None:
        self.fn = fn
        self.result: Any = None
        self.error: str | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> BackgroundJob:
        _LIVE.add(self.thread)
        self.thread.start()
        return self

    def _main(self) -> None:
        from playground.core.errors import PlaygroundError

        try:
            self.result = self.fn()
        except PlaygroundError as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported in the UI, never a crash
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()

    def join(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()
