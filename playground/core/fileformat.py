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
from typing import Any

from playground.core import safefile
from playground.core.atomic import write_text_atomic
from playground.core.errors import GraphFileError, GraphSaveError
from playground.core.graph import Edge, Graph, Node, valid_id

FORMAT_NAME = "keras-playground-graph"
FORMAT_VERSION = 1
KNOWN_TOP_KEYS = ("format", "version", "name", "description", "nodes", "edges")
KNOWN_NODE_KEYS = ("id", "type", "params", "trainable", "pos")
KNOWN_EDGE_KEYS = ("from", "to")
MAX_FILE_BYTES = 64 * 1024 * 1024
# Param values never need more than a few levels; a deeper document would only make every later
# recursive step (copy, json.dumps, the inspector) risk a RecursionError.
MAX_NESTING = 100


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


IMPORT_HINT = ("turn a model into a graph with File > Import Keras model... or "
               "`playground import MODEL --out GRAPH.json`")


def _model_file_kind(data: bytes) -> str | None:
    """The message for a Keras model or weights file opened as a graph (a user's natural first
    try with a ``.keras`` file), else None: it names what the file is and how to import it."""
    if data.startswith(b"PK\x03\x04"):
        return f"a ZIP archive (a Keras .keras model is one), not a graph file; {IMPORT_HINT}"
    if data.startswith(b"\x89HDF\r\n\x1a\n"):
        return (f"an HDF5 file (a Keras .h5 model or weights), not a graph file; {IMPORT_HINT}; "
                "weights load as a run's initial weights (--init-weights)")
    return None


