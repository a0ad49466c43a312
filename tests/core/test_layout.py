"""Auto layout: no overlaps, edges point forward, deterministic, cycles survive, fast enough."""

from __future__ import annotations

import random
import time

import pytest

from playground.core.commands import SetPositions
from playground.core.graph import Graph, Node
from playground.core.layout import NODE_SIZE, _isotonic_place, auto_layout
from playground.core.presets import list_presets, load_preset

W, H = NODE_SIZE


def assert_no_overlap(pos: dict[str, tuple[float, float]]) -> None:
    items = sorted(pos.items(), key=lambda kv: (kv[1][0], kv[1][1]))
    for i, (a, (xa, ya)) in enumerate(items):
        for b, (xb, yb) in items[i + 1:]:
            if xb - xa >= W:
                break
            assert abs(yb - ya) >= H, f"{a} at {(xa, ya)} overlaps {b} at {(xb, yb)}"


def chain_with_skips(n: int, skip: int = 3) -> Graph:
    """A DenseNet-like chain: every node also feeds the node ``skip`` steps ahead."""
    g = Graph()
    g.add_node(Node("n0", "Input", {"shape": [8, 8, 3]}))
    for i in range(1, n):
        g.add_node(Node(f"n{i}", "Concatenate" if i % skip == 0 else "Conv2D"))
        g.add_edge(f"n{i - 1}", f"n{i}", check_cycle=False)
        if i % skip == 0 and i >= skip:
            g.add_edge(f"n{i - skip}", f"n{i}", check_cycle=False)
    return g


def random_dag(n: int, seed: int, extra: int = 2) -> Graph:
    rng = random.Random(seed)
    g = Graph()
    for i in range(n):
        g.add_node(Node(f"v{i}", "Conv2D"))
        if i:
            g.add_edge(f"v{rng.randrange(max(0, i - 20), i)}", f"v{i}", check_cycle=False)
        for _ in range(rng.randrange(extra + 1)):
            if i > 1:
                src = f"v{rng.randrange(0, i - 1)}"
                if not g.has_edge(src, f"v{i}"):
                    g.add_edge(src, f"v{i}", check_cycle=False)
    return g


def layer_of(pos, direction="LR"):
    axis = 0 if direction == "LR" else 1
    return {nid: p[axis] for nid, p in pos.items()}


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_small_branching_graph(direction):
    g = Graph()
    for nid in ("in", "a", "b", "c", "cat", "out"):
        g.add_node(Node(nid, "Conv2D"))
    for s, d in [("in", "a"), ("in", "b"), ("in", "c"), ("a", "cat"), ("b", "cat"),
                 ("c", "cat"), ("cat", "out"), ("in", "out")]:
        g.add_edge(s, d)
    pos = auto_layout(g, direction)
    assert set(pos) == set(g.node_ids)
    assert_no_overlap(pos)
    along = layer_of(pos, direction)
    for e in g.edges:
        assert along[e.src] < along[e.dst]
    # the three branches share one layer, spaced by the lane gap
    across = 1 if direction == "LR" else 0
    lanes = sorted(pos[n][across] for n in ("a", "b", "c"))
    gap = 110.0 if direction == "LR" else 220.0
    assert lanes[1] - lanes[0] >= gap and lanes[2] - lanes[1] >= gap
    assert {pos[n][1 - across] for n in ("a", "b", "c")} == {pos["a"][1 - across]}


def test_chain_is_a_straight_line():
    g = Graph()
    for i in range(10):
        g.add_node(Node(f"c{i}", "Conv2D"))
        if i:
            g.add_edge(f"c{i - 1}", f"c{i}")
    pos = auto_layout(g)
    assert [pos[f"c{i}"] for i in range(10)] == [(220.0 * i, 0.0) for i in range(10)]
    tb = auto_layout(g, "TB", spacing=(250.0, 120.0))
    assert [tb[f"c{i}"] for i in range(10)] == [(0.0, 120.0 * i) for i in range(10)]


def test_spacing_below_node_size_is_raised():
    g = random_dag(60, seed=3)
    pos = auto_layout(g, spacing=(10.0, 10.0))
    assert_no_overlap(pos)


def test_skip_edges_get_their_own_lane():
    """input -> c1 -> c2 -> c3 -> add <- input: the long edge must not run through c1..c3."""
    g = Graph()
    for nid in ("input", "c1", "c2", "c3", "add"):
        g.add_node(Node(nid, "Conv2D"))
    for s, d in [("input", "c1"), ("c1", "c2"), ("c2", "c3"), ("input", "add"), ("c3", "add")]:
        g.add_edge(s, d)
    pos = auto_layout(g)
    ys = {pos[n][1] for n in ("c1", "c2", "c3")}
    assert len(ys) == 1  # the main path is straight...
    assert pos["input"][1] == pos["add"][1]
    assert abs(ys.pop() - pos["input"][1]) == pytest.approx(55.0)  # ...beside the skip lane


