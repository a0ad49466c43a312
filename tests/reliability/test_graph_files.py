"""Whatever a file holds, loading raises only ``GraphFileError`` and checking never raises.

Hypothesis feeds random bytes, random text, random JSON and valid graph documents mutated at a
random place (values swapped for other JSON, keys dropped or added, nodes and edges shuffled);
plus a 10,000-node graph must load, check and save without recursion limits or quadratic time.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.blocks import CATALOGUE
from playground.core import fileformat
from playground.core.errors import GraphFileError
from playground.core.graph import Graph, Node
from playground.core.shapes import Checker, analyze

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

json_scalars = (st.none() | st.booleans() | st.integers(-(10**20), 10**20)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)

# A valid base document touching composites, merges and every param kind.
BASE: dict[str, Any] = {
    "format": "keras-playground-graph", "version": 1, "name": "base",
    "nodes": [
        {"id": "in", "type": "Input", "params": {"shape": [16, 16, 3]}},
        {"id": "c1", "type": "Conv2D",
         "params": {"filters": 8, "kernel_size": [3, 3], "padding": "same",
                    "activation": "relu"}, "pos": [0, 10]},
        {"id": "bn", "type": "BatchNormalization", "params": {}, "trainable": False},
        {"id": "pad", "type": "ZeroPadding2D", "params": {"padding": [[1, 0], [0, 1]]}},
        {"id": "crop", "type": "Cropping2D", "params": {"cropping": [[1, 0], [0, 1]]}},
        {"id": "inc", "type": "InceptionModule",
         "params": {"f1x1": 4, "f3x3_reduce": 2, "f3x3": 4, "f5x5_reduce": 2, "f5x5": 4,
                    "pool_proj": 4}},
        {"id": "res", "type": "ResidualBlock", "params": {"filters": 4, "strides": 2}},
        {"id": "add_in", "type": "Conv2D", "params": {"filters": 4, "strides": 2,
                                                       "kernel_size": 1}},
        {"id": "add", "type": "Add", "params": {}},
        {"id": "cat", "type": "Concatenate", "params": {"axis": -1}},
        {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}},
        {"id": "drop", "type": "Dropout", "params": {"rate": 0.3}},
        {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}},
    ],
    "edges": [{"from": a, "to": b} for a, b in [
        ("in", "c1"), ("c1", "bn"), ("bn", "pad"), ("pad", "crop"), ("crop", "inc"),
        ("inc", "res"), ("inc", "add_in"), ("res", "add"), ("add_in", "add"),
        ("add", "cat"), ("res", "cat"), ("cat", "gap"), ("gap", "drop"), ("drop", "out")]],
    "x-extra": {"kept": True},
}


def test_base_document_is_valid() -> None:
    analysis = analyze(fileformat.from_document(copy.deepcopy(BASE)))
    assert analysis.valid, [str(p) for p in analysis.errors]
    assert analysis.nodes["out"].shape == (10,)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value, as a key/index path."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, prefix + (i,))
    return found


def _mutate(doc: Any, data: st.DataObject) -> Any:
    paths = _paths(doc)
    path = data.draw(st.sampled_from(paths))
    action = data.draw(st.sampled_from(["replace", "delete", "insert", "type", "param",
                                        "duplicate"]))
    if not path:
        return data.draw(json_values) if action == "replace" else doc
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "replace":
        parent[key] = data.draw(json_values)
    elif action == "delete":
        del parent[key]
    elif action == "insert":
        target = parent[key]
        if isinstance(target, dict):
            target[data.draw(st.text(max_size=8))] = data.draw(json_values)
        elif isinstance(target, list):
            target.insert(data.draw(st.integers(0, len(target))), data.draw(json_values))
        else:
            parent[key] = [target, data.draw(json_values)]
    elif action == "type":
        node = data.draw(st.sampled_from(doc["nodes"])) if isinstance(doc.get("nodes"), list) \
            and doc["nodes"] else None
        if isinstance(node, dict):
            node["type"] = data.draw(st.sampled_from(sorted(CATALOGUE)))
    elif action == "param":
        nodes = [n for n in doc.get("nodes", []) if isinstance(n, dict)
                 and isinstance(n.get("params"), dict)] if isinstance(doc.get("nodes"), list) \
            else []
        if nodes:
            node = data.draw(st.sampled_from(nodes))
            kind = node.get("type")
            spec = CATALOGUE.get(kind) if isinstance(kind, str) else None
            names = list(spec.param_names) if spec and spec.params else ["x"]
            node["params"][data.draw(st.sampled_from(names))] = data.draw(
                json_values | st.integers(-3, 40) | st.sampled_from(["same", "valid", "relu"]))
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    return doc


def _load_and_check(text: str | bytes) -> None:
    try:
        graph = fileformat.loads(text, source="fuzz.json")
    except GraphFileError as exc:
        assert str(exc).startswith("fuzz.json: ")
        assert exc.unreadable or exc.problems
        return
    analysis = analyze(graph)  # must not raise
    for problem in analysis.problems:
        assert problem.severity in ("error", "warning")
        assert str(problem).startswith(f"{problem.severity}: ")
    # A graph that loaded also saves and loads back to the same document.
    again = fileformat.loads(fileformat.dumps(graph).encode("utf-8"))  # as a saved file
    assert fileformat.to_document(again) == fileformat.to_document(graph)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _load_and_check(data)


@SETTINGS
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    _load_and_check(text)


@SETTINGS
@given(json_values)
def test_random_json(value: Any) -> None:
    _load_and_check(json.dumps(value))


@SETTINGS
@given(st.dictionaries(st.sampled_from(["nodes", "edges", "name", "description", "pos"]),
                       json_values, max_size=4))
def test_random_json_with_a_valid_header(extra: dict[str, Any]) -> None:
    _load_and_check(json.dumps({"format": "keras-playground-graph", "version": 1, **extra}))


@SETTINGS
@given(st.data())
def test_mutated_documents(data: st.DataObject) -> None:
    doc = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 4))):
        doc = _mutate(doc, data)
    _load_and_check(json.dumps(doc))


@SETTINGS
@given(st.data())
def test_random_graphs_from_the_catalogue(data: st.DataObject) -> None:
    """Random types, random params of the right names, random wiring (cycles included)."""
    n = data.draw(st.integers(1, 8))
    types = sorted(CATALOGUE)
    nodes = []
    for i in range(n):
        spec = CATALOGUE[data.draw(st.sampled_from(types))]
        params = {}
        for p in spec.params:
            if data.draw(st.booleans()):
                params[p.name] = data.draw(
                    st.integers(-2, 30) | st.lists(st.integers(-1, 9), max_size=3)
                    | st.sampled_from([None, True, "same", "relu", 0.5, [[1, 2], [0, 1]]]))
        nodes.append({"id": f"n{i}", "type": spec.type, "params": params})
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                               max_size=2 * n, unique=True))
    doc = {"format": "keras-playground-graph", "version": 1, "nodes": nodes,
           "edges": [{"from": f"n{a}", "to": f"n{b}"} for a, b in edges]}
    _load_and_check(json.dumps(doc))


def test_a_warm_checker_agrees_with_a_fresh_one_after_mutations() -> None:
    checker = Checker()
    graph = fileformat.from_document(copy.deepcopy(BASE))
    for node_id, key, value in [("c1", "filters", 3), ("c1", "filters", "3"), ("c1", "filters", 8),
                                ("res", "kind", "bottleneck"), ("pad", "padding", 2),
                                ("inc", "f1x1", 0), ("c1", "strides", 2)]:
        graph.set_param(node_id, key, value)
        warm, cold = checker.analyze(graph), Checker().analyze(graph)
        assert [str(p) for p in warm.problems] == [str(p) for p in cold.problems]
        assert {k: (r.shape, r.params, r.macs) for k, r in warm.nodes.items()} == {
            k: (r.shape, r.params, r.macs) for k, r in cold.nodes.items()}


def test_ten_thousand_node_chain_loads_checks_and_saves() -> None:
    graph = Graph("long chain")
    graph.add_node(Node("in", "Input", {"shape": [8]}))
    previous = "in"
    for i in range(10_000):
        nid = f"n{i}"
        graph.add_node(Node(nid, "Dense" if i % 2 == 0 else "ReLU",
                            {"units": 8} if i % 2 == 0 else {}))
        graph.add_edge(previous, nid, check_cycle=False)
        previous = nid
    start = time.perf_counter()
    text = fileformat.dumps(graph)
    loaded = fileformat.loads(text)
    analysis = analyze(loaded, Checker())
    again = fileformat.dumps(loaded)
    elapsed = time.perf_counter() - start
    assert again == text
    assert analysis.valid and len(analysis.order) == 10_001
    assert analysis.depth == 5_000
    assert analysis.total_params == 5_000 * (8 * 8 + 8)
    assert analysis.nodes["n9999"].shape == (8,)
    assert elapsed < 15, f"10,000-node chain took {elapsed:.1f} s"
    # Edits on it stay safe too: a cycle closing the whole chain is refused and named.
    from playground.core.errors import CycleError
    try:
        loaded.add_edge("n9999", "n0")
    except CycleError as exc:
        assert len(exc.cycle) == 10_000
    else:
        raise AssertionError("the cycle was not refused")
