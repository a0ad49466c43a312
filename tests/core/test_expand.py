"""Expanding composites: same counts, MACs and shapes as the checker computes for the composite,
ids equal to the composite's Keras layer names, edges and input order kept, frozen state carried
over, undoable; and Keras computes the same outputs once weights are copied by layer name."""

from __future__ import annotations

import numpy as np
import pytest

from playground.core import fileformat
from playground.core.expand import can_expand, expand_blocker, expand_command
from playground.core.graph import Graph, Node
from playground.core.shapes import analyze


def host_graph(block: Node, in_shape=(16, 16, 8), side_strides: int = 1,
               trainable: bool = True) -> Graph:
    """input -> X -> cat(side, X) -> gap -> head, and input -> side; X is the composite."""
    g = Graph("host")
    g.add_node(Node("input", "Input", {"shape": list(in_shape)}, pos=(0.0, 0.0)))
    block = block.clone()
    block.trainable = trainable
    block.pos = (300.0, 0.0)
    g.add_node(block)
    g.add_node(Node("side", "Conv2D", {"filters": 3, "kernel_size": 1,
                                       "strides": side_strides}, pos=(300.0, 200.0)))
    g.add_node(Node("cat", "Concatenate", {}, pos=(600.0, 0.0)))
    g.add_node(Node("gap", "GlobalAveragePooling2D", {}, pos=(800.0, 0.0)))
    g.add_node(Node("head", "Dense", {"units": 5}, pos=(1000.0, 0.0)))
    g.add_edge("input", block.id)
    g.add_edge("input", "side")
    g.add_edge("side", "cat")
    g.add_edge(block.id, "cat")
    g.add_edge("cat", "gap")
    g.add_edge("gap", "head")
    return g


INCEPTIONS = {
    "plain": {"f1x1": 4, "f3x3_reduce": 3, "f3x3": 6, "f5x5_reduce": 2, "f5x5": 5,
              "pool_proj": 3},
    "naive": {"f1x1": 4, "f3x3_reduce": 0, "f3x3": 6, "f5x5_reduce": 0, "f5x5": 5,
              "pool_proj": 0},
    "batch_norm": {"f1x1": 4, "f3x3_reduce": 3, "f3x3": 6, "f5x5_reduce": 2, "f5x5": 5,
                   "pool_proj": 3, "batch_norm": True},
    "bn_linear_no_1x1": {"f1x1": 0, "f3x3_reduce": 3, "f3x3": 6, "f5x5_reduce": 0, "f5x5": 0,
                         "pool_proj": 2, "batch_norm": True, "activation": "linear"},
    "tanh": {"f1x1": 2, "f3x3": 2, "f3x3_reduce": 0, "f5x5_reduce": 0, "f5x5": 0,
             "pool_proj": 0, "activation": "tanh"},
}

RESIDUALS = {
    # name: (params, input channels, side strides)
    "basic_identity": ({"filters": 8}, 8, 1),
    "basic_projection_s1": ({"filters": 16}, 8, 1),
    "basic_projection_s2": ({"filters": 16, "strides": 2}, 8, 2),
    "bottleneck_s1": ({"filters": 4, "kind": "bottleneck"}, 8, 1),
    "bottleneck_identity": ({"filters": 2, "kind": "bottleneck"}, 8, 1),
    "bottleneck_s2": ({"filters": 4, "kind": "bottleneck", "strides": 2}, 8, 2),
    "bottleneck_s2_on_3x3": ({"filters": 4, "kind": "bottleneck", "strides": 2,
                              "stride_on": "3x3", "use_bias": True}, 8, 2),
    "zero_pad_identity": ({"filters": 8, "shortcut": "zero_pad", "epsilon": 1e-3}, 8, 1),
    "elu_bias": ({"filters": 8, "strides": 2, "activation": "elu", "use_bias": True}, 8, 2),
    # option A where the shape changes: subsample (1x1 max pool) and/or append zero channels
    "zero_pad_s2_widen": ({"filters": 16, "shortcut": "zero_pad", "strides": 2}, 8, 2),
    "zero_pad_s1_widen": ({"filters": 12, "shortcut": "zero_pad"}, 8, 1),
    "zero_pad_s2_same_width": ({"filters": 8, "shortcut": "zero_pad", "strides": 2}, 8, 2),
    "zero_pad_bottleneck_s2": ({"filters": 4, "kind": "bottleneck", "shortcut": "zero_pad",
                                "strides": 2, "stride_on": "3x3"}, 8, 2),
}


def cases():
    for name, params in INCEPTIONS.items():
        yield pytest.param(Node("inc", "InceptionModule", params), 8, 1, id=f"inception-{name}")
    for name, (params, cin, side) in RESIDUALS.items():
        yield pytest.param(Node("res", "ResidualBlock", params), cin, side, id=f"residual-{name}")


