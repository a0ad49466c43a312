"""The importer's findings from real models: call arguments, keras.ops calls, nested models,
application helper layers, and refusals that name the layer and its class."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from playground import cli
from playground.core import fileformat
from playground.core.graph import Graph, Node
from playground.keras_build.compile import build
from playground.keras_build.importer import ModelImportError, import_config, import_model
from tests.keras_build.test_importer import config_of, round_trip

L = keras.layers


def test_resizing_from_our_own_export_imports(tmp_path):
    """Keras records training=True on a Resizing call; it changes nothing there."""
    graph = Graph("resize")
    graph.add_node(Node("image", "Input", {"shape": [20, 16, 3]}))
    graph.add_node(Node("resize", "Resizing", {"height": 8, "width": 8}))
    graph.add_node(Node("flat", "Flatten", {}))
    graph.add_edge("image", "resize")
    graph.add_edge("resize", "flat")
    path = tmp_path / "resize.keras"
    build(graph).model.save(path)
    imported = import_model(path)
    assert imported.graph.node("resize").params == {"height": 8, "width": 8}


def test_training_flag_forced_on_a_dropout_is_refused():
    inputs = keras.Input((6,), name="x")
    y = L.Dropout(0.5, name="mc_dropout")(inputs, training=True)
    with pytest.raises(ModelImportError,
                       match=r"layer 'mc_dropout' \(Dropout\) is called with training"):
        import_config(config_of(keras.Model(inputs, y)), "mc.keras")


def ops_model():
    inputs = keras.Input((6, 6, 4), name="x")
    a = L.Conv2D(4, 3, padding="same", name="conv")(inputs)
    b = inputs + 3.0
    c = b * (1.0 / 6.0)
    d = 2.0 - c
    e = d / 4.0
    f = e - 0.5
    g = a + f                      # two tensors: Add
    h = g * a                      # two tensors: Multiply
    return keras.Model(inputs, h, name="ops")


def test_keras_ops_with_constants_and_between_tensors_import():
    notes: list[str] = []
    graph = import_config(config_of(ops_model()), "ops.keras", notes)
    types = [n.type for n in graph.nodes]
    assert types.count("Rescaling") == 5 and types.count("Add") == 1 \
        and types.count("Multiply") == 1
    scales = {(n.params.get("scale", 1.0), n.params.get("offset", 0.0))
              for n in graph.nodes if n.type == "Rescaling"}
    assert scales == {(1.0, 3.0), (1.0 / 6.0, 0.0), (-1.0, 2.0), (0.25, 0.0), (1.0, -0.5)}
    assert any("became Rescaling" in n for n in notes)
    assert any("became Add/Multiply" in n for n in notes)
    round_trip(ops_model())


def test_an_unsupported_op_is_refused_naming_layer_and_class():
    inputs = keras.Input((4,), name="x")
    y = ops.sqrt(ops.abs(inputs))
    with pytest.raises(ModelImportError) as info:
        import_config(config_of(keras.Model(inputs, y)), "sqrt.keras")
    text = str(info.value)
    assert "(keras.ops Absolute from 'keras.src.ops.numpy')" in text
    assert "(keras.ops Sqrt from 'keras.src.ops.numpy')" in text
    assert "custom code" not in text


def test_nested_functional_and_sequential_models_are_inlined():
    x = keras.Input((8, 8, 3), name="image")
    stem = keras.Sequential([keras.Input((8, 8, 3)), L.Conv2D(4, 3, name="stem_conv"),
                             L.BatchNormalization(name="stem_bn")], name="stem")
    inner_in = keras.Input((6, 6, 4), name="block_in")
    inner_out = L.Add(name="block_add")([inner_in, L.Conv2D(4, 1, name="block_conv")(inner_in)])
    block = keras.Model(inner_in, inner_out, name="block")
    y = block(stem(x))
    y = L.GlobalAveragePooling2D(name="gap")(y)
    model = keras.Model(x, L.Dense(3, name="head")(y), name="nested")
    notes: list[str] = []
    graph = import_config(config_of(model), "nested.keras", notes)
    assert [n.id for n in graph.nodes] == ["image", "stem_conv", "stem_bn", "block_conv",
                                           "block_add", "gap", "head"]
    assert graph.inputs_of("block_add") == ["stem_bn", "block_conv"]
    assert notes == ["2 nested models inlined: 'stem', 'block'"]
    round_trip(model)


def test_a_nested_model_called_twice_is_refused():
    x = keras.Input((4,), name="x")
    inner = keras.Sequential([keras.Input((4,)), L.Dense(4, name="d")], name="twice")
    model = keras.Model(x, inner(inner(x)))
    with pytest.raises(ModelImportError, match="nested model 'twice' is called 2 times"):
        import_config(config_of(model), "twice.keras")


def test_application_helpers_and_drop_path():
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    x = keras.Input((5, 5, 4), name="x")
    a = L.Conv2D(4, 1, name="branch")(x)
    s = LayerScale(0.5, 4, name="scale")(a)
    d = StochasticDepth(0.2, name="drop_path")(s)
    r = CustomScaleLayer(0.17, name="residual")([x, d])
    r = L.Dropout(0.3, noise_shape=(None, 1, 1, 1), name="whole_sample")(r)
    model = keras.Model(x, r, name="helpers")
    graph = round_trip(model)
    assert graph.node("scale").type == "LayerScale"
    assert graph.node("scale").params == {"init_values": 0.5}
    assert graph.node("drop_path").type == "StochasticDepth"
    assert graph.node("drop_path").params == {"rate": 0.2}
    assert graph.node("residual").type == "ScaledAdd"
    assert graph.node("residual").params == {"scale": 0.17}
    assert graph.node("whole_sample").type == "StochasticDepth"
    assert graph.inputs_of("residual") == ["x", "drop_path"]


def test_new_blocks_round_trip_through_import():
    x = keras.Input((6, 6, 6), name="x")
    y = L.Rescaling([0.5, 1, 2, 1, 1, 1], offset=-1.0, name="rescale")(x)
    y = L.Normalization(mean=[1, 2, 3, 4, 5, 6], variance=[1, 2, 1, 2, 1, 2], name="norm")(y)
    y = L.GroupNormalization(groups=3, epsilon=1e-5, name="gn")(y)
    y = L.Reshape((6, 6, 2, 3), name="split")(y)
    y = L.Permute((1, 2, 4, 3), name="shuffle")(y)
    y = L.Reshape((6, 6, 6), name="merge")(y)
    gate = L.GlobalAveragePooling2D(keepdims=True, name="squeeze")(y)
    y = L.Multiply(name="excite")([y, gate])
    y = L.Activation("hard_silu", name="hswish")(y)
    model = keras.Model(x, y, name="modern")
    graph = round_trip(model)
    assert graph.node("rescale").params == {"scale": [0.5, 1.0, 2.0, 1.0, 1.0, 1.0],
                                            "offset": -1.0}
    assert graph.node("shuffle").params == {"dims": [1, 2, 4, 3]}
    assert graph.node("gn").params == {"groups": 3, "epsilon": 1e-5}
    text = fileformat.dumps(graph)
    assert fileformat.loads(text, "modern.json").node("norm").params["mean"] == [1, 2, 3, 4, 5, 6]


def test_adapted_normalization_weights_and_python_export(tmp_path):
    x = keras.Input((4, 4, 3), name="x")
    norm = L.Normalization(name="norm")
    norm.adapt(np.random.default_rng(0).normal(5, 2, (16, 4, 4, 3)).astype("float32"))
    model = keras.Model(x, L.Conv2D(2, 1, name="c")(norm(x)), name="adapted")
    source = tmp_path / "adapted.keras"
    model.save(source)
    out = tmp_path / "adapted.json"
    assert cli.main(["import", str(source), "--out", str(out), "--with-weights"]) == 0
    script = tmp_path / "adapted.py"
    assert cli.main(["export", str(out), "--format", "python", "--out", str(script)]) == 0
    assert "layers.Normalization(" in script.read_text()


def test_new_custom_layers_in_a_generated_script(tmp_path):
    """LayerScale, ScaledAdd and ChannelShuffle are pasted into the script, which rebuilds the
    same model."""
    import runpy

    from playground.keras_build.codegen import generate

    graph = Graph("custom")
    graph.add_node(Node("x", "Input", {"shape": [4, 4, 6]}))
    graph.add_node(Node("scale", "LayerScale", {"init_values": 0.5}))
    graph.add_node(Node("shuffle", "ChannelShuffle", {"groups": 3}))
    graph.add_node(Node("sum", "ScaledAdd", {"scale": 0.2}))
    graph.add_edge("x", "scale")
    graph.add_edge("scale", "shuffle")
    graph.add_edge("x", "sum")
    graph.add_edge("shuffle", "sum")
    built = build(graph)
    script = tmp_path / "custom.py"
    script.write_text(generate(built, graph))
    model = runpy.run_path(str(script))["build_model"]()
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 6)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(built.model(x)), atol=1e-6)


@pytest.mark.parametrize("config", [
    {"class_name": "Functional", "config": {"layers": [{"class_name": "Add",
                                                        "module": "keras.src.ops.numpy",
                                                        "config": {"name": "a"},
                                                        "inbound_nodes": "garbage"}]}},
    {"class_name": "Functional", "config": {"layers": [
        {"class_name": "Sequential", "config": {"name": "inner", "layers": 5},
         "inbound_nodes": [{"args": [3], "kwargs": {}}]}]}},
    {"class_name": "Functional", "config": {"layers": [
        {"class_name": "Conv2D", "config": {"name": "c"},
         "inbound_nodes": [[["x", "not a number", 0, {}]]]}]}},
])
def test_malformed_configs_are_refused_with_a_message(config):
    with pytest.raises(ModelImportError) as info:
        import_config(config, "odd.keras")
    assert "Traceback" not in str(info.value) and "odd.keras" in str(info.value)


def test_training_flag_forced_on_a_batch_norm_is_refused_and_on_a_rescaling_ignored():
    """Which blocks the training flag changes is BlockSpec.training_behaviour: BatchNorm's
    (batch statistics) is refused, Rescaling's (none) is harmless and dropped."""
    inputs = keras.Input((4, 4, 2), name="x")
    y = L.Rescaling(0.5, name="scale")(inputs, training=True)
    y = L.BatchNormalization(name="bn")(y, training=True)
    with pytest.raises(ModelImportError) as caught:
        import_config(config_of(keras.Model(inputs, y)), "bn.keras")
    problems = " ".join(caught.value.problems) or str(caught.value)
    assert "layer 'bn' (BatchNormalization) is called with training" in problems
    assert "'scale'" not in problems


@pytest.mark.slow
def test_convnext_imports_without_dense_warnings():
    """ConvNeXt's per-position MLP (Dense on a 4-D tensor inside each block) is not a
    forgotten Flatten: the ConvNeXtTiny import had 36 such warnings."""
    from playground.core.shapes import analyze

    model = keras.applications.ConvNeXtTiny(weights=None, input_shape=(64, 64, 3))
    graph = import_config(config_of(model), "convnext_tiny.keras")
    analysis = analyze(graph)
    assert analysis.valid
    assert [str(p) for p in analysis.warnings] == []
    keras.backend.clear_session()
