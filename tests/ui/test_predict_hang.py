"""The Predict dock in a real MainWindow when its inference process hangs (alive, silent)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from playground.core import fileformat
from tests.ui.conftest import Heart

pytest.importorskip("tensorflow")

LENET = "presets/lenet5.json"


@pytest.fixture
def digits_run(tmp_path):
    """LeNet-5 with seeded weights in a run folder like the runner writes (digits)."""
    from tests.predict.helpers import digits_run as make

    return make(tmp_path, fileformat.load(LENET), seed=1)


def test_a_hung_inference_process_is_reported_killed_and_replaced(
        window, qtbot, digits_run, tmp_path, monkeypatch):
    """A prediction the inference process never answers: the dock says "did not answer within
    N s" (no traceback), the process is killed, the editor kept breathing meanwhile, and the
    next request starts a fresh process that answers with the run's weights."""
    from playground.inspect import service as service_module
    from playground.inspect.images import adapt
    from tests.child_hooks import inject
    from tests.predict.test_service import HANG_HOOK

    marker = tmp_path / "sleep-seconds"
    inject(monkeypatch, tmp_path, HANG_HOOK.format(marker=str(marker)))
    # Loading and first calls keep their generous deadlines; a later predict gets 2 s.
    monkeypatch.setattr(service_module, "DEADLINES",
                        service_module.Deadlines(later=2.0, later_per_forward=0.0))
    run_dir, model, graph = digits_run
    window.doc.set_graph(graph, None)
    view = window.predict_view
    window.predict_dock.show()
    window.predict_dock.raise_()
    qtbot.waitUntil(lambda: view.on_screen(), timeout=5000)
    view.use_run(run_dir, chosen=True)
    qtbot.waitUntil(lambda: view.loaded is not None and not view.busy, timeout=60000)
    view.pick_sample(1)
    qtbot.waitUntil(lambda: view.result is not None and not view.busy, timeout=30000)
    service = view.service
    first_pid = service.pid

    heart = Heart()
    gaps = heart.gaps
    marker.write_text("3600")                         # a deadlock inside TensorFlow
    start = time.monotonic()
    view.request_predict()
    qtbot.waitUntil(lambda: view.loaded is None, timeout=30000)
    waited = time.monotonic() - start
    heart.stop()
    marker.unlink()
    assert 2.0 <= waited < 20.0
    # the editor never waited for the process: its event loop ran all along
    assert len(gaps) > 50 and max(gaps) < 1.0
    said = view.source_label.text()
    assert "the inference process did not answer within 2 s (a prediction)" in said
    assert "next request starts a new one" in said
    assert "did not answer within 2 s" in view.note_label.text()
    for text in (said, view.note_label.text()):
        assert "Traceback" not in text and "Error" not in text
    assert not service.alive
    with pytest.raises(ProcessLookupError):
        os.kill(first_pid, 0)                         # killed and reaped
    assert window.isVisible() and window.doc.graph.name == graph.name     # editor intact
    # the next request starts a fresh process and reloads the run's weights
    view.result = None
    view.pick_sample(4)
    qtbot.waitUntil(lambda: view.result is not None and not view.busy, timeout=60000)
    assert service.starts == 2 and service.pid != first_pid and not view.loaded.random
    expected = model(adapt(view.pad.picture, (32, 32, 1))).numpy()[0]
    assert view.bars.rows[0]["index"] == int(np.argmax(expected))
    assert view.bars.rows[0]["p"] == pytest.approx(float(expected.max()), rel=1e-4)
    pid = service.pid
    window.close()
    assert not service.alive
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
