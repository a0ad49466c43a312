"""Undo commands: small do/undo pairs that only call ``Graph`` methods (Orange canvas style).

The editor wraps each command in a ``QUndoCommand``; nothing here knows Qt. A command records
what it needs for ``undo`` while it runs ``do``, so ``do`` / ``undo`` / ``do`` always leaves the
same document (byte-identical ``fileformat.dumps``). Commands never push other commands, and a
``do`` that raises (a cycle, a missing node) leaves the graph untouched, so the caller shows the
message and simply does not push the command.

``UndoStack`` is a tiny Qt-free history with the same semantics as ``QUndoStack`` (merge, clean
index) so the CLI, scripts and tests can edit graphs with undo too.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from typing import Any

from playground.core.errors import GraphEditError
from playground.core.graph import MISSING, Edge, Graph, Node

Pos = tuple[float, float]


class Command:
    """Base of every edit. ``text`` is what the Edit menu shows ("Undo Add Conv2D")."""

    text: str = ""
    # Commands with the same non-negative ``merge_id`` may absorb each other (QUndoCommand.id()).
    merge_id: int = -1

    def do(self, graph: Graph) -> None:
        raise NotImplementedError

    def undo(self, graph: Graph) -> None:
        raise NotImplementedError

    def merge(self, other: Command) -> bool:
        """Absorb ``other`` (already done) into this one; True if it did (one undo step)."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.text!r}>"


def _what(ids: Sequence[str]) -> str:
    return ids[0] if len(ids) == 1 else f"{len(ids)} nodes"


# --------------------------------------------------------------------------- nodes
class AddNode(Command):
    """Add one node. The graph gets a copy, so the caller's ``Node`` is never aliased."""

    def __init__(self, node: Node, index: int | None = None) -> None:
        self.node = node.clone()
        self.index = index
        self.text = f"Add {node.type}"

    def do(self, graph: Graph) -> None:
        graph.add_node(self.node.clone(), index=self.index)

    def undo(self, graph: Graph) -> None:
        graph.remove_node(self.node.id)


class RemoveNodes(Command):
    """Delete nodes with their edges; undo puts nodes and edges back at their old positions
    (node order and edge order, hence every node's input order, are restored exactly)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = list(dict.fromkeys(ids))
        self._removed: list[tuple[int, Node, list[tuple[int, Edge]]]] = []
        self.text = f"Delete {_what(self.ids)}"

    def do(self, graph: Graph) -> None:
        for nid in self.ids:  # check first: a missing id must not leave a half-done delete
            graph.node(nid)
        self._removed = []
        for nid in self.ids:
            index = graph.node_index(nid)
            node, edges = graph.remove_node(nid)
            self._removed.append((index, node, edges))

    def undo(self, graph: Graph) -> None:
        for index, node, edges in reversed(self._removed):
            graph.restore_node(node, edges, index=index)
        self._removed = []


class RenameNode(Command):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new
        self.text = f"Rename {old} to {new}"

    def do(self, graph: Graph) -> None:
        graph.rename_node(self.old, self.new)

    def undo(self, graph: Graph) -> None:
        graph.rename_node(self.new, self.old)


# --------------------------------------------------------------------------- edges
class AddEdge(Command):
    """Connect ``src`` to ``dst`` (at edge-list position ``index``: input order matters), with
    the edge's unknown file keys ``extra`` (a pasted edge keeps its tool data).

    ``do`` raises ``CycleError``/``GraphEditError`` before changing anything.
    """

    def __init__(self, src: str, dst: str, index: int | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.src, self.dst, self.index = src, dst, index
        self.extra = copy.deepcopy(extra) if extra else {}
        self.text = f"Connect {src} -> {dst}"

    def _index(self) -> int | None:
        return self.index

    def do(self, graph: Graph) -> None:
        graph.add_edge(self.src, self.dst, index=self._index(), extra=self.extra)

    def undo(self, graph: Graph) -> None:
        graph.remove_edge(self.src, self.dst)


class RemoveEdge(Command):
    """Disconnect ``src -> dst``; undo puts the edge back at its position with its extra keys."""

    def __init__(self, src: str, dst: str) -> None:
        self.src, self.dst = src, dst
        self.index: int | None = None  # recorded by do()
        self.extra: dict[str, Any] = {}  # recorded by do()
        self.text = f"Disconnect {src} -> {dst}"

    def do(self, graph: Graph) -> None:
        edge = graph.edge(self.src, self.dst)  # GraphEditError before anything changes
        self.index = graph.remove_edge(self.src, self.dst)
        self.extra = edge.extra

    def undo(self, graph: Graph) -> None:
        graph.add_edge(self.src, self.dst, index=self.index, check_cycle=False, extra=self.extra)


class _AddEdgeWhere(AddEdge):
    """Add an edge at the position another ``RemoveEdge`` freed (known only once it ran), so
    replacing an edge keeps the destination's input order however the list shifted before."""

    def __init__(self, src: str, dst: str, removed: RemoveEdge) -> None:
        super().__init__(src, dst)
        self.removed = removed

    def _index(self) -> int | None:
        return self.removed.index


