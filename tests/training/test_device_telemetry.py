"""Devices (memory growth, mixed precision, the status-bar line), telemetry of composites, runs."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np

from playground.core.graph import Graph, Node
from playground.training import device
from playground.training.config import RunConfig
from playground.training.runner import run_training
from playground.training.runs import list_runs, read_history, write_history
from tests.training.helpers import tiny


class FakeTF:
    """Just the tf.config surface setup_devices touches."""

    def __init__(self):
        self.growth = []
        outer = self

        class Experimental:
            @staticmethod
            def set_memory_growth(dev, flag):
                if dev == "GPU:1":
                    raise RuntimeError("Physical devices cannot be modified after being "
                                       "initialized")
                outer.growth.append((dev, flag))

            @staticmethod
            def get_device_details(dev):
                return {"device_name": f"Fake {dev}"}

        class Config:
            experimental = Experimental

        self.config = Config


def test_memory_growth_is_set_on_every_gpu_and_described():
    fake = FakeTF()
    text = device.setup_devices(tf=fake, gpus=["GPU:0", "GPU:1"])
    assert fake.growth == [("GPU:0", True)]      # GPU:1 already initialised: left as it was
    assert text == "2 GPUs: Fake GPU:0, Fake GPU:1"
    assert device.describe_device_cached() == text
    assert device.setup_devices(tf=fake, gpus=[]) == "CPU"


def test_describe_device_cached_never_imports_tensorflow():
    code = ("import sys; from playground.training.device import describe_device_cached; "
            "print(describe_device_cached(), 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    assert out.stdout.split() == ["None", "False"], out.stderr


def test_mixed_precision_is_used_then_the_policy_restored():
    import keras

    before = keras.config.dtype_policy().name
    events = []
    result = run_training(tiny(), RunConfig(epochs=1, batch_size=64, mixed_precision=True),
                          sink=events.append, keep_runs=False)
    assert result.status == "finished", result.message
    assert result.model.get_layer("conv").compute_dtype == "float16"
    assert result.model.get_layer("conv").variable_dtype == "float32"
    assert keras.config.dtype_policy().name == before == "float32"
    assert any(e.get("text") == "mixed precision: mixed_float16" for e in events)


def residual_graph() -> Graph:
    graph = Graph("res")
    specs = [("input", "Input", {"shape": [8, 8, 1]}),
             ("stem", "Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same",
                                 "activation": "relu"}),
             ("res1", "ResidualBlock", {"filters": 4, "strides": 1, "kind": "basic"}),
             ("gap", "GlobalAveragePooling2D", {}),
             ("out", "Dense", {"units": 10, "activation": "softmax"})]
    prev = None
    for nid, typ, params in specs:
        graph.add_node(Node(nid, typ, params))
        if prev:
            graph.add_edge(prev, nid)
        prev = nid
    return graph


def test_telemetry_aggregates_composite_blocks_by_node_id():
    events = []
    result = run_training(residual_graph(), RunConfig(epochs=1, batch_size=64),
                          sink=events.append, keep_runs=False)
    assert result.status == "finished", result.message
    telemetry = [e for e in events if e["kind"] == "epoch"][-1]["telemetry"]
    assert set(telemetry) == {"input", "stem", "res1", "gap", "out"}
    inner = result.built.layers_by_node["res1"]
    assert len([layer for layer in inner if layer.weights]) >= 4   # convs and BNs inside
    assert telemetry["res1"]["grad_norm"] > 0 and telemetry["res1"]["weight_change"] > 0
    assert 0.0 <= telemetry["res1"]["dead_relu"] <= 1.0
    assert math.isnan(telemetry["gap"]["dead_relu"]) and telemetry["gap"]["grad_norm"] == 0.0


def test_runs_are_listed_with_their_history(tmp_path):
    for name, accs in (("20260101-000000-a", [0.5, 0.7]), ("20260102-000000-b", [0.6])):
        run = tmp_path / name
        run.mkdir()
        (run / "config.json").write_text('{"config": {"lr": 0.1}}')
        write_history(run, [{"epoch": i + 1, "val_accuracy": a} for i, a in enumerate(accs)])
    (tmp_path / "not-a-run").mkdir()
    runs = list_runs(tmp_path)
    assert [r.label for r in runs] == ["20260102-000000-b", "20260101-000000-a"]
    assert [row["val_accuracy"] for row in read_history(runs[1].path)] == [0.5, 0.7]
    assert runs[0].config["config"]["lr"] == 0.1
    assert np.isclose(runs[1].history[-1]["epoch"], 2)


def test_xla_compiles_the_train_step():
    result = run_training(tiny(), RunConfig(epochs=1, batch_size=64, xla=True),
                          keep_runs=False)
    assert result.status == "finished", result.message
    assert result.model.jit_compile is True
    assert result.history[-1]["val_accuracy"] > 0.1
