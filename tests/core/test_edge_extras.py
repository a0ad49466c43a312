"""Unknown keys of edge objects survive a load/save round trip and the edits that keep the edge:
copy, rename, and undo of a node or edge deletion. Files without such keys are written exactly as
before (the presets are the reference: each is byte-identical to its own load + save)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from playground.core import fileformat
from playground.core.commands import (
    AddEdge,
    RemoveEdge,
    RemoveNodes,
    RenameNode,
    UndoStack,
    insert_between,
)
from playground.core.errors import GraphEditError, GraphFileError
from playground.core.graph import Edge, Node
from playground.core.presets import presets_dir

STYLE = {"color": "#ff8800", "dash": [4, 2], "route": {"via": [[10, 20.5], [30, 40]]}}

DOC: dict[str, Any] = {
    "format": "keras-playground-graph", "version": 1, "name": "edges with tool data",
    "nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [8, 8, 3]}, "pos": [0, 0]},
        {"id": "a", "type": "Conv2D", "params": {"filters": 4}, "pos": [200, -60]},
        {"id": "b", "type": "Conv2D", "params": {"filters": 6}, "pos": [200, 60]},
        {"id": "cat", "type": "Concatenate", "params": {}, "pos": [400, 0]},
        {"id": "head", "type": "Dense", "params": {"units": 10}, "pos": [600, 0]},
    ],
    "edges": [
        {"from": "input", "to": "b", "label": "left", "style": STYLE},
        {"from": "input", "to": "a"},
        {"from": "b", "to": "cat", "weight": 0.5, "tags": ["skip", None, True]},
        {"from": "a", "to": "cat", "note": "käse ✓"},
        {"from": "cat", "to": "head"},
    ],
}


def load() -> Any:
    return fileformat.loads(json.dumps(DOC))


def edge_objects(graph: Any) -> list[dict[str, Any]]:
    return fileformat.to_document(graph)["edges"]


# ----------------------------------------------------------------------- the file
def test_round_trip_keeps_edge_keys_with_nested_values(tmp_path: Path) -> None:
    graph = load()
    assert graph.edge("input", "b").extra == {"label": "left", "style": STYLE}
    assert graph.edge("b", "cat").extra == {"weight": 0.5, "tags": ["skip", None, True]}
    assert graph.edge("input", "a").extra == {}
    path = tmp_path / "g.json"
    fileformat.save(graph, path)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == DOC
    # A second save of the reloaded file is byte-identical.
    fileformat.save(fileformat.load(path), path)
    assert path.read_text(encoding="utf-8") == text


def test_from_and_to_come_first_whatever_the_file_order() -> None:
    doc = json.loads(json.dumps(DOC))
    doc["edges"][0] = {"label": "left", "to": "b", "style": STYLE, "from": "input"}
    written = edge_objects(fileformat.loads(json.dumps(doc)))[0]
    assert list(written) == ["from", "to", "label", "style"]
    assert written == {"from": "input", "to": "b", "label": "left", "style": STYLE}


def test_extra_keys_do_not_change_edge_identity_or_order() -> None:
    graph = load()
    assert graph.has_edge("input", "b") and not graph.has_edge("b", "input")
    assert graph.edges[0] == Edge("input", "b")  # equality and hashing by the ends only
    assert Edge("input", "b") in set(graph.edges)
    assert graph.edge_index("a", "cat") == 3
    assert graph.inputs_of("cat") == ["b", "a"]
    assert "style" not in repr(graph.edges[0])
    with pytest.raises(GraphEditError, match="edge a -> b does not exist"):
        graph.edge("a", "b")


@pytest.mark.parametrize("edge, expected", [
    ({"from": 1, "to": "a"}, "'from' and 'to' must be node id strings"),
    ({"to": "a", "label": "x"}, "'from' is missing"),
    ({"from": "a", "to": "ghost", "label": "x"}, "node 'ghost' does not exist"),
])
def test_validation_of_from_and_to_is_unchanged(edge: dict[str, Any], expected: str) -> None:
    doc = json.loads(json.dumps(DOC))
    doc["edges"].append(edge)
    with pytest.raises(GraphFileError, match=expected):
        fileformat.loads(json.dumps(doc))


def test_an_edge_value_json_cannot_hold_names_the_edge(tmp_path: Path) -> None:
    graph = load()
    graph.edge("a", "cat").extra["bad"] = float("nan")
    path = tmp_path / "g.json"
    path.write_text("previous", encoding="utf-8")
    with pytest.raises(GraphFileError, match="edge a -> cat key 'bad'"):
        fileformat.save(graph, path)
    assert path.read_text(encoding="utf-8") == "previous"


@pytest.mark.parametrize("preset", sorted(p.name for p in presets_dir().glob("*.json")))
def test_a_file_without_edge_keys_is_written_as_before(preset: str) -> None:
    path = presets_dir() / preset
    text = path.read_text(encoding="utf-8")
    assert '"from"' in text
    graph = fileformat.loads(text)
    assert all(not e.extra for e in graph.edges)
    assert fileformat.dumps(graph) == text
    assert all(list(e) == ["from", "to"] for e in fileformat.to_document(graph)["edges"])


# ------------------------------------------------------------------ graph edits
def test_copy_keeps_edge_keys_and_owns_them() -> None:
    graph = load()
    text = fileformat.dumps(graph)
    clone = graph.copy()
    assert fileformat.dumps(clone) == text
    clone.edge("input", "b").extra["style"]["route"]["via"].append([0, 0])
    clone.edge("b", "cat").extra["weight"] = 2.0
    assert fileformat.dumps(graph) == text  # the original is untouched
    assert clone.edge("input", "b").extra["style"]["route"]["via"][-1] == [0, 0]


def test_rename_keeps_edge_keys() -> None:
    graph = load()
    stack = UndoStack(graph)
    before = fileformat.dumps(graph)
    stack.push(RenameNode("b", "branch"))
    assert graph.edge("input", "branch").extra == {"label": "left", "style": STYLE}
    assert graph.edge("branch", "cat").extra["weight"] == 0.5
    stack.undo()
    assert fileformat.dumps(graph) == before


def test_undo_of_a_node_deletion_restores_its_edges_keys() -> None:
    graph = load()
    stack = UndoStack(graph)
    before = fileformat.dumps(graph)
    stack.push(RemoveNodes(["b", "a"]))
    assert [str(e) for e in graph.edges] == ["cat -> head"]
    stack.undo()
    assert fileformat.dumps(graph) == before
    assert graph.edge("a", "cat").extra == {"note": "käse ✓"}
    stack.redo()
    stack.undo()
    assert fileformat.dumps(graph) == before


def test_undo_of_an_edge_deletion_restores_its_keys() -> None:
    graph = load()
    stack = UndoStack(graph)
    before = fileformat.dumps(graph)
    stack.push(RemoveEdge("input", "b"))
    assert not graph.has_edge("input", "b")
    stack.undo()
    assert fileformat.dumps(graph) == before
    assert graph.edges[0].extra == {"label": "left", "style": STYLE}
    stack.redo()
    stack.undo()
    assert fileformat.dumps(graph) == before


def test_undo_of_an_insertion_on_an_edge_restores_its_keys() -> None:
    graph = load()
    stack = UndoStack(graph)
    before = fileformat.dumps(graph)
    stack.push(insert_between(graph, "b", "cat", Node("drop", "Dropout", {"rate": 0.1})))
    assert graph.inputs_of("cat") == ["drop", "a"]
    stack.undo()
    assert fileformat.dumps(graph) == before
    assert graph.edge("b", "cat").extra == {"weight": 0.5, "tags": ["skip", None, True]}


def test_add_edge_with_keys_and_its_undo() -> None:
    graph = load()
    stack = UndoStack(graph)
    before = fileformat.dumps(graph)
    keys = {"label": "pasted", "route": [[1, 2]]}
    stack.push(AddEdge("input", "cat", index=0, extra=keys))
    keys["route"].append([3, 4])  # the command holds its own copy
    assert edge_objects(graph)[0] == {"from": "input", "to": "cat", "label": "pasted",
                                      "route": [[1, 2]]}
    stack.undo()
    assert fileformat.dumps(graph) == before
    stack.redo()
    assert graph.edge("input", "cat").extra == {"label": "pasted", "route": [[1, 2]]}
