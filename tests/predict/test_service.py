"""The inference service: a child process answering predict/maps for a model source spec."""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import pytest

from playground.core import fileformat
from playground.inspect import service_child
from playground.inspect.service import (
    InferenceService,
    ServiceError,
    graph_source,
    imagenet_source,
    live_services,
    run_source,
)

LENET = "presets/lenet5.json"


def test_resolve_source_knows_its_kinds_and_names_a_bad_one():
    with pytest.raises(service_child.SourceError, match="unknown model source 'zip'"):
        service_child.resolve_source({"kind": "zip"})
    with pytest.raises(service_child.SourceError, match="needs a path"):
        service_child.resolve_source({"kind": "run"})
    assert set(service_child.RESOLVERS) >= {"run", "keras", "graph", "imagenet"}
    assert run_source("runs/x") == {"kind": "run", "path": "runs/x"}


def test_the_imagenet_kind_hands_the_graph_to_the_twin_loader(monkeypatch):
    graph = fileformat.load(LENET)
    spec = imagenet_source(graph)
    assert spec["kind"] == "imagenet" and json.dumps(spec)      # plain data
    monkeypatch.setitem(sys.modules, "playground.inspect.twin", None)   # not built yet
    with pytest.raises(service_child.SourceError, match="ImageNet weights"):
        service_child.resolve_source(spec)
    seen = []
    fake = type(sys)("playground.inspect.twin")
    fake.load_imagenet_twin = lambda g: seen.append(g) or "loaded"
    monkeypatch.setitem(sys.modules, "playground.inspect.twin", fake)
    assert service_child.resolve_source(spec) == "loaded"
    assert [n.id for n in seen[0].nodes] == [n.id for n in graph.nodes]


def test_without_tensorflow_the_load_fails_with_a_clear_message(tmp_path, monkeypatch):
    fake = tmp_path / "no_tf" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'tensorflow'\")\n")
    monkeypatch.setenv("PYTHONPATH", str(fake.parent))
    with InferenceService() as service:
        with pytest.raises(ServiceError, match="TensorFlow cannot be imported") as info:
            service.call("load", {"spec": graph_source(fileformat.load(LENET))}, timeout=60)
        assert "pip install tensorflow" in str(info.value)
        assert service.alive                      # the process answered; it did not die
    assert not service.alive and not live_services()


ABORT_HOOK = """
    import os
    import playground.inspect.model as m
    _forward = m.logits_and_probabilities
    def logits_and_probabilities(loaded, x):
        if os.path.exists({marker!r}):
            os.abort()                      # a native crash inside TensorFlow, as it would be
        return _forward(loaded, x)
    m.logits_and_probabilities = logits_and_probabilities
    """