def summary(g: Graph):
    a = analyze(g)
    assert a.valid, [str(p) for p in a.errors]
    return (a.total_params, a.trainable_params, a.non_trainable_params, a.macs,
            a.output_shapes(), a.nodes["cat"].shape)


@pytest.mark.parametrize("block,cin,side", list(cases()))
@pytest.mark.parametrize("trainable", [True, False])
def test_expansion_keeps_counts_shapes_and_order(block, cin, side, trainable):
    g = host_graph(block, (16, 16, cin), side, trainable)
    before_doc = fileformat.dumps(g)
    before = summary(g)
    inner = [f"{block.id}_{layer.name}" for layer in analyze(g).nodes[block.id].inner]
    assert can_expand(g, block.id)
    cmd = expand_command(g, block.id)
    assert cmd.text == f"Expand {block.id}"
    cmd.do(g)
    after_doc = fileformat.dumps(g)
    assert summary(g) == before
    assert block.id not in g
    new_ids = [n for n in g.node_ids if n.startswith(block.id + "_")]
    assert sorted(new_ids) == sorted(inner)  # same names as the composite's Keras layers
    # the new nodes sit where the composite was in the node list
    assert g.node_ids[1:1 + len(new_ids)] == new_ids
    last = f"{block.id}_concat" if block.type == "InceptionModule" else f"{block.id}_out"
    assert g.inputs_of("cat") == ["side", last]  # input order kept
    assert all(g.node(n).trainable is trainable for n in new_ids)
    assert all(g.node(n).pos is not None for n in new_ids)
    cmd.undo(g)
    assert fileformat.dumps(g) == before_doc
    cmd.do(g)
    assert fileformat.dumps(g) == after_doc


def test_outgoing_edges_keep_their_positions():
    g = host_graph(Node("res", "ResidualBlock", {"filters": 8}), (8, 8, 8))
    g.add_node(Node("tail", "Add"))
    g.add_edge("side", "tail", check_cycle=False)   # will fail shapes; order is what counts
    g.add_edge("res", "tail")
    positions = [i for i, e in enumerate(g.edges) if e.src == "res"]
    expand_command(g, "res").do(g)
    assert [i for i, e in enumerate(g.edges) if e.src == "res_out"] == [
        p - 1 for p in positions]  # shifted by one: the removed input edge came before them
    assert g.inputs_of("tail") == ["side", "res_out"]


def test_inner_positions_start_at_the_old_place_centred_on_its_row():
    g = host_graph(Node("inc", "InceptionModule", INCEPTIONS["batch_norm"]), (8, 8, 8))
    expand_command(g, "inc").do(g)
    pts = [g.node(n).pos for n in g.node_ids if n.startswith("inc_")]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    assert min(xs) == pytest.approx(300.0)     # the row's left part stays where it was
    assert (min(ys) + max(ys)) / 2 == pytest.approx(0.0)
    assert len(set(pts)) == len(pts)


def test_no_position_stays_no_position():
    g = host_graph(Node("inc", "InceptionModule", INCEPTIONS["plain"]), (8, 8, 8))
    g.set_pos("inc", None)
    expand_command(g, "inc").do(g)
    assert all(g.node(n).pos is None for n in g.node_ids if n.startswith("inc_"))


def test_zero_pad_shortcut_expands_into_pool_and_zero_channels():
    g = host_graph(Node("res", "ResidualBlock", {"filters": 16, "shortcut": "zero_pad",
                                                 "strides": 2}), (16, 16, 8), 2)
    assert can_expand(g, "res") and expand_blocker(g, "res") is None
    expand_command(g, "res").do(g)
    pool, pad = g.node("res_0_pool"), g.node("res_0_pad")
    assert (pool.type, pool.params) == ("MaxPooling2D", {"pool_size": 1, "strides": 2,
                                                         "padding": "same"})
    assert (pad.type, pad.params) == ("ZeroPadChannels", {"pad": 8})
    assert g.inputs_of("res_0_pool") == ["input"]
    assert g.inputs_of("res_0_pad") == ["res_0_pool"]
    assert g.inputs_of("res_add") == ["res_0_pad", "res_2_bn"]  # shortcut first, as built
    a = analyze(g)
    assert a.nodes["res_0_pool"].shape == (8, 8, 8)
    assert a.nodes["res_0_pad"].shape == (8, 8, 16)
    assert a.nodes["res_0_pad"].params == 0 and a.nodes["res_0_pad"].macs == 0


def test_zero_pad_without_stride_has_no_pool():
    g = host_graph(Node("res", "ResidualBlock", {"filters": 12, "shortcut": "zero_pad"}),
                   (16, 16, 8))
    expand_command(g, "res").do(g)
    assert "res_0_pool" not in g
    assert g.inputs_of("res_0_pad") == ["input"]
    assert g.node("res_0_pad").params == {"pad": 4}