def test_cycle_falls_back_gracefully():
    g = Graph()
    for nid in ("in", "a", "b", "c"):
        g.add_node(Node(nid, "Conv2D"))
    g.add_edge("in", "a")
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", "a", check_cycle=False)
    assert g.topological_order() is None
    pos = auto_layout(g)
    assert_no_overlap(pos)
    assert pos["in"][0] < pos["a"][0] < pos["b"][0] < pos["c"][0]
    # a pure cycle with no source
    g2 = Graph()
    for nid in ("x", "y"):
        g2.add_node(Node(nid, "Conv2D"))
    g2.add_edge("x", "y")
    g2.add_edge("y", "x", check_cycle=False)
    assert_no_overlap(auto_layout(g2))


def test_empty_graph_and_disconnected_nodes():
    assert auto_layout(Graph()) == {}
    g = Graph()
    for i in range(5):
        g.add_node(Node(f"lonely{i}", "Dropout"))
    pos = auto_layout(g)
    assert_no_overlap(pos)
    assert min(p[1] for p in pos.values()) == 0.0


def test_bad_direction():
    with pytest.raises(ValueError, match="direction"):
        auto_layout(Graph(), "RL")


def test_deterministic():
    g = random_dag(300, seed=11)
    assert auto_layout(g) == auto_layout(g)
    assert auto_layout(g) == auto_layout(g.copy())


def test_crossings_are_reduced_by_barycenter():
    """Two inputs each feeding its own chain, listed crosswise in the document."""
    g = Graph()
    for nid in ("i1", "i2", "b2", "a1", "b1", "a2"):
        g.add_node(Node(nid, "Conv2D"))
    for s, d in [("i1", "a1"), ("a1", "a2"), ("i2", "b1"), ("b1", "b2")]:
        g.add_edge(s, d)
    pos = auto_layout(g)
    assert pos["i1"][1] == pos["a1"][1] == pos["a2"][1]
    assert pos["i2"][1] == pos["b1"][1] == pos["b2"][1]


def test_isotonic_place_is_optimal_and_spaced():
    assert _isotonic_place([0.0, 0.0, 0.0], 10.0) == [-10.0, 0.0, 10.0]
    assert _isotonic_place([5.0, 100.0], 10.0) == [5.0, 100.0]
    out = _isotonic_place([3.0, 1.0, 2.0, 50.0], 4.0)
    assert all(b - a >= 4.0 - 1e-9 for a, b in zip(out, out[1:], strict=False))
    assert out[3] == 50.0


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_thousand_nodes_fast_no_overlap_forward(direction):
    # Timed in this thread's CPU time: on a loaded machine wall time counts waits for a core.
    g = random_dag(1000, seed=5)
    start = time.thread_time()
    pos = auto_layout(g, direction)
    elapsed = time.thread_time() - start
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert_no_overlap(pos)
    along = layer_of(pos, direction)
    assert all(along[e.src] < along[e.dst] for e in g.edges)


def test_long_densenet_like_chain_fast():
    g = chain_with_skips(430, skip=2)
    start = time.thread_time()
    pos = auto_layout(g)
    assert time.thread_time() - start < 0.5
    assert_no_overlap(pos)
    assert all(pos[e.src][0] < pos[e.dst][0] for e in g.edges)


def test_every_preset_lays_out():
    presets = list_presets()
    if not presets:
        pytest.skip("no presets bundled yet")
    for info in presets:
        g = load_preset(info.key)
        for direction in ("LR", "TB"):
            start = time.thread_time()
            pos = auto_layout(g, direction)
            assert time.thread_time() - start < 1.0, info.key
            assert set(pos) == set(g.node_ids)
            assert_no_overlap(pos)
            if g.topological_order() is not None:
                along = layer_of(pos, direction)
                assert all(along[e.src] < along[e.dst] for e in g.edges), info.key


def test_layout_as_one_undo_step():
    g = random_dag(40, seed=1)
    from playground.core import fileformat

    before = fileformat.dumps(g)
    cmd = SetPositions(auto_layout(g))
    cmd.do(g)
    assert all(n.pos is not None for n in g.nodes)
    cmd.undo(g)
    assert fileformat.dumps(g) == before


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_wrap_long_networks_into_bands(direction):
    g = chain_with_skips(430, skip=2)
    flat = auto_layout(g, direction)
    pos = auto_layout(g, direction, wrap=40)
    assert_no_overlap(pos)
    along, across = (0, 1) if direction == "LR" else (1, 0)
    gap = 220.0 if direction == "LR" else 110.0
    assert max(p[along] for p in pos.values()) == 39 * gap
    # same layering: within a band, every edge still points forward
    layer = {nid: round(p[along] / gap) for nid, p in flat.items()}
    bands = {nid: layer[nid] // 40 for nid in layer}
    assert len(set(bands.values())) == 11
    for e in g.edges:
        if bands[e.src] == bands[e.dst]:
            assert pos[e.src][along] < pos[e.dst][along]
        else:
            assert pos[e.src][across] < pos[e.dst][across]  # the next band lies beyond
    # bands stack: the last layer's band lies beyond the first one's
    first, last = pos["n0"], pos["n429"]
    assert last[across] > first[across] + 10 * 110.0 / 2
    assert auto_layout(g, direction, wrap=10_000) == flat
    with pytest.raises(ValueError, match="wrap"):
        auto_layout(g, wrap=0)
