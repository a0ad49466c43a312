"""Several training steps per compiled call: chosen from the model's size, the same training as
one step per call, and a Stop still seen within one call."""

from __future__ import annotations

import threading

import numpy as np

from playground.core.presets import load_preset
from playground.core.shapes import analyze
from playground.training.config import ConfigError, RunConfig
from playground.training.runner import run_training
from playground.training.steps import MAX_STEPS, choose_steps
from tests.training.helpers import tiny


def test_a_small_model_runs_several_steps_per_call_and_a_big_one_one():
    lenet = analyze(load_preset("lenet5")).macs            # 416,520 multiply-adds per image
    choice = choose_steps(0, lenet, 32, streamed=False, steps_per_epoch=45)
    # 3 passes x 416,520 x 32 images / 5e9 per s = 8.0 ms per step: 6 steps make 50 ms.
    assert choice.steps == 6 and "~8 ms" in choice.reason
    resnet = analyze(load_preset("resnet50")).macs
    assert choose_steps(0, resnet, 32, streamed=False, steps_per_epoch=45).steps == 1
    assert choose_steps(0, 10, 32, streamed=False, steps_per_epoch=1000).steps == MAX_STEPS
    assert choose_steps(0, 10, 32, streamed=False, steps_per_epoch=3).steps == 3


def test_streamed_and_distributed_runs_and_the_users_setting():
    assert choose_steps(0, 10, 32, streamed=True, steps_per_epoch=100).steps == 1
    assert choose_steps(8, 10, 32, streamed=False, steps_per_epoch=100,
                        distributed=True).steps == 1
    asked = choose_steps(8, 10**12, 32, streamed=True, steps_per_epoch=100)
    assert asked.steps == 8 and "set in the run settings" in asked.line()
    assert choose_steps(500, 10, 32, streamed=False, steps_per_epoch=45).steps == 45


def test_a_negative_setting_is_refused_by_name():
    try:
        RunConfig.from_dict({"steps_per_execution": -1})
    except ConfigError as exc:
        assert "steps_per_execution = -1" in str(exc)
    else:
        raise AssertionError("a negative steps_per_execution was accepted")


def _events():
    seen: list[dict] = []
    return seen, seen.append


def test_several_steps_per_call_train_exactly_as_one_step_per_call():
    runs = {}
    for steps in (1, 0):   # one per call, then the automatic choice (the tiny model: 32)
        seen, sink = _events()
        result = run_training(tiny(), RunConfig(epochs=2, batch_size=64, lr=0.01,
                                                telemetry=False, steps_per_execution=steps),
                              sink=sink, keep_runs=False)
        assert result.status == "finished", result.message
        logs = "\n".join(e["text"] for e in seen if e["kind"] == "log")
        runs[steps] = (result, [e for e in seen if e["kind"] == "batch"], logs)
    one, many = runs[1], runs[0]
    assert "steps per compiled call: 1 (set in the run settings)" in one[2]
    assert "steps per compiled call: 23 (automatic" in many[2]   # capped at 23 steps an epoch
    assert int(many[0].model.optimizer.iterations.numpy()) == 2 * 23
    for a, b in zip(one[0].model.get_weights(), many[0].model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(one[0].history, many[0].history, strict=True):
        assert abs(a["loss"] - b["loss"]) < 1e-5 and a["val_accuracy"] == b["val_accuracy"]
    # One batch event per call; each counts every image of the steps it ran.
    assert [(e["epoch"], e["step"]) for e in many[1]] == [(1, 23), (2, 23)]
    for event in many[1]:
        images = event["images_per_s"] * event["elapsed"]
        assert abs(images - (event["epoch"] * 23) * 64) < 1e-6 * images + 1


def test_the_epochs_last_partial_call_reports_the_epochs_last_step():
    seen, sink = _events()
    # 1,438 images at batch 64: 23 steps an epoch, in calls of 10, 10 and 3 steps.
    result = run_training(tiny(), RunConfig(epochs=1, batch_size=64, telemetry=False,
                                            steps_per_execution=10),
                          sink=sink, keep_runs=False)
    assert result.status == "finished"
    batches = [e for e in seen if e["kind"] == "batch"]
    assert [e["step"] for e in batches] == [10, 20, 23]
    assert batches[-1]["fraction"] == 1.0 and batches[-1]["eta"] == 0.0


def test_a_stop_is_seen_at_the_next_call():
    stop = threading.Event()
    steps_seen: list[int] = []

    def sink(event):
        if event["kind"] == "batch":
            steps_seen.append(event["step"])
            stop.set()

    # 8x8 digits at batch 16: 90 steps an epoch, 8 steps a call.
    result = run_training(tiny(), RunConfig(epochs=5, batch_size=16, telemetry=False,
                                            steps_per_execution=8),
                          sink=sink, stop=stop, keep_runs=False)
    assert result.status == "stopped"
    done = int(result.model.optimizer.iterations.numpy())
    # The first call's event asks to stop (from Keras' callback thread, so the next call may
    # already have begun): training ends within a call or two, not at the epoch's end (90).
    assert steps_seen[0] == 8 and done in (8, 16, 24), (steps_seen, done)


def test_a_head_trained_on_cached_features_runs_more_steps_per_call():
    seen, sink = _events()
    graph = load_preset("lenet5")
    result = run_training(graph, RunConfig(epochs=1, batch_size=32, telemetry=False),
                          sink=sink, keep_runs=False, freeze=["c1", "c3"])
    assert result.status == "finished", result.message
    logs = "\n".join(e["text"] for e in seen if e["kind"] == "log")
    assert "steps per compiled call: 6 (automatic" in logs              # the whole model
    assert "trained on cached features: steps per compiled call: 32 (automatic" in logs
    batches = [e["step"] for e in seen if e["kind"] == "batch"]
    assert batches == [32, 45]                                          # 45 steps an epoch


def test_a_nan_inside_a_call_names_the_calls_batches():
    result = run_training(tiny(), RunConfig(epochs=2, batch_size=64, optimizer="sgd", lr=1e30,
                                            telemetry=False, steps_per_execution=8),
                          keep_runs=False)
    assert result.status == "nan"
    assert result.message.startswith(
        "the loss became NaN at epoch 1, batch 8 or earlier (batches 1-8 ran in one compiled "
        "call); training stopped and the last good weights were kept")
    assert all(np.isfinite(w).all() for w in result.model.get_weights())


def test_a_stop_after_the_epochs_last_call_is_acknowledged_at_the_epochs_end():
    """With several steps per call the end of an epoch may hold no batch hook at all (its last
    call, then validation in one call): a Stop that arrives there is acknowledged at the epoch's
    end, the epoch kept whole, before the telemetry's first gradient pass is traced."""
    import keras

    from playground.training.callbacks import ProgressCallback

    seen, sink = _events()
    stop = threading.Event()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")

    class Telemetry:
        def compute(self):
            raise AssertionError("telemetry ran after a Stop")

    progress = ProgressCallback(sink, stop=stop, epochs=3, steps=10, batch_size=4,
                                telemetry=Telemetry())
    progress.set_model(model)
    progress.on_train_begin()
    progress.on_epoch_begin(0)
    stop.set()
    progress.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.4, "val_accuracy": 0.9})
    assert model.stop_training and progress.stopped_by_user
    assert [e["kind"] for e in seen] == ["start", "stopping", "epoch"]
    assert seen[1]["step"] == 10                           # after the epoch's last step
    assert progress.history[-1]["val_loss"] == 0.4         # the epoch stands whole
