"""Graph file format v1: every way a file can be wrong gets a precise message, and the
unreadable (exit 2) / invalid (exit 1) distinction holds; round trips lose nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from playground.core import atomic, fileformat
from playground.core.errors import GraphFileError, GraphSaveError, PlaygroundError
from playground.core.graph import Graph, Node

HEADER = {"format": "keras-playground-graph", "version": 1}


def doc(nodes: list[Any] | None = None, edges: list[Any] | None = None, **top: Any) -> dict:
    d: dict[str, Any] = {**HEADER, "name": "t"}
    d["nodes"] = nodes if nodes is not None else [
        {"id": "in", "type": "Input", "params": {"shape": [8, 8, 1]}},
        {"id": "c1", "type": "Conv2D", "params": {"filters": 4}}]
    d["edges"] = edges if edges is not None else [{"from": "in", "to": "c1"}]
    d.update(top)
    return d


def fail(text: str | bytes, source: str = "g.json") -> GraphFileError:
    with pytest.raises(GraphFileError) as info:
        fileformat.loads(text, source=source)
    assert isinstance(info.value, PlaygroundError)
    assert str(info.value).startswith(f"{source}: ")
    return info.value


# --------------------------------------------------------------- unreadable: exit 2
@pytest.mark.parametrize(("text", "words"), [
    ("", "the file is empty"),
    ("  \n\t ", "the file is empty"),
    (b"", "the file is empty"),
    ("{nodes: []}", "not valid JSON: Expecting property name enclosed in double quotes "
                    "(line 1, column 2)"),
    ('{"format": "keras-playground-graph",\n "version": 1,\n}', "(line 3, column 1)"),
    ("[1, 2]", "the root is a JSON array, not an object"),
    ('"graph"', "the root is a JSON string"),
    ("42", "the root is a JSON number"),
    ("null", "the root is a JSON null"),
    ('{"version": 1, "nodes": []}', "it has no 'format' key (expected "
                                    "'keras-playground-graph')"),
    ('{"format": "other-tool", "version": 1, "nodes": []}', 'it has format "other-tool"'),
    ('{"format": "keras-playground-graph", "nodes": []}', "it has no 'version' key"),
    ('{"format": "keras-playground-graph", "version": "1", "nodes": []}',
     "'version' must be a positive integer, not \"1\""),
    ('{"format": "keras-playground-graph", "version": true, "nodes": []}',
     "'version' must be a positive integer, not true"),
    ('{"format": "keras-playground-graph", "version": 0, "nodes": []}', "not 0"),
    ('{"format": "keras-playground-graph", "version": 1.0, "nodes": []}', "not 1.0"),
    ('{"format": "keras-playground-graph", "version": 2, "nodes": []}',
     "the file is format version 2, newer than this app reads (1)"),
    ('{"format": "keras-playground-graph", "format": "x", "version": 1}',
     "duplicate key 'format' in a JSON object"),
    ('{"a": NaN}', "NaN is not allowed"),
    ('{"a": Infinity}', "Infinity is not allowed"),
    ('{"a": -Infinity}', "-Infinity is not allowed"),
    ('{"a": 1e999}', "number 1e999 is out of range"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"a": ' + "[" * 150 + "]" * 150 + "}", "nested more than 100 levels deep"),
])
def test_unreadable_files(text: str, words: str) -> None:
    error = fail(text)
    assert error.unreadable
    assert words in str(error), str(error)
    assert error.problems == []


def test_binary_and_foreign_encodings() -> None:
    assert "byte 0x89 at offset 0 is not UTF-8" in str(fail(b"\x89PNG\r\n\x1a\n\x00\x00"))
    text = json.dumps(doc())
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        error = fail(text.encode(encoding))
        assert error.unreadable and "UTF-16 text; save it as UTF-8" in str(error)
    assert "UTF-32" in str(fail(text.encode("utf-32")))
    assert "NUL character at offset 3" in str(fail(b'{  \x00 }'))
    # A UTF-8 byte order mark is fine, as bytes and as text.
    assert len(fileformat.loads(text.encode("utf-8-sig"))) == 2
    assert len(fileformat.loads("\ufeff" + text)) == 2


def test_load_names_the_file_and_tells_missing_from_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(GraphFileError, match="nope.json: no such file") as info:
        fileformat.load(missing)
    assert info.value.unreadable
    with pytest.raises(GraphFileError, match="is a folder, not a graph file"):
        fileformat.load(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{oops", encoding="utf-8")
    with pytest.raises(GraphFileError, match=r"bad\.json: not valid JSON"):
        fileformat.load(bad)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions")
def test_unreadable_permissions(tmp_path: Path) -> None:
    path = tmp_path / "locked.json"
    path.write_text(json.dumps(doc()), encoding="utf-8")
    path.chmod(0)
    try:
        with pytest.raises(GraphFileError, match="cannot read the file: Permission denied"):
            fileformat.load(path)
    finally:
        path.chmod(0o600)


# ------------------------------------------------------------ invalid content: exit 1
def invalid(d: dict, source: str = "g.json") -> list[tuple[str, str]]:
    text = json.dumps(d, indent=1)
    error = fail(text, source)
    assert not error.unreadable, str(error)
    assert "invalid graph" in str(error)
    return error.problems


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d.update(name=5), ("file", "'name' must be a string, not 5")),
    (lambda d: d.update(description=["x"]), ("file", "'description' must be a string")),
    (lambda d: d.update(nodes={"in": {}}), ("file", "'nodes' must be a list, not a JSON object")),
    (lambda d: d.pop("nodes"), ("file", "there is no 'nodes' list")),
    (lambda d: d.update(edges="in->c1"), ("file", "'edges' must be a list, not a JSON string")),
    (lambda d: d["nodes"].append(7), ("node #3", "must be an object, not a JSON number")),
    (lambda d: d["nodes"].append({"type": "Dense"}), ("node #3", "'id' is missing")),
    (lambda d: d["nodes"].append({"id": 3, "type": "Dense"}),
     ("node #3", "'id' must be a string, not 3")),
    (lambda d: d["nodes"].append({"id": "a b", "type": "Dense"}),
     ("node #3", "id \"a b\" may use only letters, digits, '_', '.' and '-'")),
    (lambda d: d["nodes"].append({"id": "a/b", "type": "Dense"}), ("node #3", "may use only")),
    (lambda d: d["nodes"].append({"id": "d"}), ("node d", "'type' is missing (line ")),
    (lambda d: d["nodes"].append({"id": "d", "type": ""}),
     ("node d", "'type' must be a block type name, not \"\"")),
    (lambda d: d["nodes"].append({"id": "d", "type": ["Dense"]}),
     ("node d", "'type' must be a block type name")),
    (lambda d: d["nodes"][1].update(params=[4]),
     ("node c1", "'params' must be an object, not [4] (line 18)")),
    (lambda d: d["nodes"][1].update(trainable="no"),
     ("node c1", "'trainable' must be true or false, not \"no\"")),
    (lambda d: d["nodes"][1].update(trainable=0),
     ("node c1", "'trainable' must be true or false, not 0")),
    (lambda d: d["nodes"][1].update(pos=[1]), ("node c1", "'pos' must be [x, y] numbers")),
    (lambda d: d["nodes"][1].update(pos=["1", 2]), ("node c1", "'pos' must be [x, y] numbers")),
    (lambda d: d["nodes"][1].update(pos=[True, 2]), ("node c1", "'pos' must be [x, y] numbers")),
    (lambda d: d["nodes"].append({"id": "c1", "type": "Dense"}),
     ("node c1", "duplicate id: nodes #2 and #3 are both 'c1' (line 25)")),
    (lambda d: d["edges"].append({"from": "in", "to": "ghost"}),
     ("edge in -> ghost", "node 'ghost' does not exist")),
    (lambda d: d["edges"].append({"from": "ghost", "to": "c1"}),
     ("edge ghost -> c1", "node 'ghost' does not exist")),
    (lambda d: d["edges"].append({"from": "c1", "to": "c1"}),
     ("edge c1 -> c1", "a node cannot feed itself")),
    (lambda d: d["edges"].append({"from": "in", "to": "c1"}),
     ("edge in -> c1", "the same edge appears twice")),
    (lambda d: d["edges"].append(["in", "c1"]),
     ("edge #2", "must be an object with 'from' and 'to', not a JSON array")),
    (lambda d: d["edges"].append({"from": "in"}), ("edge #2", "'to' is missing")),
    (lambda d: d["edges"].append({"from": "in", "to": 3}),
     ("edge #2", "'from' and 'to' must be node id strings, not \"in\" and 3")),
])
def test_invalid_content_is_named(mutate: Any, expected: tuple[str, str]) -> None:
    d = doc()
    mutate(d)
    problems = invalid(d)
    assert len(problems) == 1, problems
    where, message = problems[0]
    assert where == expected[0]
    assert expected[1] in message, message


def test_line_numbers_point_at_the_node() -> None:
    d = doc()
    d["nodes"].append({"id": "c1", "type": "Dense"})
    d["nodes"].append({"id": "c1", "type": "Dense"})
    text = json.dumps(d, indent=1)
    lines = text.splitlines()
    expected = [i + 1 for i, line in enumerate(lines) if '"id": "c1"' in line]
    error = fail(text)
    assert [m.rsplit("(line ", 1)[1].rstrip(")") for _, m in error.problems] == [
        str(n) for n in expected[1:]]


def test_all_problems_are_listed_and_message_is_bounded() -> None:
    nodes = [{"id": f"n{i}", "type": "Dense", "trainable": "yes"} for i in range(8)]
    error = fail(json.dumps(doc(nodes=nodes, edges=[])))
    assert len(error.problems) == 8
    assert [w for w, _ in error.problems] == [f"node n{i}" for i in range(8)]
    assert "(and 3 more)" in str(error)


def test_edges_to_a_rejected_node_are_not_reported_twice() -> None:
    d = doc()
    d["nodes"][1]["params"] = "filters=4"
    problems = invalid(d)
    assert problems == [("node c1", "'params' must be an object, not \"filters=4\" (line 18)")]


def test_duplicate_keeps_the_first_node_and_its_edges() -> None:
    d = doc()
    d["nodes"].append({"id": "c1", "type": "Dense"})
    d["nodes"].append({"id": "c1", "type": "Dense"})
    problems = invalid(d)
    assert [w for w, _ in problems] == ["node c1", "node c1"]
    assert "nodes #2 and #4" in problems[1][1] and "(line 29)" in problems[1][1]


def test_from_document_checks_python_values_too() -> None:
    with pytest.raises(GraphFileError, match="root is a JSON array"):
        fileformat.from_document([])
    deep: Any = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(GraphFileError, match="nested more than 100"):
        fileformat.from_document(doc(extra=deep))


def test_param_values_are_not_judged_by_the_file_format() -> None:
    # The checker judges params against the catalogue; the editor can hold half-edited graphs.
    d = doc()
    d["nodes"][1]["params"] = {"filters": "many", "bogus": [1, {"x": None}]}
    d["nodes"].append({"id": "z", "type": "NoSuchBlock"})
    graph = fileformat.loads(json.dumps(d))
    assert graph.node("c1").params == {"filters": "many", "bogus": [1, {"x": None}]}
    assert graph.node("z").type == "NoSuchBlock"


def test_loads_refuses_non_text_arguments() -> None:
    with pytest.raises(TypeError):
        fileformat.loads(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------- round trips
FULL = {
    "format": "keras-playground-graph", "version": 1, "name": "Round trip",
    "description": "käse ✓ unicode",
    "nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [32, 32, 3]}, "pos": [0, 0]},
        {"id": "conv1", "type": "Conv2D",
         "params": {"filters": 6, "kernel_size": [5, 3], "activation": "tanh"},
         "trainable": False, "pos": [10.5, -120], "note": {"color": "red"}},
        {"id": "b", "type": "Conv2D", "params": {}, "pos": [1e6, 0.1]},
        {"id": "cat", "type": "Concatenate", "params": {"axis": -1}},
    ],
    "edges": [{"from": "input", "to": "conv1"}, {"from": "input", "to": "b"},
              {"from": "b", "to": "cat"}, {"from": "conv1", "to": "cat"}],
    "x-tool": {"zoom": 1.5, "list": [1, 2]},
    "comment": "kept",
}


def test_round_trip_keeps_content_and_unknown_keys(tmp_path: Path) -> None:
    graph = fileformat.loads(json.dumps(FULL))
    assert graph.extra == {"x-tool": {"zoom": 1.5, "list": [1, 2]}, "comment": "kept"}
    assert graph.node("conv1").extra == {"note": {"color": "red"}}
    assert graph.node("conv1").trainable is False
    assert graph.node("conv1").pos == (10.5, -120.0)
    assert graph.inputs_of("cat") == ["b", "conv1"]  # input order = edge order
    path = tmp_path / "g.json"
    fileformat.save(graph, path)
    again = json.loads(path.read_text(encoding="utf-8"))
    assert again == FULL
    # A second save of the reloaded graph is byte-identical.
    text = path.read_text(encoding="utf-8")
    fileformat.save(fileformat.load(path), path)
    assert path.read_text(encoding="utf-8") == text
    assert text.endswith("\n") and "käse ✓" in text


def test_lone_surrogates_survive_a_save(tmp_path: Path) -> None:
    graph = fileformat.loads(json.dumps(doc(name="\ud800 odd \udfff")))  # JSON escapes
    path = tmp_path / "g.json"
    fileformat.save(graph, path)
    assert fileformat.load(path).name == graph.name == "\ud800 odd \udfff"


def test_to_document_defaults_are_omitted() -> None:
    graph = Graph("n")
    graph.add_node(Node("i", "Input", {"shape": [4, 4, 1]}))
    d = fileformat.to_document(graph)
    assert d == {"format": "keras-playground-graph", "version": 1, "name": "n",
                 "nodes": [{"id": "i", "type": "Input", "params": {"shape": [4, 4, 1]}}],
                 "edges": []}


def test_pos_is_written_to_a_tenth_of_a_pixel() -> None:
    graph = Graph()
    graph.add_node(Node("i", "Input", pos=(12.345678, 3.0)))
    assert fileformat.to_document(graph)["nodes"][0]["pos"] == [12.3, 3]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1, 2}])
def test_saving_a_value_json_cannot_hold_names_the_node(tmp_path: Path, bad: Any) -> None:
    graph = fileformat.loads(json.dumps(doc()))
    graph.set_param("c1", "rate", bad)
    path = tmp_path / "g.json"
    path.write_text("previous", encoding="utf-8")
    with pytest.raises(GraphFileError, match="node c1 param 'rate'") as info:
        fileformat.save(graph, path)
    assert not info.value.unreadable
    assert path.read_text(encoding="utf-8") == "previous"
    assert os.listdir(tmp_path) == ["g.json"]


# ------------------------------------------------------------------- atomic saving
def test_save_failure_mid_write_keeps_the_previous_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.json"
    path.write_text("old content", encoding="utf-8")
    graph = fileformat.loads(json.dumps(doc()))

    real_fdopen = os.fdopen

    class Exploding:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> Exploding:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            self.handle.write(data[: len(data) // 2])  # half the file reaches the disk...
            raise OSError(28, "No space left on device")  # ...then the disk is full

    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: Exploding(real_fdopen(fd, mode)))
    with pytest.raises(GraphSaveError) as info:
        fileformat.save(graph, path)
    assert isinstance(info.value, OSError) and isinstance(info.value, PlaygroundError)
    assert str(info.value) == f"{path}: cannot save the file: No space left on device"
    assert (info.value.errno, info.value.strerror) == (28, "No space left on device")
    assert path.read_text(encoding="utf-8") == "old content"
    assert os.listdir(tmp_path) == ["g.json"]  # no temp file left behind


def test_save_failure_at_replace_keeps_the_previous_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.json"
    path.write_text("old content", encoding="utf-8")

    def refuse(src: str, dst: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(GraphSaveError, match="cannot save the file: Permission denied"):
        fileformat.save(fileformat.loads(json.dumps(doc())), path)
    assert path.read_text(encoding="utf-8") == "old content"
    assert os.listdir(tmp_path) == ["g.json"]


def test_save_into_a_missing_folder_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "g.json"
    with pytest.raises(GraphSaveError, match="cannot save the file: No such file or directory"):
        fileformat.save(fileformat.loads(json.dumps(doc())), path)
    assert not (tmp_path / "no").exists()


def test_save_creates_a_new_file_with_the_graph(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    fileformat.save(fileformat.loads(json.dumps(doc())), path)
    assert json.loads(path.read_text(encoding="utf-8")) == doc()
    assert os.listdir(tmp_path) == ["new.json"]


def test_replace_dir_atomic(tmp_path: Path) -> None:
    target, staging = tmp_path / "model", tmp_path / "staging"
    target.mkdir()
    (target / "old.txt").write_text("old")
    staging.mkdir()
    (staging / "new.txt").write_text("new")
    atomic.replace_dir_atomic(staging, target)
    assert sorted(os.listdir(target)) == ["new.txt"]
    assert sorted(os.listdir(tmp_path)) == ["model"]


def test_atomic_save_gives_normal_permissions_and_keeps_existing_ones(tmp_path) -> None:
    import os
    import stat

    from playground.core.atomic import write_text_atomic

    new = tmp_path / "new.json"
    old_umask = os.umask(0o022)
    try:
        write_text_atomic(new, "{}")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    kept = tmp_path / "kept.json"
    kept.write_text("x")
    kept.chmod(0o600)
    write_text_atomic(kept, "{}")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