# -------------------------------------------------------------------------- params
class SetParam(Command):
    """Set one param (``MISSING`` resets it to the block's default). Consecutive edits of the
    same node and key merge into one undo step (typing in a spin box)."""

    merge_id = 1

    def __init__(self, node_id: str, key: str, value: Any) -> None:
        self.node_id, self.key, self.value = node_id, key, value
        self.old: Any = MISSING
        self._old_params: dict[str, Any] = {}
        # After a merge, the params object the merged edits left (its key order included), so a
        # redo gives back exactly that state rather than a reordering of it.
        self._merged_result: dict[str, Any] | None = None
        self.text = f"Set {node_id}.{key}"

    def do(self, graph: Graph) -> None:
        params = graph.node(self.node_id).params
        self.old = params.get(self.key, MISSING)
        self._old_params = dict(params)
        if self._merged_result is not None:
            graph.set_params(self.node_id, self._merged_result)
        else:
            graph.set_param(self.node_id, self.key, self.value)

    def undo(self, graph: Graph) -> None:
        keys = list(graph.node(self.node_id).params)
        old_keys = list(self._old_params)
        in_place = (self.old is MISSING
                    or (self.key in keys and keys.index(self.key) == old_keys.index(self.key)))
        if in_place:
            graph.set_param(self.node_id, self.key, self.old)
        else:
            # A reset removed the key (or a reset and a new value, merged into this step, put it
            # back at the end): restore the whole object so the key order, and so the saved
            # file, is exactly as before.
            graph.set_params(self.node_id, self._old_params)

    def merge(self, other: Command) -> bool:
        if (type(other) is SetParam and other.node_id == self.node_id
                and other.key == self.key):
            self.value = other.value
            result = dict(other._old_params)
            if other.value is MISSING:
                result.pop(self.key, None)
            else:
                result[self.key] = other.value
            self._merged_result = result
            return True
        return False


class SetParams(Command):
    """Replace a node's whole params object (like ``Graph.set_params``)."""

    def __init__(self, node_id: str, params: dict[str, Any]) -> None:
        self.node_id, self.params = node_id, dict(params)
        self.old: dict[str, Any] = {}
        self.text = f"Set params of {node_id}"

    def do(self, graph: Graph) -> None:
        self.old = dict(graph.node(self.node_id).params)
        graph.set_params(self.node_id, self.params)

    def undo(self, graph: Graph) -> None:
        graph.set_params(self.node_id, self.old)


class SetTrainable(Command):
    """Freeze or unfreeze several nodes in one step."""

    def __init__(self, ids: Sequence[str], trainable: bool) -> None:
        self.ids = list(dict.fromkeys(ids))
        self.trainable = bool(trainable)
        self.old: dict[str, bool] = {}
        self.text = f"{'Unfreeze' if trainable else 'Freeze'} {_what(self.ids)}"

    def do(self, graph: Graph) -> None:
        self.old = {nid: graph.node(nid).trainable for nid in self.ids}
        for nid in self.ids:
            graph.set_trainable(nid, self.trainable)

    def undo(self, graph: Graph) -> None:
        for nid, value in self.old.items():
            graph.set_trainable(nid, value)


# ----------------------------------------------------------------------- positions
class MoveNodes(Command):
    """One drag = one step: ``moves`` maps id -> (old pos, new pos), as the view saw them."""

    def __init__(self, moves: dict[str, tuple[Pos | None, Pos | None]]) -> None:
        self.moves = dict(moves)
        self.text = f"Move {_what(list(self.moves))}"

    def do(self, graph: Graph) -> None:
        for nid in self.moves:
            graph.node(nid)
        for nid, (_, new) in self.moves.items():
            graph.set_pos(nid, new)

    def undo(self, graph: Graph) -> None:
        for nid, (old, _) in self.moves.items():
            graph.set_pos(nid, old)


class SetPositions(Command):
    """Place many nodes at once (auto-layout); the old positions are read when it runs."""

    def __init__(self, positions: dict[str, Pos], text: str = "Auto layout") -> None:
        self.positions = dict(positions)
        self.old: dict[str, Pos | None] = {}
        self.text = text

    def do(self, graph: Graph) -> None:
        self.old = {nid: graph.node(nid).pos for nid in self.positions}
        for nid, pos in self.positions.items():
            graph.set_pos(nid, pos)

    def undo(self, graph: Graph) -> None:
        for nid, pos in self.old.items():
            graph.set_pos(nid, pos)


