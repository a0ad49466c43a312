"""Grad-CAM, saliency, feature maps and kernels against an independent GradientTape computation."""

from __future__ import annotations

import numpy as np
import pytest

from playground.inspect.images import adapt
from playground.inspect.maps import InspectError, Inspector
from playground.inspect.model import from_graph
from tests.predict.helpers import pattern, seeded_model, small_graph

tf = pytest.importorskip("tensorflow")


def _loaded(head: str = "dense"):
    graph = small_graph(head)
    loaded = from_graph(graph)
    loaded.model.set_weights(seeded_model(graph).get_weights())
    return loaded


def reference(model, x, layer_name, logits_layer, k, dense_head):
    """Written separately from the app: Keras layers by name, tf.GradientTape, numpy."""
    import keras

    conv_out = model.get_layer(layer_name).output
    if dense_head:
        head = model.get_layer(logits_layer)
        grad_model = keras.Model(model.inputs, [conv_out, head.input])
    else:
        grad_model = keras.Model(model.inputs, [conv_out, model.get_layer(logits_layer).output])
    xt = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        conv, h = grad_model(xt)
        if dense_head:
            head = model.get_layer(logits_layer)
            logits = tf.matmul(h, head.kernel) + head.bias
        else:
            logits = h
        score = logits[0, k]
    grads = tape.gradient(score, conv)[0].numpy()
    gx = tape.gradient(score, xt)[0].numpy()
    conv = conv[0].numpy()
    alpha = grads.mean(axis=(0, 1))
    cam = np.maximum(np.einsum("hwc,c->hw", conv, alpha), 0)
    cam = cam / cam.max()
    return cam, np.abs(gx).max(axis=-1), conv, logits.numpy()[0]


@pytest.mark.parametrize("whole", [True, False], ids=["whole-model", "per-node"])
@pytest.mark.parametrize("head", ["dense", "activation"])
@pytest.mark.parametrize("node", ["a", "b"])
def test_gradcam_and_saliency_match_gradient_tape(head, node, whole):
    loaded = _loaded(head)
    x = adapt(pattern(), loaded.input_shape)
    ins = Inspector(loaded) if whole else Inspector(loaded, whole_model_bytes=0)
    assert ins.whole_model is whole
    maps = ins.run(x, node)
    logits_layer = "out" if head == "dense" else "logits"
    cam, sal, conv, logits = reference(loaded.model, x, node, logits_layer, maps.class_index,
                                       head == "dense")
    assert maps.class_index == int(np.argmax(logits))    # the predicted class by default
    assert maps.gradcam.shape == cam.shape == conv.shape[:2]
    assert cam.max() == pytest.approx(1.0) and maps.gradcam.max() == pytest.approx(1.0)
    np.testing.assert_allclose(maps.gradcam, cam, atol=1e-5)
    np.testing.assert_allclose(maps.saliency, sal, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(maps.features, conv, rtol=1e-5, atol=1e-6)
    probs = loaded.model(x).numpy()[0]
    np.testing.assert_allclose(maps.probs, probs, rtol=1e-5)
    assert "before" in maps.score_note

    other = (maps.class_index + 1) % 3                      # a chosen class
    chosen = ins.run(x, node, other)
    cam2, sal2, _, _ = reference(loaded.model, x, node, logits_layer, other, head == "dense")
    assert chosen.class_index == other
    np.testing.assert_allclose(chosen.gradcam, cam2, atol=1e-5)
    np.testing.assert_allclose(chosen.saliency, sal2, rtol=1e-4, atol=1e-7)


def test_kernels_and_first_layer():
    loaded = _loaded()
    x = adapt(pattern(), loaded.input_shape)
    ins = Inspector(loaded)
    a = ins.run(x, "a")
    np.testing.assert_array_equal(a.kernel, loaded.model.get_layer("a").kernel.numpy())
    assert a.first_layer and a.kernel.shape == (3, 3, 1, 4)
    b = ins.run(x, "b")
    assert not b.first_layer and b.kernel.shape == (3, 3, 4, 6)
    assert ins.run(x, "pool").kernel is None


def test_nodes_without_a_spatial_map_say_why():
    loaded = _loaded()
    x = adapt(pattern(), loaded.input_shape)
    maps = Inspector(loaded).run(x, "out")
    assert maps.features is None and maps.gradcam is None
    assert "node out (Dense)" in maps.reason and "not a spatial map" in maps.reason
    assert maps.saliency.shape == (12, 12)                  # the saliency map still exists


def test_bad_node_and_class_are_named():
    loaded = _loaded()
    x = adapt(pattern(), loaded.input_shape)
    with pytest.raises(InspectError, match="no node 'nope'"):
        Inspector(loaded).run(x, "nope")
    with pytest.raises(InspectError, match=r"class 7 is out of range: the model has 3 classes"):
        Inspector(loaded).run(x, "a", 7)


def test_render_shapes():
    from playground.inspect import render

    loaded = _loaded()
    x = adapt(pattern(), loaded.input_shape)
    maps = Inspector(loaded).run(x, "a")
    grid = render.feature_grid(maps.features)
    assert grid.dtype == np.uint8 and grid.shape[2] == 3
    # 4 channels -> 2 x 2 tiles of 10x10 enlarged 5x to 50 px, with 2 px gaps
    assert grid.shape[:2] == (2 + 2 * 52, 2 + 2 * 52)
    over = render.overlay(x[0], maps.gradcam)
    assert over.shape == (228, 228, 3)
    hot = np.unravel_index(np.argmax(maps.gradcam), maps.gradcam.shape)
    cold = np.unravel_index(np.argmin(maps.gradcam), maps.gradcam.shape)
    # the hottest cell is drawn redder than the coldest one
    def red(cell):
        y, xx = (int((c + 0.5) * 228 / 10) for c in cell)
        return int(over[y, xx, 0]) - int(over[y, xx, 2])
    assert red(hot) > red(cold)


def test_kernels_of_depthwise_transposed_and_composite_nodes():
    from playground.core import fileformat
    from playground.inspect.maps import node_kernel

    graph = fileformat.from_document({
        "format": "keras-playground-graph", "version": 1, "name": "kinds", "nodes": [
            {"id": "input", "type": "Input", "params": {"shape": [16, 16, 3]}},
            {"id": "dw", "type": "DepthwiseConv2D", "params": {"kernel_size": 3,
                                                               "padding": "same"}},
            {"id": "res", "type": "ResidualBlock", "params": {"filters": 8, "strides": 2}},
            {"id": "tr", "type": "Conv2DTranspose", "params": {"filters": 4, "kernel_size": 2,
                                                               "strides": 2}},
            {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}},
            {"id": "out", "type": "Dense", "params": {"units": 5, "activation": "softmax"}}],
        "edges": [{"from": a, "to": b} for a, b in (("input", "dw"), ("dw", "res"),
                                                    ("res", "tr"), ("tr", "gap"),
                                                    ("gap", "out"))]})
    loaded = from_graph(graph)
    model = loaded.model
    dw, _ = node_kernel(loaded, "dw")
    np.testing.assert_array_equal(dw, model.get_layer("dw").kernel.numpy().reshape(3, 3, 1, 3))
    tr, _ = node_kernel(loaded, "tr")
    np.testing.assert_array_equal(tr, model.get_layer("tr").kernel.numpy().transpose(0, 1, 3, 2))
    assert tr.shape == (2, 2, 8, 4)
    none, why = node_kernel(loaded, "res")
    assert none is None and "holds 3 convolutions" in why
    x = adapt((np.arange(16 * 16 * 3) % 255).astype(np.uint8).reshape(16, 16, 3),
              loaded.input_shape)
    maps = Inspector(loaded).run(x, "res")                 # a composite's output is its map
    assert maps.gradcam.shape == (8, 8) and maps.features.shape == (8, 8, 8)


