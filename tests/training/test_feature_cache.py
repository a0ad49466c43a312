"""Issue 10 point 6: a frozen, deterministic prefix runs once per image; the epochs train the
rest on the cache, to the same accuracy as plain fit, faster; the linear probe on node X."""

from __future__ import annotations

import time

import numpy as np
import pytest

from playground import cli
from playground.core.fileformat import save as save_graph
from playground.core.shapes import analyze
from playground.data.dataset import Dataset
from playground.data.digits import load_digits
from playground.training.config import RunConfig
from playground.training.feature_cache import find_cut, linear_probe_graph
from playground.training.runner import run_training
from tests.training.helpers import chain, tiny


def backbone(frozen: bool = True, dropout: bool = False):
    """Three frozen conv stages at 32x32 (heavy enough to dominate an epoch), a new head."""
    specs = [("input", "Input", {"shape": [32, 32, 1]}),
             ("c1", "Conv2D", {"filters": 32, "kernel_size": 3, "padding": "same"}),
             ("bn1", "BatchNormalization", {}),
             ("r1", "Activation", {"activation": "relu"}),
             ("c2", "Conv2D", {"filters": 64, "kernel_size": 3, "padding": "same",
                               "activation": "relu"}),
             ("p2", "MaxPooling2D", {"pool_size": 2}),
             ("c3", "Conv2D", {"filters": 64, "kernel_size": 3, "padding": "same",
                               "activation": "relu"}),
             ("p3", "MaxPooling2D", {"pool_size": 2})]
    if dropout:
        specs.append(("drop", "Dropout", {"rate": 0.5}))
    specs += [("flatten", "Flatten", {}),
              ("out", "Dense", {"units": 10, "activation": "softmax"})]
    frozen_ids = {"c1": False, "bn1": False, "c2": False, "c3": False} if frozen else {}
    return chain("backbone", specs, frozen_ids)


def test_the_cut_is_the_deepest_fixed_node_the_rest_flows_through():
    import keras

    from playground.keras_build.compile import build

    graph = backbone()
    built = build(graph)
    cut = find_cut(graph, built.analysis, built.layers_by_node)
    assert cut is not None and cut.node == "flatten" and cut.rest == ["out"]
    # Only frozen nodes count without the built layers (weightless nodes are not frozen).
    assert find_cut(graph, analyze(graph)).node == "bn1"
    # A Dropout is random in training: the cut stops before it.
    graph = backbone(dropout=True)
    built = build(graph)
    assert find_cut(graph, built.analysis, built.layers_by_node).node == "p3"
    # Nothing frozen: no cut.
    graph = backbone(frozen=False)
    built = build(graph)
    assert find_cut(graph, built.analysis, built.layers_by_node) is None
    keras.backend.clear_session()


