"""``QUndoCommand`` adapter around the pure core commands (``playground.core.commands``).

The adapter holds no view state: redo/undo only call the core command on the graph, and the views
follow the graph's change events. A command is executed once *before* it is pushed (so a refused
edit, e.g. a cycle, raises and never reaches the stack); the stack's first ``redo()`` is skipped.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand

from playground.core.graph import Graph


def _kind_id(command: Any) -> int:
    """The core command's ``merge_id`` (>= 0 for mergeable kinds) or -1: QUndoStack asks
    ``mergeWith`` only between commands with the same non-negative id."""
    merge_id = getattr(command, "merge_id", -1)
    if isinstance(merge_id, int) and merge_id >= 0:
        return 1000 + merge_id
    return -1


class CoreUndoCommand(QUndoCommand):
    def __init__(self, graph: Graph, command: Any, already_done: bool = True) -> None:
        super().__init__(str(getattr(command, "text", "") or type(command).__name__))
        self.graph = graph
        self.command = command
        self._skip_redo = already_done

    def id(self) -> int:  # noqa: A003 - Qt's name
        return _kind_id(self.command)

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self.command.do(self.graph)

    def undo(self) -> None:
        self.command.undo(self.graph)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, CoreUndoCommand) or other.graph is not self.graph:
            return False
        try:
            merged = bool(self.command.merge(other.command))
        except Exception:  # noqa: BLE001 - a merge failure just keeps two undo steps
            return False
        if merged:
            self.setText(str(getattr(self.command, "text", self.text())))
        return merged