def test_the_last_images_maps_serve_every_node_until_the_image_or_class_changes():
    loaded = _loaded()
    ins = Inspector(loaded)
    calls = []
    real = ins._all_nodes

    def counted():
        calls.append(1)
        return real()

    ins._all_nodes = counted
    x, y = adapt(pattern(seed=1), loaded.input_shape), adapt(pattern(seed=2), loaded.input_shape)
    per_node = Inspector(loaded, whole_model_bytes=0)
    for node, image, cls, expected_calls in (("a", x, None, 1), ("b", x, None, 1),
                                             ("gap", x, None, 1), ("b", y, None, 2),
                                             ("b", y, 2, 3), ("a", y, 2, 3)):
        maps, ref = ins.run(image, node, cls), per_node.run(image, node, cls)
        assert len(calls) == expected_calls, (node, cls)
        np.testing.assert_allclose(maps.saliency, ref.saliency, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(maps.probs, ref.probs, rtol=1e-6)
        assert maps.class_index == ref.class_index and maps.reason == ref.reason
        if ref.gradcam is None:
            assert maps.gradcam is None and maps.features is None
        else:
            np.testing.assert_allclose(maps.gradcam, ref.gradcam, atol=1e-5)
            np.testing.assert_allclose(maps.features, ref.features, rtol=1e-6)


@pytest.mark.parametrize("whole", [True, False], ids=["whole-model", "per-node"])
def test_a_node_feeding_only_another_output_says_its_grad_cam_is_empty(whole):
    from playground.core import fileformat

    nodes = [{"id": "input", "type": "Input", "params": {"shape": [12, 12, 1]}},
             {"id": "a", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 3,
                                                      "activation": "relu"}},
             {"id": "g", "type": "GlobalAveragePooling2D", "params": {}},
             {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
             {"id": "c", "type": "Conv2D", "params": {"filters": 2, "kernel_size": 3}},
             {"id": "g2", "type": "GlobalAveragePooling2D", "params": {}},
             {"id": "out2", "type": "Dense", "params": {"units": 2, "activation": "softmax"}}]
    edges = [("input", "a"), ("a", "g"), ("g", "out"), ("a", "c"), ("c", "g2"), ("g2", "out2")]
    graph = fileformat.from_document({
        "format": "keras-playground-graph", "version": 1, "name": "two heads", "nodes": nodes,
        "edges": [{"from": s, "to": d} for s, d in edges]})
    loaded = from_graph(graph)
    ins = Inspector(loaded, whole_model_bytes=2**28 if whole else 0)
    x = adapt(pattern(), loaded.input_shape)
    side = ins.run(x, "c")
    assert "does not depend on node c" in side.reason and not side.gradcam.any()
    main_branch = ins.run(x, "a")
    assert main_branch.reason == "" and main_branch.gradcam.max() == pytest.approx(1.0)


def test_warm_up_traces_once_and_keeps_nothing():
    loaded = _loaded()
    ins = Inspector(loaded)
    ins.warm_up()
    assert ins._whole_fn is not None and ins._last is None
    traced = ins._whole_fn.experimental_get_tracing_count()
    ins.run(adapt(pattern(), loaded.input_shape), "b")
    assert ins._whole_fn.experimental_get_tracing_count() == traced == 1
    ins.forget()
    assert ins._last is None