# ------------------------------------------------------------------------ compound
class Compound(Command):
    """Several commands as one step: done in order, undone in reverse. If one fails during
    ``do``, the ones already done are undone before the error propagates (all or nothing)."""

    def __init__(self, text: str, commands: Iterable[Command]) -> None:
        self.text = text
        self.commands = list(commands)

    def do(self, graph: Graph) -> None:
        done: list[Command] = []
        try:
            for cmd in self.commands:
                cmd.do(graph)
                done.append(cmd)
        except BaseException:
            for cmd in reversed(done):
                cmd.undo(graph)
            raise

    def undo(self, graph: Graph) -> None:
        for cmd in reversed(self.commands):
            cmd.undo(graph)


# ------------------------------------------------------------------------- helpers
def ancestors(graph: Graph, node_id: str) -> set[str]:
    """``node_id`` and every node upstream of it."""
    seen = {node_id}
    stack = [node_id]
    while stack:
        for src in graph.inputs_of(stack.pop()):
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return seen


def freeze_up_to(graph: Graph, node_id: str) -> SetTrainable:
    """Freeze ``node_id`` and all its ancestors (transfer learning: train only the head)."""
    graph.node(node_id)
    up = ancestors(graph, node_id)
    cmd = SetTrainable([nid for nid in graph.node_ids if nid in up], False)
    cmd.text = f"Freeze up to {node_id}"
    return cmd


def unfreeze_all(graph: Graph) -> SetTrainable:
    cmd = SetTrainable(graph.node_ids, True)
    cmd.text = "Unfreeze all"
    return cmd


def fresh_id(graph: Graph, base: str, taken: set[str] | None = None) -> str:
    """An id free both in ``graph`` and in ``taken`` (ids reserved by the same compound edit);
    the result is added to ``taken``."""
    taken = taken if taken is not None else set()
    candidate = graph.unique_id(base)
    if candidate in taken:
        match = re.match(r"^(.*?)_(\d+)$", candidate)
        root, n = (match.group(1), int(match.group(2))) if match else (candidate, 0)
        while candidate in taken or candidate in graph:
            n += 1
            candidate = f"{root}_{n}"
    taken.add(candidate)
    return candidate


def midpoint(graph: Graph, a: str, b: str) -> Pos | None:
    pa, pb = graph.node(a).pos, graph.node(b).pos
    if pa is None or pb is None:
        return pa or pb
    return ((pa[0] + pb[0]) / 2.0, (pa[1] + pb[1]) / 2.0)


def insert_between(graph: Graph, src: str, dst: str, node: Node,
                   text: str | None = None) -> Compound:
    """Put ``node`` on the edge ``src -> dst``: the new ``node -> dst`` edge takes the old edge's
    place in the edge list, so ``dst`` keeps its input order. A node without a position is
    placed half-way between the two."""
    if not graph.has_edge(src, dst):
        raise GraphEditError(f"edge {src} -> {dst} does not exist")
    if node.pos is None:
        node = node.clone()
        node.pos = midpoint(graph, src, dst)
    remove = RemoveEdge(src, dst)
    return Compound(text or f"Insert {node.type}", [
        remove,
        AddNode(node),
        AddEdge(src, node.id),
        _AddEdgeWhere(node.id, dst, remove),
    ])


# ----------------------------------------------------------------------- the stack
class UndoStack:
    """A Qt-free undo history with ``QUndoStack`` semantics.

    ``push`` runs the command first; if it raises, nothing is recorded. A pushed command merges
    into the previous one when both have the same ``merge_id`` >= 0 and ``merge`` agrees (but
    never across the clean point, so "saved" stays meaningful).
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._clean: int | None = 0

    def push(self, cmd: Command) -> None:
        cmd.do(self.graph)
        self._undone.clear()
        if self._clean is not None and self._clean > len(self._done):
            self._clean = None  # the saved state was in the redo branch: now unreachable
        last = self._done[-1] if self._done else None
        if (last is not None and cmd.merge_id >= 0 and last.merge_id == cmd.merge_id
                and self._clean != len(self._done) and last.merge(cmd)):
            return
        self._done.append(cmd)

    def undo(self) -> Command | None:
        if not self._done:
            return None
        cmd = self._done.pop()
        cmd.undo(self.graph)
        self._undone.append(cmd)
        return cmd

    def redo(self) -> Command | None:
        if not self._undone:
            return None
        cmd = self._undone.pop()
        cmd.do(self.graph)
        self._done.append(cmd)
        return cmd

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def __len__(self) -> int:
        return len(self._done)

    def set_clean(self) -> None:
        self._clean = len(self._done)

    @property
    def is_clean(self) -> bool:
        return self._clean == len(self._done)

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self._clean = 0