def test_blockers_name_the_reason():
    g = host_graph(Node("inc", "InceptionModule", INCEPTIONS["plain"]), (8, 8, 8))
    assert not can_expand(g, "side")
    assert "not a composite" in expand_blocker(g, "side")
    assert not can_expand(g, "ghost")
    g.add_node(Node("inc_pool", "Dropout"))
    assert "inc_pool" in expand_blocker(g, "inc")
    g.remove_node("inc_pool")
    g.remove_edge("input", "inc")
    assert "exactly one input" in expand_blocker(g, "inc")
    g.add_edge("input", "inc")
    g.set_param("inc", "f3x3", 0)  # f3x3_reduce without f3x3: a checker error
    assert "fix its errors" in expand_blocker(g, "inc")


def test_expanded_graph_saves_and_loads(tmp_path):
    g = host_graph(Node("res", "ResidualBlock", RESIDUALS["bottleneck_s2"][0]), (16, 16, 8), 2)
    expand_command(g, "res").do(g)
    path = tmp_path / "x.json"
    fileformat.save(g, path)
    assert fileformat.dumps(fileformat.load(path)) == fileformat.dumps(g)


# --------------------------------------------------------------------- Keras oracle
def _keras_equivalent(block: Node, in_shape, side: int) -> None:
    from playground.keras_build.compile import build

    g = host_graph(block, in_shape, side)
    composite = build(g).model
    expanded_graph = g.copy()
    expand_command(expanded_graph, block.id).do(expanded_graph)
    expanded = build(expanded_graph).model

    rng = np.random.default_rng(0)
    for layer in composite.layers:  # random weights, BN statistics included
        layer.set_weights([rng.normal(0.5, 0.3, w.shape).astype("float32") ** 2
                           if "variance" in v.path else
                           rng.normal(0, 0.3, w.shape).astype("float32")
                           for w, v in zip(layer.get_weights(), layer.weights, strict=True)])
    names_c = {layer.name for layer in composite.layers}
    names_e = {layer.name for layer in expanded.layers}
    assert names_c == names_e
    assert composite.count_params() == expanded.count_params()
    for layer in expanded.layers:
        layer.set_weights(composite.get_layer(layer.name).get_weights())
    x = rng.normal(size=(2, *in_shape)).astype("float32")
    a = np.asarray(composite(x, training=False))
    b = np.asarray(expanded(x, training=False))
    assert a.shape == b.shape == (2, 5)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # the checker's counts are Keras' counts
    assert analyze(expanded_graph).total_params == expanded.count_params()


def test_keras_inception_expansion_computes_the_same():
    _keras_equivalent(Node("inc", "InceptionModule", INCEPTIONS["batch_norm"]), (8, 8, 8), 1)


@pytest.mark.parametrize("name", ["bottleneck_s2", "zero_pad_s2_widen", "zero_pad_s1_widen",
                                  "zero_pad_s2_same_width", "zero_pad_bottleneck_s2"])
def test_keras_residual_expansion_computes_the_same(name):
    params, cin, side = RESIDUALS[name]
    _keras_equivalent(Node("res", "ResidualBlock", params), (8, 8, cin), side)


def test_keras_zero_pad_expansion_on_odd_sizes_computes_the_same():
    # "same" subsampling rounds up (9x7 -> 5x4) in both the composite and the expansion
    _keras_equivalent(Node("res", "ResidualBlock", RESIDUALS["zero_pad_s2_widen"][0]),
                      (9, 7, 8), 2)


def test_expanding_every_composite_of_every_preset():
    from playground.core.commands import UndoStack
    from playground.core.presets import list_presets, load_preset

    checked = 0
    for info in list_presets():
        g = load_preset(info.key)
        comps = [n.id for n in g.nodes if n.type in ("InceptionModule", "ResidualBlock")]
        if not comps:
            continue
        a = analyze(g)
        before = (a.total_params, a.trainable_params, a.macs, a.output_shapes(), a.valid)
        doc = fileformat.dumps(g)
        stack = UndoStack(g)
        for nid in comps:
            if can_expand(g, nid):
                stack.push(expand_command(g, nid))
        assert len(stack) == len(comps), info.key
        b = analyze(g)
        assert (b.total_params, b.trainable_params, b.macs, b.output_shapes(), b.valid) \
            == before, info.key
        assert not any(n.type in ("InceptionModule", "ResidualBlock") for n in g.nodes)
        while stack.can_undo:
            stack.undo()
        assert fileformat.dumps(g) == doc, info.key
        checked += 1
    if not checked:
        pytest.skip("no preset with composites bundled")