def test_predict_maps_crash_and_restart(tmp_path, monkeypatch):
    """One child: a graph with its recorded weights predicts what Keras says; the maps come
    back; a crash inside the child is reported (open requests and ``on_exit``) and the next
    request starts a new one; a child killed while idle is reported too."""
    from playground.keras_build.compile import build_model
    from tests.child_hooks import inject

    marker = tmp_path / "abort-now"
    inject(monkeypatch, tmp_path, ABORT_HOOK.format(marker=str(marker)))

    graph = fileformat.load(LENET)
    model = build_model(graph)
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.save_weights(str(tmp_path / "lenet.weights.h5"))
    graph.extra["weights"] = "lenet.weights.h5"
    path = tmp_path / "lenet.json"
    fileformat.save(graph, path)
    pixels = (rng.random((32, 32, 1)) * 255).astype(np.uint8)
    exits = []
    with InferenceService(on_exit=exits.append) as service:
        info = service.call("load", {"spec": graph_source(graph, path)})
        assert info.weights.endswith("lenet.weights.h5") and not info.random
        assert info.input_shape == (32, 32, 1) and info.output_shape == (10,)
        assert "c1" in info.nodes and not info.segmenter
        answer = service.call("predict", {"model": info.model_id, "pixels": pixels})
        expected = model(pixels[None].astype(np.float32) / 255.0).numpy()[0]
        np.testing.assert_allclose(answer["probs"], expected, rtol=1e-4, atol=1e-6)
        assert answer["top"][0]["index"] == int(np.argmax(expected))
        maps, images, why = service.call("maps", {"model": info.model_id, "pixels": pixels,
                                                  "node": "c1"})
        assert maps.node == "c1" and maps.gradcam.shape == (28, 28) and why == ""
        np.testing.assert_allclose(maps.kernel, model.get_layer("c1").kernel.numpy())
        assert {"gradcam", "saliency", "features", "filters"} <= set(images)
        # a request for a model replaced meanwhile is marked stale, not an error to show
        done = []
        service.submit("predict", "predict", {"model": -1, "pixels": pixels}, done.append)
        end = time.monotonic() + 30
        while not done and time.monotonic() < end:
            service.poll()
            time.sleep(0.01)
        assert done and done[0].stale
        # a native crash in the child: every open request hears of it, with the signal
        first_pid = service.pid
        marker.touch()
        with pytest.raises(ServiceError, match="ended unexpectedly.*SIGABRT"):
            service.call("predict", {"model": info.model_id, "pixels": pixels})
        marker.unlink()
        assert not service.alive and "SIGABRT" in service.last_exit
        service.poll()
        assert len(exits) == 1 and "SIGABRT" in exits[0].error and exits[0].crashed
        info = service.call("load", {"spec": graph_source(graph, path)})
        assert service.pid != first_pid and service.starts == 2
        again = service.call("predict", {"model": info.model_id, "pixels": pixels})
        np.testing.assert_allclose(again["probs"], expected, rtol=1e-4, atol=1e-6)
        # killed while idle (the out-of-memory killer): on_exit hears of it
        service.kill()
        end = time.monotonic() + 30
        while len(exits) < 2 and time.monotonic() < end:
            service.poll()
            time.sleep(0.01)
        assert "SIGKILL" in exits[1].error and "out of memory?" in exits[1].error
        assert not service.alive and service.starts == 2
        pid = service.pid
    assert not service.alive
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_folder_sample_is_decoded_in_the_child_like_training_decodes_it(tmp_path):
    from playground.data.dataset import load_dataset
    from tests.predict.helpers import write_png

    rng = np.random.default_rng(5)
    for name in ("cat", "dog"):
        (tmp_path / "set" / name).mkdir(parents=True)
        for i in range(3):
            write_png(tmp_path / "set" / name / f"{i}.png",
                      (rng.random((12, 16, 3)) * 255).astype(np.uint8))
    folder = str(tmp_path / "set")
    with InferenceService() as service:
        sample = service.call("sample", {"dataset": folder, "index": 4})
        again = service.call("sample", {"dataset": folder, "index": None})
    data = load_dataset(folder)
    np.testing.assert_array_equal(sample["pixels"], np.asarray(data.x[4]))
    assert sample["label"] == data.class_names[int(data.y[4])] == "dog"
    assert sample["index"] == 4 and sample["count"] == 6 and 0 <= again["index"] < 6


def test_deadlines_suit_each_kind_of_request():
    """Generous for what loads or traces, short for later calls and scaled by the model's
    measured forward pass; an evaluation's grows with its runs."""
    from playground.inspect.service import Deadlines, ModelInfo

    d = Deadlines()
    small = ModelInfo(1, "graph", "g", "g", None, [], (32, 32, 1), (10,), [], seconds=2.0,
                      forward_s=0.002)
    big = ModelInfo(2, "graph", "g", "g", None, [], (224, 224, 3), (1000,), [], seconds=90.0,
                    forward_s=0.5)
    assert d.seconds("load", True, None, {}) == d.load >= 300
    # first calls (a trace): the fixed allowance, or 8 load times of a slow model
    assert d.seconds("predict", True, small, {}) == d.first
    assert d.seconds("maps", True, big, {}) == pytest.approx(8 * 90.0)
    assert d.seconds("sample", True, None, {}) == d.load       # loads (scans) the dataset
    # later calls: 10 s plus 100 forward passes; maps 3 times that
    assert d.seconds("predict", False, small, {}) == pytest.approx(10.2)
    assert d.seconds("predict", False, big, {}) == pytest.approx(60.0)
    assert d.seconds("maps", False, big, {}) == pytest.approx(180.0)
    assert d.seconds("sample", False, big, {}) == pytest.approx(10.0)   # no model work
    assert d.seconds("predict", False, None, {}) == pytest.approx(10.0)
    assert d.seconds("evaluate", True, None, {"runs": ["a", "b"]}) == 2 * d.evaluate
    assert d.seconds("evaluate", True, None, {"runs": None}) == d.evaluate
    # what counts as the same call again: per model; maps per model and node; samples per set
    from playground.inspect.service import _warm_key

    assert _warm_key("predict", {"model": 3, "pixels": None}) == ("predict", 3)
    assert _warm_key("maps", {"model": 3, "node": "c1"}) != _warm_key("maps", {"model": 3,
                                                                            "node": "c3"})
    assert _warm_key("sample", {"dataset": "digits", "input_shape": [32, 32, 1]}) == \
        ("sample", "digits", (32, 32, 1))
    assert hash(_warm_key("maps", {"model": [1], "node": {"odd": 1}}))   # never unhashable


