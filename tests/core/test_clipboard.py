"""Copy/paste/duplicate: fragment contents, fresh ids, offsets, edge order, strict validation
(a malformed clipboard is a GraphEditError, never a crash), and undo."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.core import fileformat
from playground.core.clipboard import (
    FRAGMENT_FORMAT,
    copy_fragment,
    duplicate_command,
    fragment_from_text,
    fragment_to_text,
    paste_command,
)
from playground.core.errors import GraphEditError
from playground.core.graph import Graph, Node
from playground.core.shapes import analyze


def make_graph() -> Graph:
    g = Graph("clip")
    g.add_node(Node("input", "Input", {"shape": [8, 8, 3]}, pos=(0.0, 0.0)))
    g.add_node(Node("a", "Conv2D", {"filters": 4, "padding": "same"}, pos=(200.0, -60.0),
                    extra={"note": "kept"}))
    g.add_node(Node("b", "Conv2D", {"filters": 6, "kernel_size": [1, 1]}, trainable=False,
                    pos=(200.0, 60.0)))
    g.add_node(Node("cat", "Concatenate", {}, pos=(400.0, 0.0)))
    g.add_node(Node("gap", "GlobalAveragePooling2D"))
    g.add_edge("input", "b")
    g.add_edge("input", "a")
    g.add_edge("b", "cat")
    g.add_edge("a", "cat")
    g.add_edge("cat", "gap")
    return g


def test_copy_fragment_contents_are_json_and_inner_edges_only():
    g = make_graph()
    frag = copy_fragment(g, ["cat", "a", "b"])
    assert frag["format"] == FRAGMENT_FORMAT
    assert [n["id"] for n in frag["nodes"]] == ["a", "b", "cat"]  # document order
    assert frag["edges"] == [{"from": "b", "to": "cat"}, {"from": "a", "to": "cat"}]
    assert frag["nodes"][0]["note"] == "kept" and frag["nodes"][1]["trainable"] is False
    assert json.loads(json.dumps(frag)) == frag
    frag["nodes"][0]["params"]["filters"] = 99  # a copy, not the graph's dict
    assert g.node("a").params["filters"] == 4
    with pytest.raises(GraphEditError, match="ghost"):
        copy_fragment(g, ["a", "ghost"])


def test_paste_gives_fresh_ids_offset_positions_and_keeps_input_order():
    g = make_graph()
    before = fileformat.dumps(g)
    frag = copy_fragment(g, ["a", "b", "cat"])
    cmd, mapping = paste_command(g, frag, offset=(10.0, 20.0))
    assert mapping == {"a": "a_1", "b": "b_1", "cat": "cat_1"}
    assert cmd.text == "Paste 3 nodes"
    cmd.do(g)
    after = fileformat.dumps(g)
    assert g.node("a_1").pos == (210.0, -40.0)
    assert g.node("b_1").trainable is False
    assert g.node("a_1").extra == {"note": "kept"}
    assert g.inputs_of("cat_1") == ["b_1", "a_1"]
    assert g.inputs_of("a_1") == []  # the edge from the uncopied input is not pasted
    cmd.undo(g)
    assert fileformat.dumps(g) == before
    cmd.do(g)
    assert fileformat.dumps(g) == after


def test_paste_twice_and_into_another_graph():
    g = make_graph()
    frag = copy_fragment(g, ["a", "b"])
    c1, m1 = paste_command(g, frag)
    c1.do(g)
    c2, m2 = paste_command(g, frag)
    c2.do(g)
    assert set(m1.values()).isdisjoint(m2.values())
    other = Graph()
    c3, m3 = paste_command(other, frag)
    c3.do(other)
    assert m3 == {"a": "a", "b": "b"}
    assert other.node("a").pos == (240.0, -20.0)


def test_paste_nodes_without_position():
    g = make_graph()
    cmd, mapping = paste_command(g, copy_fragment(g, ["gap"]))
    assert cmd.text == "Paste GlobalAveragePooling2D"
    cmd.do(g)
    assert g.node(mapping["gap"]).pos is None


def test_text_round_trip_through_the_system_clipboard():
    g = make_graph()
    text = fragment_to_text(copy_fragment(g, ["input", "a"]))
    frag = fragment_from_text(text)
    other = Graph()
    cmd, _ = paste_command(other, frag)
    cmd.do(other)
    assert other.node_ids == ["input", "a"] and other.inputs_of("a") == ["input"]
    frag2 = fragment_from_text(text.encode("utf-8"))
    assert frag2 == frag


def test_copy_of_an_unserializable_value_names_the_node():
    g = make_graph()
    g.set_param("b", "filters", float("inf"))
    frag = copy_fragment(g, ["a", "b"])
    with pytest.raises(GraphEditError, match="node b"):
        fragment_to_text(frag)


@pytest.mark.parametrize("text", ["", "hello", "[1, 2]", '{"format": "other"}', "\xff",
                                  '{"format": "keras-playground-fragment", "a": 1, "a": 2}',
                                  '{"x": NaN}', "[" * 100_000])
def test_fragment_from_text_refuses_garbage(text):
    with pytest.raises(GraphEditError):
        fragment_from_text(text)
    with pytest.raises(GraphEditError):
        fragment_from_text(b"\xff\xfe" + text.encode("utf-8", "replace"))


def frag(nodes, edges=(), **extra):
    return {"format": FRAGMENT_FORMAT, "version": 1, "nodes": list(nodes),
            "edges": list(edges), **extra}


NODE = {"id": "n", "type": "Dropout", "params": {}}


@pytest.mark.parametrize("bad,message", [
    (None, "JSON NoneType"),
    ([], "JSON list"),
    ({"format": "keras-playground-graph", "nodes": []}, "does not hold graph nodes"),
    (frag([NODE], version=2), "newer version"),
    (frag([NODE], version="1"), "version"),
    ({"format": FRAGMENT_FORMAT, "nodes": "x"}, "lists"),
    (frag([]), "no nodes"),
    (frag([NODE, NODE]), "duplicate id"),
    (frag([{"id": "bad id", "type": "Dropout"}]), "may use only"),
    (frag([{"id": "n", "type": ""}]), "type"),
    (frag([{"id": "n", "type": "NoSuchBlock"}]), "unknown block type 'NoSuchBlock'"),
    (frag([{"id": "n", "type": "Dropout", "params": []}]), "params"),
    (frag([{"id": "n", "type": "Dropout", "trainable": "no"}]), "trainable"),
    (frag([{"id": "n", "type": "Dropout", "pos": [1]}]), "pos"),
    (frag([{"id": "n", "type": "Dropout", "pos": ["a", 1]}]), "pos"),
    (frag([NODE], [{"from": "n", "to": "ghost"}]), "ghost"),
    (frag([NODE], [{"from": "n", "to": "n"}]), "feed itself"),
    (frag([NODE], ["n->n"]), "edge #1"),
    (frag([NODE, {**NODE, "id": "m"}], [{"from": "n", "to": "m"}, {"from": "m", "to": "n"}]),
     "cycle"),
    (frag([NODE], [{"from": 1, "to": "n"}]), "'from' and 'to'"),
])
def test_paste_validates_strictly(bad, message):
    g = make_graph()
    before = fileformat.dumps(g)
    with pytest.raises(GraphEditError, match=message):
        paste_command(g, bad)
    assert fileformat.dumps(g) == before


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["id", "type", "params", "pos", "from",
                                                       "to", "nodes", "edges", "trainable"]),
                                      inner, max_size=4), max_leaves=12))
def test_fuzzed_fragments_never_crash(junk):
    g = make_graph()
    for candidate in (junk, frag([junk]), frag([NODE], [junk]),
                      {"format": FRAGMENT_FORMAT, "nodes": junk, "edges": junk}):
        try:
            cmd, mapping = paste_command(g, candidate)
        except GraphEditError:
            continue
        before = fileformat.dumps(g)
        cmd.do(g)
        cmd.undo(g)
        assert fileformat.dumps(g) == before


def test_duplicate_command_and_counts():
    g = make_graph()
    base = analyze(g).total_params
    cmd, mapping = duplicate_command(g, ["a", "b"])
    assert cmd.text == "Duplicate 2 nodes"
    assert mapping == {"a": "a_1", "b": "b_1"}
    cmd.do(g)
    cmd2, _ = duplicate_command(g, ["input"])
    assert cmd2.text == "Duplicate input"
    g.add_edge("input", "a_1")
    g.add_edge("input", "b_1")
    g.add_edge("a_1", "cat")
    assert analyze(g).nodes["cat"].shape == (8, 8, 14)
    assert base == (3 * 3 * 3 * 4 + 4) + (3 * 6 + 6)
    assert analyze(g).total_params == 2 * base
    with pytest.raises(GraphEditError, match="nothing"):
        duplicate_command(g, [])


def test_pasted_edges_keep_their_extra_keys():
    g = make_graph()
    g.edge("b", "cat").extra["label"] = {"colour": "red"}
    frag = fragment_from_text(fragment_to_text(copy_fragment(g, ["b", "cat"])))
    cmd, mapping = paste_command(g, frag)
    cmd.do(g)
    assert g.edge(mapping["b"], mapping["cat"]).extra == {"label": {"colour": "red"}}
    g.edge(mapping["b"], mapping["cat"]).extra["label"]["colour"] = "blue"   # its own copy
    assert g.edge("b", "cat").extra == {"label": {"colour": "red"}}
