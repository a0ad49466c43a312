"""Graph file format v1 (see docs/FORMAT.md): strict reading, lossless writing.

Reading distinguishes a file that is not a graph at all (``GraphFileError.unreadable``: the CLI exits
2) from a graph whose content is wrong (duplicate ids, dangling edges, fields of the wrong type: the
CLI lists them as check errors and exits 1). Param *values* are not judged here; the checker does
that against the block catalogue, so the editor can hold a half-edited graph.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from playground.core.atomic import write_text_atomic
from playground.core.errors import GraphFileError
from playground.core.graph import Edge, Graph, Node, valid_id

FORMAT_NAME = "keras-playground-graph"
FORMAT_VERSION = 1
KNOWN_TOP_KEYS = ("format", "version", "name", "description", "nodes", "edges")
KNOWN_NODE_KEYS = ("id", "type", "params", "trainable", "pos")
MAX_FILE_BYTES = 64 * 1024 * 1024


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (JSON has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _decode_text(data: bytes, source: str) -> str:
    if not data.strip():
        raise GraphFileError("the file is empty", source=source)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 1 and data[1:2] == b"\x00"):
        raise GraphFileError("the file is UTF-16 text; save it as UTF-8", source=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GraphFileError(
            f"not a text file (byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8)",
            source=source) from None


def parse_json(text: str, source: str = "<string>") -> Any:
    """Strict JSON: no NaN/Infinity/overflowing numbers, no duplicate keys, bounded nesting."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys,
                          parse_constant=_reject_constant, parse_float=_finite_float)
    except _DuplicateKey as exc:
        raise GraphFileError(f"duplicate key {exc.args[0]!r} in a JSON object",
                             source=source) from None
    except json.JSONDecodeError as exc:
        raise GraphFileError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                             source=source) from None
    except RecursionError:
        raise GraphFileError("not a graph file: the JSON is nested too deeply",
                             source=source) from None
    except ValueError as exc:
        raise GraphFileError(f"not valid JSON: {exc}", source=source) from None


