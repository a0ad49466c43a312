"""Copy, paste and duplicate of graph fragments, as plain JSON the system clipboard can carry.

A fragment is a small graph document: the copied nodes and only the edges between them. Pasting
gives every node a fresh id (so the same fragment can be pasted many times) and returns one
``Compound`` command. The clipboard may hold anything (another app's text, a fragment from a newer
version), so pasting validates strictly and reports a ``GraphEditError`` with a message.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from playground.blocks import get_spec
from playground.core import fileformat
from playground.core.commands import AddEdge, AddNode, Compound, fresh_id
from playground.core.errors import GraphEditError, GraphFileError
from playground.core.graph import Graph

FRAGMENT_FORMAT = "keras-playground-fragment"
FRAGMENT_VERSION = 1
MIME_TYPE = "application/x-keras-playground-fragment+json"
MAX_FRAGMENT_NODES = 50_000


def copy_fragment(graph: Graph, ids: list[str]) -> dict[str, Any]:
    """The selected nodes (in document order) and the edges with both ends among them."""
    wanted = set(ids)
    for nid in ids:
        graph.node(nid)  # GraphEditError naming an unknown id
    doc = fileformat.to_document(graph)
    nodes = [copy.deepcopy(n) for n in doc["nodes"] if n["id"] in wanted]
    edges = [dict(e) for e in doc["edges"] if e["from"] in wanted and e["to"] in wanted]
    return {"format": FRAGMENT_FORMAT, "version": FRAGMENT_VERSION, "nodes": nodes,
            "edges": edges}


def fragment_to_text(fragment: dict[str, Any]) -> str:
    """JSON text for the system clipboard; a value JSON cannot hold (NaN...) is a
    ``GraphEditError`` naming the node rather than text that cannot be pasted back."""
    try:
        return json.dumps(fragment, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        for node in fragment.get("nodes", []):
            try:
                json.dumps(node, allow_nan=False)
            except (TypeError, ValueError):
                raise GraphEditError(f"cannot copy node {node.get('id')}: {exc}") from None
        raise GraphEditError(f"cannot copy: {exc}") from None


def fragment_from_text(text: str | bytes) -> dict[str, Any]:
    """Parse clipboard text; anything that is not a fragment is a ``GraphEditError``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise GraphEditError("the clipboard does not hold graph nodes (not UTF-8 text)"
                                 ) from None
    try:
        doc = fileformat.parse_json(text, "clipboard")
    except GraphFileError as exc:
        raise GraphEditError(f"the clipboard does not hold graph nodes ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FRAGMENT_FORMAT:
        raise GraphEditError("the clipboard does not hold graph nodes")
    return doc


def _validate(fragment: Any) -> Graph:
    """The fragment as a ``Graph`` (ids as in the fragment), or ``GraphEditError``."""
    if not isinstance(fragment, dict):
        raise GraphEditError(f"cannot paste: the clipboard holds a JSON "
                             f"{type(fragment).__name__}, not graph nodes")
    if fragment.get("format") != FRAGMENT_FORMAT:
        raise GraphEditError("cannot paste: the clipboard does not hold graph nodes "
                             f"(format {fragment.get('format')!r})")
    version = fragment.get("version", FRAGMENT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise GraphEditError(f"cannot paste: bad fragment version {version!r}")
    if version > FRAGMENT_VERSION:
        raise GraphEditError(f"cannot paste: the nodes come from a newer version of the app "
                             f"(fragment version {version})")
    nodes, edges = fragment.get("nodes"), fragment.get("edges", [])
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise GraphEditError("cannot paste: the fragment needs 'nodes' and 'edges' lists")
    if not nodes:
        raise GraphEditError("cannot paste: the fragment holds no nodes")
    if len(nodes) > MAX_FRAGMENT_NODES:
        raise GraphEditError(f"cannot paste: {len(nodes)} nodes is more than "
                             f"{MAX_FRAGMENT_NODES}")
    doc = {"format": fileformat.FORMAT_NAME, "version": fileformat.FORMAT_VERSION,
           "nodes": nodes, "edges": edges}
    try:
        piece = fileformat.from_document(doc, source="clipboard")
    except GraphFileError as exc:
        if exc.problems:
            where, msg = exc.problems[0]
            raise GraphEditError(f"cannot paste: {where}: {msg}") from None
        raise GraphEditError(f"cannot paste: {exc}") from None
    for node in piece.nodes:
        if get_spec(node.type) is None:
            raise GraphEditError(f"cannot paste: node {node.id}: unknown block type "
                                 f"{node.type!r}")
    if piece.topological_order() is None:
        raise GraphEditError("cannot paste: the copied edges form a cycle")
    return piece


def paste_command(graph: Graph, fragment: dict[str, Any],
                  offset: tuple[float, float] = (40.0, 40.0), text: str | None = None
                  ) -> tuple[Compound, dict[str, str]]:
    """A command adding the fragment's nodes (fresh ids, positions shifted by ``offset``) and
    its inner edges in their original order; plus the mapping fragment id -> new id."""
    piece = _validate(fragment)
    taken: set[str] = set()
    mapping = {n.id: fresh_id(graph, n.id, taken) for n in piece.nodes}
    commands: list[Any] = []
    for node in piece.nodes:
        new = node.clone(mapping[node.id])
        if new.pos is not None:
            new.pos = (new.pos[0] + float(offset[0]), new.pos[1] + float(offset[1]))
        commands.append(AddNode(new))
    for e in piece.edges:
        commands.append(AddEdge(mapping[e.src], mapping[e.dst], extra=e.extra))
    count = len(mapping)
    label = text or (f"Paste {next(iter(piece.nodes)).type}" if count == 1
                     else f"Paste {count} nodes")
    return Compound(label, commands), mapping


def duplicate_command(graph: Graph, ids: list[str],
                      offset: tuple[float, float] = (40.0, 40.0)
                      ) -> tuple[Compound, dict[str, str]]:
    """Copy + paste in one step (Ctrl+D)."""
    if not ids:
        raise GraphEditError("nothing to duplicate: select nodes first")
    fragment = copy_fragment(graph, ids)
    count = len(fragment["nodes"])
    return paste_command(graph, fragment, offset,
                         text=f"Duplicate {ids[0]}" if count == 1
                         else f"Duplicate {count} nodes")
