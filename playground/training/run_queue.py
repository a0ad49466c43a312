"""Several training runs one after another: the same graph with three learning rates, or three
graphs on one dataset. Each is a :class:`TrainingSession` (its own child process and run folder),
so the Runs tab compares them like any other runs; only one trains at a time, because two would
share the same cores and memory and both run slower than one after the other.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from playground.core.graph import Graph
from playground.training.config import RunConfig
from playground.training.session import ENDED, TrainingSession


class RunQueue:
    def __init__(self) -> None:
        self.sessions: list[TrainingSession] = []
        self._cancelled = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add(self, graph_or_path: Graph | str | os.PathLike[str],
            config: dict[str, Any] | RunConfig, run_dir: str | os.PathLike[str] | None = None,
            **run_kwargs: Any) -> TrainingSession:
        """Queue a run (its settings are validated now); it starts when the ones before it end."""
        session = TrainingSession(graph_or_path, config, run_dir, **run_kwargs)
        with self._lock:
            self.sessions.append(session)
        return session

    def start(self) -> RunQueue:
        """Run the queued sessions one after another, in a background thread; returns at once."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="playground-run-queue",
                                            daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        index = 0
        while True:
            with self._lock:
                if self._cancelled or index >= len(self.sessions):
                    return
                session = self.sessions[index]
            session.start()
            while not session.wait(0.2):
                pass
            index += 1

    @property
    def current(self) -> TrainingSession | None:
        """The session training now (None between runs and at the end)."""
        for session in self.sessions:
            if session.state not in ENDED and session.state != "ready":
                return session
        return None

    @property
    def pending(self) -> list[TrainingSession]:
        return [s for s in self.sessions if s.state == "ready"]

    def stop(self) -> None:
        """Stop the run in progress and cancel the ones not started yet."""
        with self._lock:
            self._cancelled = True
        current = self.current
        if current is not None:
            current.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every run has ended (or the queue was stopped); True when it has."""
        if self._thread is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        for session in self.sessions:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not session.wait(left):
                return False
        return True