def _line_of(text: str, node_id: str) -> int | None:
    match = re.search(r'"id"\s*:\s*' + re.escape(json.dumps(node_id)), text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def loads(text: str | bytes, source: str = "<string>") -> Graph:
    """Turn the text of a graph file into a ``Graph``; raises ``GraphFileError``."""
    if isinstance(text, bytes):
        text = _decode_text(text, source)
    elif not text.strip():
        raise GraphFileError("the file is empty", source=source)
    doc = parse_json(text, source)
    return from_document(doc, source=source, text=text)


def from_document(doc: Any, source: str = "<document>", text: str = "") -> Graph:
    if not isinstance(doc, dict):
        raise GraphFileError(f"not a graph file: the root is a JSON {type(doc).__name__}, "
                             "not an object", source=source)
    fmt = doc.get("format")
    if fmt != FORMAT_NAME:
        what = "has no 'format' key" if "format" not in doc else f"has format {fmt!r}"
        raise GraphFileError(f"not a graph file: it {what} (expected {FORMAT_NAME!r})",
                             source=source)
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise GraphFileError(f"'version' must be a positive integer, not {version!r}",
                             source=source)
    if version > FORMAT_VERSION:
        raise GraphFileError(
            f"the file is format version {version}, newer than this app reads "
            f"({FORMAT_VERSION}); update Keras Architecture Playground", source=source)

    problems: list[tuple[str, str]] = []
    graph = Graph()
    name = doc.get("name", "Untitled")
    if not isinstance(name, str):
        problems.append(("file", f"'name' must be a string, not {json.dumps(name)[:40]}"))
        name = "Untitled"
    description = doc.get("description", "")
    if not isinstance(description, str):
        problems.append(("file", "'description' must be a string"))
        description = ""
    graph.name, graph.description = name, description
    graph.extra = {k: v for k, v in doc.items() if k not in KNOWN_TOP_KEYS}

    nodes = doc.get("nodes")
    if not isinstance(nodes, list):
        raise GraphFileError("'nodes' must be a list" if "nodes" in doc
                             else "not a graph file: it has no 'nodes' list", source=source)
    edges = doc.get("edges", [])
    if not isinstance(edges, list):
        raise GraphFileError("'edges' must be a list", source=source)

    for position, raw in enumerate(nodes):
        node = _read_node(raw, position, graph, problems, text)
        if node is not None:
            graph._nodes[node.id] = node  # bulk load: no events, adjacency below
            graph._inputs[node.id] = []
            graph._outputs[node.id] = []

    for position, raw in enumerate(edges):
        _read_edge(raw, position, graph, problems)

    if problems:
        lines = "; ".join(f"{where}: {msg}" for where, msg in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise GraphFileError(f"invalid graph: {lines}{more}", source=source, unreadable=False,
                             problems=problems)
    return graph


def _read_node(raw: Any, position: int, graph: Graph, problems: list[tuple[str, str]],
               text: str) -> Node | None:
    where = f"node #{position + 1}"
    if not isinstance(raw, dict):
        problems.append((where, f"must be an object, not {type(raw).__name__}"))
        return None
    node_id = raw.get("id")
    if not isinstance(node_id, str):
        problems.append((where, "'id' is missing" if node_id is None else
                         f"'id' must be a string, not {json.dumps(node_id)}"))
        return None
    if not valid_id(node_id):
        problems.append((f"{where}", f"id {node_id!r} may use only letters, digits, '_', '.', '-'"))
        return None
    line = _line_of(text, node_id) if text else None
    where = f"node {node_id}"
    suffix = f" (line {line})" if line else ""
    if node_id in graph._nodes:
        problems.append((where, f"duplicate id: nodes #{list(graph._nodes).index(node_id) + 1} "
                                f"and #{position + 1} are both '{node_id}'"))
        return None
    node_type = raw.get("type")
    if not isinstance(node_type, str) or not node_type:
        problems.append((where, f"'type' must be a block type name{suffix}"))
        return None
    params = raw.get("params", {})
    if not isinstance(params, dict):
        problems.append((where, f"'params' must be an object{suffix}"))
        return None
    trainable = raw.get("trainable", True)
    if not isinstance(trainable, bool):
        problems.append((where, f"'trainable' must be true or false, not "
                                f"{json.dumps(trainable)}{suffix}"))
        return None
    pos = raw.get("pos")
    if pos is not None:
        if (not isinstance(pos, list) or len(pos) != 2
                or not all(_is_number(v) for v in pos)):
            problems.append((where, f"'pos' must be [x, y] numbers{suffix}"))
            return None
        pos = (float(pos[0]), float(pos[1]))
    extra = {k: v for k, v in raw.items() if k not in KNOWN_NODE_KEYS}
    return Node(id=node_id, type=node_type, params=params, trainable=trainable, pos=pos,
                extra=extra)


def _read_edge(raw: Any, position: int, graph: Graph, problems: list[tuple[str, str]]) -> None:
    where = f"edge #{position + 1}"
    if not isinstance(raw, dict):
        problems.append((where, f"must be an object with 'from' and 'to', "
                                f"not {type(raw).__name__}"))
        return
    src, dst = raw.get("from"), raw.get("to")
    if not isinstance(src, str) or not isinstance(dst, str):
        problems.append((where, "'from' and 'to' must be node id strings"))
        return
    where = f"edge {src} -> {dst}"
    for end in (src, dst):
        if end not in graph._nodes:
            problems.append((where, f"node '{end}' does not exist"))
            return
    if src == dst:
        problems.append((where, "a node cannot feed itself"))
        return
    if graph.has_edge(src, dst):
        problems.append((where, "the same edge appears twice"))
        return
    graph._edges.append(Edge(src, dst))
    graph._inputs[dst].append(src)
    graph._outputs[src].append(dst)


def load(path: str | os.PathLike[str]) -> Graph:
    """Read a graph file; every failure is a ``GraphFileError`` naming the file."""
    source = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise GraphFileError(f"the file is {size // (1024 * 1024)} MiB; graph files over "
                                 f"{MAX_FILE_BYTES // (1024 * 1024)} MiB are refused",
                                 source=source)
        data = Path(path).read_bytes()
    except GraphFileError:
        raise
    except IsADirectoryError:
        raise GraphFileError("is a folder, not a graph file", source=source) from None
    except FileNotFoundError:
        raise GraphFileError("no such file", source=source) from None
    except OSError as exc:
        raise GraphFileError(f"cannot read the file: {exc.strerror or exc}",
                             source=source) from None
    return loads(data, source=source)


def to_document(graph: Graph) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
                           "name": graph.name}
    if graph.description:
        doc["description"] = graph.description
    nodes = []
    for n in graph.nodes:
        item: dict[str, Any] = {"id": n.id, "type": n.type, "params": n.params}
        if not n.trainable:
            item["trainable"] = False
        if n.pos is not None:
            item["pos"] = [round(n.pos[0], 1), round(n.pos[1], 1)]
        item.update(n.extra)
        nodes.append(item)
    doc["nodes"] = nodes
    doc["edges"] = [{"from": e.src, "to": e.dst} for e in graph.edges]
    for key, value in graph.extra.items():
        doc.setdefault(key, value)
    return doc


def dumps(graph: Graph) -> str:
    return json.dumps(to_document(graph), indent=1, ensure_ascii=False) + "\n"


def save(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write atomically: the previous file stays intact if anything fails mid-way."""
    write_text_atomic(path, dumps(graph))