HANG_HOOK = """
    import os
    import time
    import playground.inspect.model as m
    _forward = m.logits_and_probabilities
    def logits_and_probabilities(loaded, x):
        if os.path.exists({marker!r}):     # sleep as long as the file says: a slow first call,
            with open({marker!r}) as f:    # or a deadlock inside TensorFlow (an hour)
                time.sleep(float(f.read()))
        return _forward(loaded, x)
    m.logits_and_probabilities = logits_and_probabilities
    """


def test_a_hung_child_is_killed_at_its_deadline_and_the_next_request_starts_a_new_one(
        tmp_path, monkeypatch):
    """A request the child never answers: past its deadline (short for a later predict) the
    child is killed, every open request of it hears "did not answer within N s", ``on_exit``
    too, and the next request starts a fresh child that answers. A slow *first* call of a
    model is given its generous deadline and is not killed."""
    from playground.inspect.service import Deadlines
    from tests.child_hooks import inject

    marker = tmp_path / "sleep-seconds"
    inject(monkeypatch, tmp_path, HANG_HOOK.format(marker=str(marker)))
    graph = fileformat.load(LENET)
    _weights_beside(graph, tmp_path)
    pixels = (np.random.default_rng(4).random((32, 32, 1)) * 255).astype(np.uint8)
    exits = []
    deadlines = Deadlines(first=60.0, later=1.0, later_per_forward=0.0)
    with InferenceService(on_exit=exits.append, deadlines=deadlines) as service:
        info = service.call("load", {"spec": graph_source(graph, tmp_path / "lenet.json")})
        assert not info.random                 # the same seeded weights in every child
        assert 0.0 < info.forward_s < info.seconds
        # a first call slower than a later call's deadline (a trace): answered, not killed
        marker.write_text("2.5")
        start = time.monotonic()
        first = service.call("predict", {"model": info.model_id, "pixels": pixels})
        assert time.monotonic() - start >= 2.5 and first["top"]
        # a later call that never comes back, and one waiting behind it in its lane
        marker.write_text("3600")
        pid = service.pid
        replies = []
        start = time.monotonic()
        for _ in range(2):
            service.submit("predict", "predict", {"model": info.model_id, "pixels": pixels},
                           replies.append)
        while (len(replies) < 2 or not exits) and time.monotonic() - start < 60:
            service.poll()
            time.sleep(0.01)
        waited = time.monotonic() - start
        assert 1.0 <= waited < 30.0            # killed at the deadline, not an hour later
        assert len(replies) == 2 and all(r.crashed and r.hung for r in replies)
        for reply in replies:
            assert reply.error.startswith("the inference process did not answer within 1 s "
                                          "(a prediction)")
            assert "next request starts a new one" in reply.error
        assert len(exits) == 1 and exits[0].hung and "did not answer" in exits[0].error
        assert not service.alive and "did not answer within 1 s" in service.last_exit
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)                    # killed and reaped
        # the next request starts a fresh child, whose first calls are first calls again
        marker.unlink()
        info = service.call("load", {"spec": graph_source(graph, tmp_path / "lenet.json")})
        assert service.starts == 2 and service.pid != pid
        again = service.call("predict", {"model": info.model_id, "pixels": pixels})
        np.testing.assert_allclose(again["probs"], first["probs"], rtol=1e-5, atol=1e-7)


def _weights_beside(graph, folder) -> None:
    """Seeded weights in a file the graph's ``weights`` key names (same answers in every
    child), the graph saved beside it as ``lenet.json``."""
    from tests.predict.helpers import seeded_model

    seeded_model(graph, seed=2).save_weights(str(folder / "lenet.weights.h5"))
    graph.extra["weights"] = "lenet.weights.h5"
    fileformat.save(graph, folder / "lenet.json")
