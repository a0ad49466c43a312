"""Edit operations of the editor, shared by menus, shortcuts, the canvas, panels and tests.

Each operation builds a core command and pushes it on the document's undo stack; a refusal (cycle,
arity, bad id) comes back as a message for the status bar and changes nothing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, QObject, QPointF, Signal
from PySide6.QtWidgets import QApplication

from playground.blocks import get_spec
from playground.core import commands as C
from playground.core.errors import PlaygroundError
from playground.core.graph import Node
from playground.ui import theme
from playground.ui.canvas.scene import GraphScene
from playground.ui.document import Document

LAYOUT_SPACING = {"LR": (theme.NODE_WIDTH + 110.0, theme.NODE_HEIGHT + 36.0),
                  "TB": (theme.NODE_WIDTH + 34.0, theme.NODE_HEIGHT + 66.0)}


class Editor(QObject):
    message = Signal(str)  # status-bar text (refusals, hints)

    def __init__(self, doc: Document, scene: GraphScene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.scene = scene

    # ----------------------------------------------------------------- helpers
    def push(self, command: Any, select: list[str] | None = None) -> bool:
        error = self.doc.push(command)
        if error:
            self.message.emit(error)
            return False
        if select is not None:
            self.scene.select_nodes(select)
        self.scene.update_scene_rect()
        return True

    @property
    def graph(self):
        return self.doc.graph

    # ------------------------------------------------------------------- nodes
    def add_block(self, block_type: str, scene_pos: QPointF | tuple[float, float],
                  centred: bool = True) -> str | None:
        """Add a block of ``block_type`` with its node box centred on ``scene_pos``."""
        spec = get_spec(block_type)
        if spec is None:
            self.message.emit(f"unknown block type {block_type!r}")
            return None
        x, y = (scene_pos.x(), scene_pos.y()) if isinstance(scene_pos, QPointF) else scene_pos
        if centred:
            x, y = x - theme.NODE_WIDTH / 2, y - theme.NODE_HEIGHT / 2
        base = block_type.lower() if block_type != "Input" else "input"
        node = Node(self.graph.unique_id(base), block_type, {}, True,
                    (round(x, 1), round(y, 1)))
        if spec.type == "Input":
            node.params = {"shape": list(spec.param("shape").default)}
        return node.id if self.push(C.AddNode(node), select=[node.id]) else None

    def connect(self, src: str, dst: str) -> bool:
        """Connect src -> dst; refuses cycles and a full input port with a message."""
        graph = self.graph
        if src not in graph or dst not in graph:
            return False
        spec = get_spec(graph.node(dst).type)
        closes_cycle = graph.path_exists(dst, src) is not None  # the model's message says more
        if spec is not None and spec.max_inputs is not None and not closes_cycle:
            have = len(graph.inputs_of(dst))
            if spec.max_inputs == 0:
                self.message.emit(f"cannot connect {src} -> {dst}: {spec.type} takes no inputs")
                return False
            if have >= spec.max_inputs and not graph.has_edge(src, dst):
                self.message.emit(
                    f"cannot connect {src} -> {dst}: {dst} ({spec.type}) takes "
                    f"{spec.arity_text()} and already has {have}; delete an edge first")
                return False
        return self.push(C.AddEdge(src, dst))

    def delete_selection(self) -> bool:
        ids = self.scene.selected_node_ids()
        edges = [e for e in self.scene.selected_edges()
                 if e[0] not in ids and e[1] not in ids]
        cmds: list[Any] = [C.RemoveEdge(s, d) for s, d in edges]
        if ids:
            cmds.append(C.RemoveNodes(ids))
        if not cmds:
            return False
        if len(cmds) == 1:
            return self.push(cmds[0])
        return self.push(C.Compound(f"Delete {len(ids)} nodes, {len(edges)} edges", cmds))

    def rename(self, old: str, new: str) -> bool:
        if old == new:
            return True
        return self.push(C.RenameNode(old, new), select=[new])

    def set_param(self, node_id: str, key: str, value: Any) -> bool:
        return self.push(C.SetParam(node_id, key, value))

    def set_trainable(self, ids: list[str], trainable: bool) -> bool:
        if not ids:
            return False
        return self.push(C.SetTrainable(ids, trainable))

    def freeze_up_to(self, node_id: str) -> bool:
        return self.push(C.freeze_up_to(self.graph, node_id))

    def unfreeze_all(self) -> bool:
        return self.push(C.unfreeze_all(self.graph))

    def select_all(self) -> None:
        self.scene.select_nodes(self.graph.node_ids)

    # --------------------------------------------------------------- clipboard
    def copy(self) -> bool:
        from playground.core.clipboard import MIME_TYPE, copy_fragment, fragment_to_text

        ids = self.scene.selected_node_ids()
        if not ids:
            self.message.emit("nothing to copy: select nodes first")
            return False
        text = fragment_to_text(copy_fragment(self.graph, ids))
        mime = QMimeData()
        mime.setText(text)
        mime.setData(MIME_TYPE, text.encode("utf-8"))
        QApplication.clipboard().setMimeData(mime)
        self.message.emit(f"copied {len(ids)} node(s)")
        return True

    def cut(self) -> bool:
        return self.copy() and self.delete_selection()

    def paste(self) -> bool:
        from playground.core.clipboard import MIME_TYPE, fragment_from_text, paste_command

        mime = QApplication.clipboard().mimeData()
        if mime is None:
            return False
        raw = (bytes(mime.data(MIME_TYPE).data()) if mime.hasFormat(MIME_TYPE)
               else mime.text())
        try:
            fragment = fragment_from_text(raw)
            command, mapping = paste_command(self.graph, fragment, (40.0, 40.0))
        except PlaygroundError as exc:
            self.message.emit(str(exc))
            return False
        return self.push(command, select=list(mapping.values()))

    def duplicate(self) -> bool:
        from playground.core.clipboard import duplicate_command

        try:
            command, mapping = duplicate_command(self.graph, self.scene.selected_node_ids())
        except PlaygroundError as exc:
            self.message.emit(str(exc))
            return False
        return self.push(command, select=list(mapping.values()))

    # ------------------------------------------------------------------ layout
    def auto_layout(self, direction: str | None = None, aspect: float = 1.6) -> bool:
        """Layered layout: "LR", "TB", or "wrap" (left to right, folded into rows so the
        graph's shape matches ``aspect``, the window's width/height)."""
        from playground.core.layout import auto_layout
        from playground.ui.wrap_layout import wrap_layout

        direction = direction or "wrap"
        if direction == "wrap":
            positions = wrap_layout(self.graph, aspect, spacing=LAYOUT_SPACING["LR"],
                                    node_size=(theme.NODE_WIDTH, theme.NODE_HEIGHT))
            orientation = "LR"
        else:
            positions = auto_layout(self.graph, direction, spacing=LAYOUT_SPACING[direction])
            orientation = direction
        self.scene.set_orientation(orientation)
        if not positions:
            return False
        labels = {"wrap": "rows", "LR": "left to right", "TB": "top down"}
        return self.push(C.SetPositions(positions, f"Auto layout ({labels[direction]})"))

    # --------------------------------------------------------------- composites
    def can_expand(self, node_id: str) -> bool:
        try:
            from playground.core.expand import can_expand
        except ImportError:
            return False
        return bool(can_expand(self.graph, node_id))

    def expand(self, node_id: str) -> bool:
        try:
            from playground.core.expand import expand_command
        except ImportError:
            self.message.emit("expanding composites is not available in this build")
            return False
        try:
            command = expand_command(self.graph, node_id)
        except PlaygroundError as exc:
            self.message.emit(str(exc))
            return False
        return self.push(command)

    # --------------------------------------------------------------- quick fixes
    def fixes_for(self, problem: Any) -> list[tuple[str, Any]]:
        if not getattr(problem, "fix", None):
            return []
        try:
            from playground.core.quickfix import available_fixes
        except ImportError:
            return []
        try:
            return list(available_fixes(self.graph, problem))
        except PlaygroundError as exc:
            self.message.emit(str(exc))
            return []

    def apply_fix(self, label: str, command: Any) -> bool:
        ok = self.push(command)
        if ok:
            self.message.emit(f"applied: {label}")
        return ok

    # ---------------------------------------------------------------- retarget
    def retarget(self, shape: list[int] | None, classes: int | None) -> bool:
        """New input shape and/or class count as one undo step (runs the core's retarget on a
        copy, then records the param differences as SetParam commands)."""
        from playground.core.retarget import set_classes, set_input_shape

        trial = self.graph.copy()
        try:
            if shape:
                set_input_shape(trial, list(shape))
            if classes is not None:
                set_classes(trial, int(classes))
        except PlaygroundError as exc:
            self.message.emit(str(exc))
            return False
        cmds = []
        for node in trial.nodes:
            old = self.graph.node(node.id).params
            if node.params != old:
                cmds.append(C.SetParams(node.id, node.params))
        if not cmds:
            self.message.emit("retarget: nothing to change")
            return False
        return self.push(C.Compound("Retarget", cmds))