def _decode_text(data: bytes, source: str) -> str:
    if not data.strip():
        raise GraphFileError("the file is empty", source=source)
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        raise GraphFileError("the file is UTF-32 text; save it as UTF-8", source=source)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:2]:
        raise GraphFileError("the file is UTF-16 text; save it as UTF-8", source=source)
    model = _model_file_kind(data)
    if model is not None:
        raise GraphFileError(model, source=source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GraphFileError(
            f"not a text file (byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8)",
            source=source) from None
    if "\x00" in text:
        offset = text.index("\x00")
        raise GraphFileError(f"not a text file (a NUL character at offset {offset})",
                             source=source)
    return text


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


def _line_of(text: str, node_id: str, occurrence: int = 1) -> int | None:
    """Line of the ``occurrence``-th ``"id": "<node_id>"`` in the text (only called for
    messages: a regex scan per node would make loading big files quadratic)."""
    pattern = re.compile(r'"id"\s*:\s*' + re.escape(json.dumps(node_id)))
    for n, match in enumerate(pattern.finditer(text), start=1):
        if n == occurrence:
            return text.count("\n", 0, match.start()) + 1
    return None


def _nesting_depth(value: Any) -> int:
    """Deepest nesting of lists/objects, computed without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            items: Any = item.values()
        elif isinstance(item, list | tuple):
            items = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            return deepest
        stack.extend((child, depth + 1) for child in items)
    return deepest


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def loads(text: str | bytes, source: str = "<string>") -> Graph:
    """Turn the text of a graph file into a ``Graph``; raises ``GraphFileError``."""
    if isinstance(text, bytes | bytearray | memoryview):
        text = _decode_text(bytes(text), source)
    elif not isinstance(text, str):
        raise TypeError(f"loads() takes str or bytes, not {type(text).__name__}")
    elif not text.strip():
        raise GraphFileError("the file is empty", source=source)
    text = text.removeprefix("\ufeff")
    doc = parse_json(text, source)
    return from_document(doc, source=source, text=text)


_JSON_TYPE = {"list": "array", "dict": "object", "str": "string", "int": "number",
              "float": "number", "bool": "boolean", "NoneType": "null"}


def from_document(doc: Any, source: str = "<document>", text: str = "") -> Graph:
    """Build a graph from a parsed document (``text``, when given, adds line numbers)."""
    if not isinstance(doc, dict):
        kind = _JSON_TYPE.get(type(doc).__name__, type(doc).__name__)
        raise GraphFileError(f"not a graph file: the root is a JSON {kind}, not an object",
                             source=source)
    if _nesting_depth(doc) > MAX_NESTING:
        raise GraphFileError(f"not a graph file: the JSON is nested more than {MAX_NESTING} "
                             "levels deep", source=source)
    fmt = doc.get("format")
    if fmt != FORMAT_NAME:
        what = "has no 'format' key" if "format" not in doc else f"has format {_short(fmt)}"
        raise GraphFileError(f"not a graph file: it {what} (expected {FORMAT_NAME!r})",
                             source=source)
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise GraphFileError("it has no 'version' key (expected 1)" if "version" not in doc else
                             f"'version' must be a positive integer, not {_short(version)}",
                             source=source)
    if version > FORMAT_VERSION:
        raise GraphFileError(
            f"the file is format version {version}, newer than this app reads "
            f"({FORMAT_VERSION}); update Keras Architecture Playground", source=source)

    problems: list[tuple[str, str]] = []
    graph = Graph()
    name = doc.get("name", "Untitled")
    if not isinstance(name, str):
        problems.append(("file", f"'name' must be a string, not {_short(name)}"))
        name = "Untitled"
    description = doc.get("description", "")
    if not isinstance(description, str):
        problems.append(("file", f"'description' must be a string, not {_short(description)}"))
        description = ""
    graph.name, graph.description = name, description
    graph.extra = {k: v for k, v in doc.items() if k not in KNOWN_TOP_KEYS}

    nodes = doc.get("nodes")
    if not isinstance(nodes, list):
        problems.append(("file", "there is no 'nodes' list" if "nodes" not in doc else
                         f"'nodes' must be a list, not a JSON "
                         f"{_JSON_TYPE.get(type(nodes).__name__, type(nodes).__name__)}"))
        nodes = []
    # Without a nodes list every edge would dangle: one message (above) is enough then.
    edges = doc.get("edges", []) if nodes or isinstance(doc.get("nodes"), list) else []
    if not isinstance(edges, list):
        problems.append(("file", f"'edges' must be a list, not a JSON "
                         f"{_JSON_TYPE.get(type(edges).__name__, type(edges).__name__)}"))
        edges = []

    positions: dict[str, list[int]] = {}   # id -> positions of the nodes with that id
    rejected: set[str] = set()       # ids of nodes already reported; their edges are skipped
    for position, raw in enumerate(nodes):
        node = _read_node(raw, position, positions, problems, text)
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            positions.setdefault(raw["id"], []).append(position)
        if node is None:
            if (isinstance(raw, dict) and isinstance(raw.get("id"), str)
                    and raw["id"] not in graph._nodes):
                rejected.add(raw["id"])
            continue
        graph._nodes[node.id] = node  # bulk load: no events, adjacency below
        graph._inputs[node.id] = []
        graph._outputs[node.id] = []

    for position, raw in enumerate(edges):
        _read_edge(raw, position, graph, rejected, problems)

    if problems:
        lines = "; ".join(f"{where}: {msg}" for where, msg in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise GraphFileError(f"invalid graph: {lines}{more}", source=source, unreadable=False,
                             problems=problems)
    return graph


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_node(raw: Any, position: int, positions: dict[str, list[int]],
               problems: list[tuple[str, str]], text: str) -> Node | None:
    where = f"node #{position + 1}"
    if not isinstance(raw, dict):
        kind = _JSON_TYPE.get(type(raw).__name__, type(raw).__name__)
        problems.append((where, f"must be an object, not a JSON {kind}"))
        return None
    node_id = raw.get("id")
    if not isinstance(node_id, str):
        problems.append((where, "'id' is missing" if "id" not in raw else
                         f"'id' must be a string, not {_short(node_id)}"))
        return None
    if not valid_id(node_id):
        problems.append((where, f"id {_short(node_id)} may use only letters, digits, "
                                "'_', '.' and '-'"))
        return None
    where = f"node {node_id}"

    def at(occurrence: int = 1) -> str:
        line = _line_of(text, node_id, occurrence) if text else None
        return f" (line {line})" if line else ""

    if node_id in positions:
        earlier = positions[node_id]
        # This node's "id": "<node_id>" is the (len(earlier) + 1)-th one in the text.
        problems.append((where, f"duplicate id: nodes #{earlier[0] + 1} and #{position + 1} are "
                                f"both '{node_id}'{at(len(earlier) + 1)}"))
        return None
    node_type = raw.get("type")
    if not isinstance(node_type, str) or not node_type:
        problems.append((where, "'type' is missing" + at() if "type" not in raw else
                         f"'type' must be a block type name, not {_short(node_type)}{at()}"))
        return None
    params = raw.get("params", {})
    if not isinstance(params, dict):
        problems.append((where, f"'params' must be an object, not {_short(params)}{at()}"))
        return None
    trainable = raw.get("trainable", True)
    if not isinstance(trainable, bool):
        problems.append((where, f"'trainable' must be true or false, not "
                                f"{_short(trainable)}{at()}"))
        return None
    pos = raw.get("pos")
    if pos is not None:
        if (not isinstance(pos, list) or len(pos) != 2
                or not all(_is_number(v) for v in pos)):
            problems.append((where, f"'pos' must be [x, y] numbers, not {_short(pos)}{at()}"))
            return None
        try:
            pos = (float(pos[0]), float(pos[1]))
        except OverflowError:
            problems.append((where, f"'pos' is out of range{at()}"))
            return None
    extra = {k: v for k, v in raw.items() if k not in KNOWN_NODE_KEYS}
    return Node(id=node_id, type=node_type, params=params, trainable=trainable, pos=pos,
                extra=extra)


def _read_edge(raw: Any, position: int, graph: Graph, rejected: set[str],
               problems: list[tuple[str, str]]) -> None:
    where = f"edge #{position + 1}"
    if not isinstance(raw, dict):
        kind = _JSON_TYPE.get(type(raw).__name__, type(raw).__name__)
        problems.append((where, f"must be an object with 'from' and 'to', not a JSON {kind}"))
        return
    src, dst = raw.get("from"), raw.get("to")
    if not isinstance(src, str) or not isinstance(dst, str):
        missing = [k for k in ("from", "to") if k not in raw]
        problems.append((where, f"'{missing[0]}' is missing" if missing else
                         "'from' and 'to' must be node id strings, not "
                         f"{_short(src)} and {_short(dst)}"))
        return
    where = f"edge {src} -> {dst}"
    for end in (src, dst):
        if end in rejected:
            return  # that node's own problem is reported; one message per culprit
        if end not in graph._nodes:
            problems.append((where, f"node '{end}' does not exist"))
            return
    if src == dst:
        problems.append((where, "a node cannot feed itself"))
        return
    if graph.has_edge(src, dst):
        problems.append((where, "the same edge appears twice"))
        return
    extra = {k: v for k, v in raw.items() if k not in KNOWN_EDGE_KEYS}
    graph._edges.append(Edge(src, dst, extra))
    graph._inputs[dst].append(src)
    graph._outputs[src].append(dst)


def load(path: str | os.PathLike[str]) -> Graph:
    """Read a graph file; every failure is a ``GraphFileError`` naming the file."""
    source = str(path)
    try:
        # A regular file only (a FIFO or /dev/zero, even behind a symlink, would hang or never
        # end), and never more than the cap, whatever the size the file system reports.
        data = safefile.read_capped(path, MAX_FILE_BYTES)
    except safefile.FileTooLarge as exc:
        raise GraphFileError(f"the file is {exc.size // (1024 * 1024)} MiB; graph files over "
                             f"{MAX_FILE_BYTES // (1024 * 1024)} MiB are refused",
                             source=source) from None
    except safefile.NotARegularFile as exc:
        raise GraphFileError(f"{exc.strerror}; a graph file must be a regular file",
                             source=source) from None
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
            item["pos"] = [_coordinate(n.pos[0]), _coordinate(n.pos[1])]
        item.update(n.extra)
        nodes.append(item)
    doc["nodes"] = nodes
    doc["edges"] = [{"from": e.src, "to": e.dst, **e.extra} for e in graph.edges]
    for key, value in graph.extra.items():
        doc.setdefault(key, value)
    return doc


def _coordinate(value: float) -> float | int:
    """Canvas positions to 0.1 px; whole numbers written as ints (``[0, 120]`` stays so)."""
    value = round(float(value), 1)
    return int(value) if value.is_integer() else value


def dumps(graph: Graph) -> str:
    """The file text. A value JSON cannot hold (NaN, infinity, an object of another type) is a
    ``GraphFileError`` naming the node, never a file that cannot be read back."""
    doc = to_document(graph)
    try:
        text = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (valid as a JSON \\ud800 escape, not as UTF-8): keep it escaped.
            text = json.dumps(doc, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
        return text
    except (TypeError, ValueError) as exc:
        culprit = _unserializable(doc)
        raise GraphFileError(f"cannot save {culprit}: {exc}", unreadable=False,
                             problems=[(culprit, str(exc))]) from None


def _unserializable(doc: dict[str, Any]) -> str:
    for item in doc.get("nodes", []):
        try:
            json.dumps(item, allow_nan=False)
        except (TypeError, ValueError):
            bad = [k for k, v in item.get("params", {}).items() if not _dumpable(v)]
            return f"node {item['id']}" + (f" param {bad[0]!r}" if bad else "")
    for item in doc.get("edges", []):
        if not _dumpable(item):
            bad = [k for k, v in item.items() if not _dumpable(v)]
            return f"edge {item['from']} -> {item['to']}" + (f" key {bad[0]!r}" if bad else "")
    for key, value in doc.items():
        if not _dumpable(value):
            return f"top-level key {key!r}"
    return "the graph"


def _dumpable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def save(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write atomically: the previous file stays intact if anything fails mid-way."""
    try:
        text = dumps(graph)
    except GraphFileError as exc:
        raise GraphFileError(str(exc), source=str(path), unreadable=False,
                             problems=exc.problems) from None
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise GraphSaveError(str(path), exc.strerror or str(exc), exc.errno) from exc