def test_a_frozen_random_block_ends_the_prefix_without_built_layers():
    """Randomness is a fact of the block (BlockSpec.training_behaviour), not of Keras classes:
    a frozen Dropout or StochasticDepth still draws anew every epoch, so the cut stops before
    it even where only the graph is known."""
    for random_block, params in (("Dropout", {"rate": 0.5}), ("StochasticDepth", {"rate": 0.2})):
        graph = chain("frozen_random", [
            ("input", "Input", {"shape": [8, 8, 1]}),
            ("c1", "Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}),
            ("noise", random_block, params),
            ("c2", "Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}),
            ("flatten", "Flatten", {}),
            ("out", "Dense", {"units": 10, "activation": "softmax"})],
            {"c1": False, "noise": False, "c2": False})
        assert find_cut(graph, analyze(graph)).node == "c1", random_block


def test_a_residual_branch_is_cut_after_the_merge_not_inside():
    from playground.keras_build.compile import build

    graph = chain("res", [("input", "Input", {"shape": [8, 8, 1]}),
                          ("a", "Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}),
                          ("b", "Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same"})],
                  {"a": False, "b": False})
    from playground.core.graph import Node

    graph.add_node(Node("add", "Add", {}))
    graph.add_edge("a", "add")
    graph.add_edge("b", "add")
    graph.add_node(Node("gap", "GlobalAveragePooling2D", {}))
    graph.add_edge("add", "gap")
    graph.add_node(Node("out", "Dense", {"units": 10, "activation": "softmax"}))
    graph.add_edge("gap", "out")
    built = build(graph)
    assert find_cut(graph, built.analysis, built.layers_by_node).node == "gap"
    graph.set_trainable("b", True)            # a trainable branch: only "a" is fixed, but the
    built = build(graph)                      # rest (b, add) also reads "a" -> cut at "a"
    assert find_cut(graph, built.analysis, built.layers_by_node).node == "a"


def digits32() -> Dataset:
    from playground.data.adapt import adapt_array

    data = load_digits()
    x = np.clip(np.rint(adapt_array(data.x, (32, 32, 1)) * 255), 0, 255).astype(np.uint8)
    return Dataset("digits32", x, data.y, data.class_names)


def run(cache: bool, tmp_path, name: str):
    import keras

    keras.utils.set_random_seed(0)
    events: list[dict] = []
    t0 = time.perf_counter()
    result = run_training(backbone(), RunConfig(epochs=6, batch_size=64, feature_cache=cache,
                                                telemetry=False),
                          dataset=digits32(), run_dir=tmp_path / name, sink=events.append)
    seconds = time.perf_counter() - t0
    assert result.status == "finished", result.message
    logs = [e["text"] for e in events if e["kind"] == "log"]
    return result, seconds, logs


@pytest.mark.slow
def test_cached_features_reach_the_same_accuracy_faster(tmp_path):
    plain, plain_s, plain_logs = run(False, tmp_path, "plain")
    cached, cached_s, cached_logs = run(True, tmp_path, "cached")
    assert not any("feature cache" in line for line in plain_logs)
    assert any("feature cache: the frozen nodes up to flatten" in line for line in cached_logs)
    assert abs(cached.evaluation["accuracy"] - plain.evaluation["accuracy"]) <= 0.01
    assert cached.evaluation["accuracy"] > 0.85
    for a, b in zip(cached.history, plain.history, strict=True):
        assert abs(a["val_accuracy"] - b["val_accuracy"]) <= 0.02
    # The frozen layers are untouched; the head of the full model is the trained one.
    np.testing.assert_array_equal(cached.model.get_layer("c1").get_weights()[0],
                                  plain.model.get_layer("c1").get_weights()[0])
    assert cached_s < plain_s, (cached_s, plain_s)
    # The run folder keeps the full model's weights (loadable into the graph's model).
    from playground.keras_build.compile import build_model

    model = build_model(backbone())
    model.load_weights(tmp_path / "cached" / "best.weights.h5")
    np.testing.assert_array_equal(model.get_layer("c1").get_weights()[0],
                                  cached.model.get_layer("c1").get_weights()[0])


def test_augmentation_runs_every_epoch_so_nothing_is_cached(tmp_path):
    events: list[dict] = []
    result = run_training(tiny(), RunConfig(epochs=1, batch_size=64, augment=["flip"]),
                          run_dir=tmp_path / "r", sink=events.append, freeze=["conv"])
    assert result.status == "finished"
    texts = [e.get("text", "") for e in events]
    assert not any(t.startswith("feature cache: the frozen") for t in texts)
    assert any(t.startswith("feature cache: not used; the frozen nodes up to flatten") and
               "--augment none" in t for t in texts)


def test_features_over_the_budget_go_to_a_file_in_the_run_folder(tmp_path):
    import keras

    from playground.training.feature_cache import compute_features

    inputs = keras.Input((4, 4, 1))
    prefix = keras.Model(inputs, keras.layers.Flatten()(inputs))
    x = np.arange(10 * 16, dtype=np.float32).reshape(10, 4, 4, 1)
    path = tmp_path / "run" / "feature_cache" / "train.npy"
    out = compute_features(prefix, x, 4, str(path), budget=100, chunk=3)
    assert isinstance(out, np.memmap) and path.is_file()
    np.testing.assert_array_equal(np.load(path), x.reshape(10, 16))
    kept = compute_features(prefix, x, 4, str(tmp_path / "other.npy"), budget=10**6)
    assert not isinstance(kept, np.memmap) and not (tmp_path / "other.npy").exists()


def test_linear_probe_graph_freezes_the_stages_up_to_the_node():
    probe = linear_probe_graph(backbone(frozen=False), "c2")
    assert probe.node_ids == ["input", "c1", "bn1", "r1", "c2", "c2_probe_pool", "probe"]
    assert [n.id for n in probe.nodes if not n.trainable] == ["c1", "bn1", "r1", "c2"]
    assert probe.node("c2_probe_pool").type == "GlobalAveragePooling2D"
    assert probe.node("probe").params == {"units": 10, "activation": "softmax"}
    assert linear_probe_graph(backbone(), "c3", "flatten").node("c3_probe_pool").type == \
        "Flatten"
    with pytest.raises(Exception, match="no node 'nope'"):
        linear_probe_graph(backbone(), "nope")


def test_cli_linear_probe_on_a_node_trains_on_its_cached_features(tmp_path, capsys):
    trained = tmp_path / "trained"
    result = run_training(tiny(shape=(8, 8, 1)), RunConfig(epochs=3, batch_size=32,
                                                           optimizer="adam", lr=0.01),
                          run_dir=trained)
    assert result.status == "finished"
    path = tmp_path / "tiny.json"
    save_graph(tiny(shape=(8, 8, 1)), path)
    code = cli.main(["train", str(path), "--dataset", "digits", "--epochs", "3", "--lr", "0.01",
                     "--linear-probe", "conv", "--init-weights", str(trained),
                     "--run-dir", str(tmp_path / "probe")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "feature cache: the frozen nodes up to conv_probe_pool" in captured.err
    assert "weights from" in captured.err and "conv" in captured.err
    assert cli.main(["train", str(path), "--linear-probe", "nope"]) == 2
    assert "no node 'nope'" in capsys.readouterr().err


def test_cached_and_plain_runs_agree_on_a_tiny_seeded_case(tmp_path):
    """Fast twin of the slow test above: the same history and accuracy, cache or not."""
    import keras

    results = []
    for cache in (False, True):
        keras.utils.set_random_seed(0)
        results.append(run_training(tiny(), RunConfig(epochs=2, batch_size=64, lr=0.01,
                                                      feature_cache=cache, telemetry=False),
                                    run_dir=tmp_path / str(cache), freeze=["conv"]))
    plain, cached = results
    assert plain.status == cached.status == "finished"
    assert abs(plain.evaluation["accuracy"] - cached.evaluation["accuracy"]) <= 0.01
    for a, b in zip(plain.history, cached.history, strict=True):
        assert abs(a["loss"] - b["loss"]) < 1e-3


def test_stop_and_resume_on_cached_features_follows_the_checkpoint(tmp_path):
    import threading

    stop = threading.Event()

    def sink(event):
        if event["kind"] == "batch" and event["step"] >= 2:
            stop.set()

    run = tmp_path / "run"
    config = RunConfig(epochs=3, batch_size=64, lr=0.01, telemetry=False)
    first = run_training(tiny(), config, sink=sink, stop=stop, run_dir=run, freeze=["conv"])
    assert first.status == "stopped" and [r["epoch"] for r in first.history] == [1]
    assert (run / "feature_cache" / "cut.json").is_file() and (run / "backup").is_dir()
    events: list[dict] = []
    second = run_training(tiny(), config, sink=events.append, run_dir=run, resume=True,
                          freeze=["conv"])
    assert second.status == "finished", second.message
    assert [e for e in events if e["kind"] == "start"][0]["initial_epoch"] == 1
    assert [r["epoch"] for r in second.history] == [1, 2, 3]
    # Resuming that checkpoint without the cut (augmentation now) is refused, not misloaded.
    stop.clear()
    run_training(tiny(), config, sink=sink, stop=stop, run_dir=tmp_path / "again",
                 freeze=["conv"])
    third = run_training(tiny(), RunConfig(epochs=3, batch_size=64, augment=["flip"]),
                         run_dir=tmp_path / "again", resume=True, freeze=["conv"])
    assert third.status == "error" and "cached features of node flatten" in third.message


def test_streamed_batches_are_cached_in_memory_or_spilled_to_disk(tmp_path):
    """A tf.data pipeline (the streaming folder source) gives the same features and labels as
    the arrays; past the budget they go to a .npy in the run folder."""
    import keras
    import tensorflow as tf

    from playground.keras_build.compile import build
    from playground.training.feature_cache import (
        compute_features,
        compute_stream_features,
        fit_on_features,
        split_model,
    )

    graph = tiny()
    graph.set_trainable("conv", False)
    built = build(graph)
    cut = find_cut(graph, built.analysis, built.layers_by_node)
    prefix, _ = split_model(built, cut)
    data = load_digits()
    x = data.x[:300].astype("float32") / 255.0
    y = data.y[:300]
    stream = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    expected = compute_features(prefix, x, 32)
    kept, ky = compute_stream_features(prefix, stream, str(tmp_path / "a.npy"), budget=10**9)
    assert not isinstance(kept, np.memmap) and not (tmp_path / "a.npy").exists()
    np.testing.assert_allclose(kept, expected, atol=1e-6)
    np.testing.assert_array_equal(ky, y)
    spilled, sy = compute_stream_features(prefix, stream, str(tmp_path / "c" / "b.npy"),
                                          budget=1000)
    assert isinstance(spilled, np.memmap) and sorted(p.name for p in (tmp_path / "c").iterdir()
                                                     ) == ["b.npy"]
    np.testing.assert_allclose(np.load(tmp_path / "c" / "b.npy"), expected, atol=1e-6)
    np.testing.assert_array_equal(sy, y)

    def compile_head(head):
        head.compile(optimizer=keras.optimizers.Adam(0.01),
                     loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    fitted = fit_on_features(built, cut, x_train=stream, y_train=None, x_val=None, y_val=None,
                             batch_size=32, seed=0, epochs=5, callbacks=[],
                             compile_head=compile_head, run_dir=str(tmp_path / "run"))
    accuracy = np.mean(built.model.predict(x, verbose=0).argmax(1) == y)
    assert fitted.cut.node == "flatten" and accuracy > 0.6


def test_mixed_precision_head_gets_a_loss_scaler(tmp_path, monkeypatch):
    import keras

    from playground.training import feature_cache

    heads = []
    real = feature_cache.fit_on_features

    def spy(*args, **kwargs):
        fitted = real(*args, **kwargs)
        heads.append(fitted.head)
        return fitted

    monkeypatch.setattr(feature_cache, "fit_on_features", spy)
    result = run_training(tiny(), RunConfig(epochs=1, batch_size=64, mixed_precision=True,
                                            telemetry=False), keep_runs=False, freeze=["conv"])
    assert result.status == "finished", result.message
    (head,) = heads
    assert head.dtype_policy.name == "mixed_float16"
    assert isinstance(head.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"     # restored after the run
