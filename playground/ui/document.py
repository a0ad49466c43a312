"""The open document: the graph, its file, its undo stack and its latest analysis.

Views subscribe to two Qt signals: ``graph_changed(kind, details)`` (forwarded synchronously from
``graph.changed`` so items appear/disappear at once) and ``analyzed(analysis)`` (after re-validation).
Bursts of change events (a paste, an undo of a compound command) are coalesced with a zero-delay
single-shot timer, so the checker runs once per burst with ONE ``Checker`` whose memo makes a
re-check after a single edit cheap.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from playground.core import disk_stamp
from playground.core.errors import PlaygroundError
from playground.core.graph import Graph
from playground.core.shapes import Analysis, Checker
from playground.ui.undo import CoreUndoCommand


class Document(QObject):
    graph_changed = Signal(str, dict)
    analyzed = Signal(object)
    reset = Signal()              # a different graph was loaded: rebuild everything
    modified_changed = Signal(bool)
    path_changed = Signal()

    def __init__(self, graph: Graph | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(lambda _clean: self._emit_modified())
        self.checker = Checker()
        self.graph: Graph = Graph()
        self.path: Path | None = None
        self.display_name = "Untitled"
        self.key = uuid.uuid4().hex       # autosave slot of this editing session
        self._dirty_without_undo = False  # e.g. recovered from an autosave
        self._stale = True
        self.analysis: Analysis = self.checker.analyze(self.graph)
        self.last_check_ms = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.revalidate)
        self.set_graph(graph or Graph(), None)

    # ------------------------------------------------------------------ document
    def set_graph(self, graph: Graph, path: str | Path | None, display_name: str | None = None,
                  dirty: bool = False) -> None:
        """Show another graph (new/open/preset/recovery): clears undo history."""
        self.graph.changed.unsubscribe(self._on_graph_event)
        self.graph = graph
        self.graph.changed.subscribe(self._on_graph_event)
        self.path = Path(path) if path else None
        # What the file held when we read it: a later save checks nobody wrote it since.
        self.disk_stamp = disk_stamp.take(self.path) if self.path else None
        self.display_name = display_name or (self.path.name if self.path else "Untitled")
        self.key = uuid.uuid4().hex
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self._dirty_without_undo = dirty
        self._stale = True
        self.revalidate()
        self.reset.emit()
        self.path_changed.emit()
        self._emit_modified()

    def is_modified(self) -> bool:
        return self._dirty_without_undo or not self.undo_stack.isClean()

    def mark_saved(self, path: str | Path) -> None:
        self.path = Path(path)
        self.disk_stamp = disk_stamp.take(self.path)
        self.display_name = self.path.name
        self._dirty_without_undo = False
        self.undo_stack.setClean()
        self.path_changed.emit()
        self._emit_modified()

    def _emit_modified(self) -> None:
        try:
            modified = self.is_modified()
        except RuntimeError:
            # Qt's ~QUndoStack clears the stack and emits cleanChanged while the wrapper is
            # already gone (a window with unsaved edits being destroyed): nothing to update.
            return
        self.modified_changed.emit(modified)

    # ------------------------------------------------------------------- editing
    def push(self, command: Any) -> str | None:
        """Run a core command and put it on the undo stack.

        Returns None on success, or the refusal's message (cycle, arity, bad id...), in which
        case nothing changed and nothing was pushed.
        """
        try:
            command.do(self.graph)
        except PlaygroundError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug in one edit must not end the session
            return f"the edit failed ({type(exc).__name__}: {exc}); nothing was changed"
        self.undo_stack.push(CoreUndoCommand(self.graph, command, already_done=True))
        return None

    # ---------------------------------------------------------------- validation
    def _on_graph_event(self, kind: str, **details: Any) -> None:
        self._stale = True
        if not self._timer.isActive():
            self._timer.start()
        self.graph_changed.emit(kind, details)

    def revalidate(self) -> Analysis:
        self._timer.stop()
        started = time.perf_counter()
        self.analysis = self.checker.analyze(self.graph)
        self.last_check_ms = (time.perf_counter() - started) * 1000.0
        self._stale = False
        self.analyzed.emit(self.analysis)
        return self.analysis

    def current_analysis(self) -> Analysis:
        """The analysis of the graph as it is now (runs the checker if an edit is pending)."""
        return self.revalidate() if self._stale else self.analysis
