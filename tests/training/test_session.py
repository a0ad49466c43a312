"""TrainingSession: a run in a child process, typed events, Stop in every phase, crashes contained.

Each test spawns a real training process (TensorFlow is imported there, not here) on the built-in
digits with a model of a few hundred parameters.
"""

from __future__ import annotations

import os
import signal
import textwrap
import time

import pytest

from playground.core import fileformat
from playground.training import events as ev
from playground.training.session import TrainingSession
from tests.training.helpers import tiny

FAST = {"dataset": "digits", "epochs": 2, "batch_size": 64, "lr": 0.01, "telemetry": False}
LONG = {**FAST, "epochs": 200}


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def epochs_seen(session: TrainingSession) -> int:
    return len(session.history)


def test_in_process_runs_the_same_job_in_a_thread_and_leaves_no_thread(tmp_path):
    """``in_process=True`` (the train command's PLAYGROUND_TRAIN_IN_PROCESS): the same job,
    pipe and events in a thread of this process; a Stop is acknowledged at the next batch,
    and the run's threads (its stop listener included) end with it."""
    import threading

    before = set(threading.enumerate())
    session = TrainingSession(tiny(), LONG, run_dir=tmp_path / "run", in_process=True)
    session.start()
    assert session.pid == os.getpid()
    wait_for(lambda: epochs_seen(session) >= 1, 120, "an epoch")
    session.stop()
    assert session.wait(60)
    assert session.state == "stopped" and session.result.run_status == "stopped"
    assert session.acknowledged_in is not None and session.result.exitcode == 0
    events = session.drain()
    assert [type(e) for e in events][-1] is ev.Stopped
    assert any(isinstance(e, ev.Epoch) for e in events)
    assert (tmp_path / "run" / "last.weights.h5").is_file()
    wait_for(lambda: not set(threading.enumerate()) - before, 10, "the run's threads to end")


def test_a_run_finishes_in_a_child_process_with_typed_events(tmp_path):
    session = TrainingSession(tiny(), FAST, run_dir=tmp_path / "run")
    assert session.state == "ready" and session.pid is None
    started = time.perf_counter()
    session.start()
    assert time.perf_counter() - started < 2.0        # start() returns at once
    assert session.pid not in (None, os.getpid())
    assert session.state == "starting"
    assert session.wait(180)
    assert session.state == "finished"
    result = session.result
    assert result.ok and result.run_status == "finished" and result.exitcode == 0
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert result.run_dir == str(tmp_path / "run")
    assert (tmp_path / "run" / "history.csv").is_file()
    assert result.evaluation and 0.0 <= result.evaluation["accuracy"] <= 1.0
    events = session.drain()
    kinds = [type(e) for e in events]
    assert ev.Started in kinds and ev.Evaluation in kinds and kinds[-1] is ev.Finished
    assert [e.epoch for e in events if isinstance(e, ev.Epoch)] == [1, 2]
    batches = [e for e in events if isinstance(e, ev.Batch)]
    assert batches and all(0 < b.fraction <= 1 for b in batches)
    assert kinds.index(ev.Started) < kinds.index(ev.Epoch)


def test_a_graph_path_and_a_bad_setting(tmp_path):
    path = tmp_path / "tiny.json"
    fileformat.save(tiny(), path)
    session = TrainingSession(path, FAST, keep_runs=False)
    assert session.graph.node_ids == tiny().node_ids
    from playground.training.config import ConfigError

    with pytest.raises(ConfigError, match="epochs"):
        TrainingSession(path, {**FAST, "epochs": 0})     # refused before any process starts


def test_stop_during_start_up_cancels_before_training(tmp_path):
    session = TrainingSession(tiny(), LONG, run_dir=tmp_path / "run").start()
    time.sleep(0.3)          # the child is still importing TensorFlow
    pressed = time.perf_counter()
    session.stop()
    assert session.state == "stopping"
    assert session.wait(10)
    took = time.perf_counter() - pressed
    assert session.state == "stopped", session.result
    assert took < 2.0, (took, session.result)
    # Terminated while TensorFlow was loading, or it saw the Stop itself at its first check.
    message = session.result.message
    assert "before training began" in message or "nothing was trained" in message, message
    assert session.result.history == []
    assert not os.path.exists(f"/proc/{session.pid}") or _zombie_or_gone(session.pid)


def _zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] in ("Z", "X")
    except OSError:
        return True


def test_stop_mid_run_keeps_the_finished_epochs(tmp_path):
    session = TrainingSession(tiny(), LONG, run_dir=tmp_path / "run").start()
    wait_for(lambda: epochs_seen(session) >= 2, 180, "two epochs")
    session.stop()
    assert session.wait(30)
    # Training ended at the next batch; the weights were then written, not lost to a kill.
    assert session.acknowledged_in is not None and session.acknowledged_in < 2.0
    assert session.state == "stopped"
    assert (tmp_path / "run" / "last.weights.h5").is_file()
    assert session.result.run_status == "stopped"
    assert len(session.result.history) >= 2
    assert isinstance(session.drain()[-1], ev.Stopped)


def test_sigkill_of_the_child_is_reported_and_the_epochs_are_kept(tmp_path):
    session = TrainingSession(tiny(), LONG, run_dir=tmp_path / "run").start()
    wait_for(lambda: epochs_seen(session) >= 1, 180, "an epoch")
    os.kill(session.pid, signal.SIGKILL)
    assert session.wait(10)
    assert session.state == "failed"
    message = session.result.message
    assert "ended unexpectedly (killed by signal 9 (SIGKILL): out of memory?)" in message
    assert "finished epoch(s)" in message and str(tmp_path / "run") in message
    assert len(session.result.history) >= 1
    assert isinstance(session.drain()[-1], ev.Failed)


SEGFAULT_AFTER_FIRST_EPOCH = textwrap.dedent("""
    # Loaded by the training child only (through PYTHONPATH): a real segfault mid-run, once the
    # first epoch's history row is on disk.
    import ctypes, os, threading, time

    def _crash_later():
        path = os.path.join(os.environ["SEGV_RUN_DIR"], "history.csv")
        while True:
            try:
                with open(path) as f:
                    if len(f.read().splitlines()) >= 2:
                        break
            except OSError:
                pass
            time.sleep(0.01)
        ctypes.string_at(0)

    if os.environ.get("SEGV_RUN_DIR"):
        threading.Thread(target=_crash_later, daemon=True).start()
""")


def test_a_real_segfault_in_the_child_leaves_the_session_intact(tmp_path, monkeypatch):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SEGFAULT_AFTER_FIRST_EPOCH)
    run_dir = tmp_path / "run"
    monkeypatch.setenv("PYTHONPATH", str(hook))
    monkeypatch.setenv("SEGV_RUN_DIR", str(run_dir))
    graph = tiny()
    session = TrainingSession(graph, LONG, run_dir=run_dir).start()
    assert session.wait(180)
    assert session.state == "failed"
    assert "killed by signal 11 (SIGSEGV)" in session.result.message
    assert len(session.result.history) >= 1
    assert graph.node_ids == tiny().node_ids       # the caller's graph is untouched


def test_a_queue_runs_three_learning_rates_one_after_another(tmp_path):
    from playground.training.run_queue import RunQueue
    from playground.training.runs import list_runs

    queue = RunQueue()
    spans: dict[int, list[float]] = {}
    for i, lr in enumerate((0.003, 0.01, 0.03)):
        session = queue.add(tiny(), {**FAST, "epochs": 1, "lr": lr},
                            run_dir=tmp_path / "runs" / f"lr{lr}")

        def note(event, i=i):
            if isinstance(event, ev.Started):
                spans.setdefault(i, []).append(time.monotonic())
            if isinstance(event, ev.Ended):
                spans.setdefault(i, []).append(time.monotonic())
        session.subscribe(note)
    assert [s.state for s in queue.sessions] == ["ready"] * 3
    queue.start()
    assert queue.wait(300)
    assert [s.state for s in queue.sessions] == ["finished"] * 3
    # One after another: each started training after the previous one had ended.
    assert spans[0][-1] <= spans[1][0] and spans[1][-1] <= spans[2][0]
    runs = list_runs(tmp_path / "runs")
    assert sorted(r.config["config"]["lr"] for r in runs) == [0.003, 0.01, 0.03]


def test_stopping_a_queue_cancels_the_runs_not_started(tmp_path):
    from playground.training.run_queue import RunQueue

    queue = RunQueue()
    first = queue.add(tiny(), LONG, run_dir=tmp_path / "a")
    second = queue.add(tiny(), LONG, run_dir=tmp_path / "b")
    queue.start()
    wait_for(lambda: first.state in ("starting", "running"), 30, "the first run")
    queue.stop()
    assert queue.wait(30)
    assert first.state == "stopped" and second.state == "ready"
    assert not (tmp_path / "b").exists()


SLOW_VALIDATION = """
import time
import playground.training.callbacks as c
real = c.ProgressCallback.on_test_batch_begin
def slow(self, batch, logs=None):
    time.sleep(0.2)
    return real(self, batch, logs)
c.ProgressCallback.on_test_batch_begin = slow
"""


def test_stop_during_validation_is_acknowledged_and_keeps_the_epoch(tmp_path, monkeypatch):
    """A Stop that lands while the epoch validates (made slow in the child) cuts validation
    short and is acknowledged (so the session waits for the weights instead of terminating the
    run): the epoch just trained is kept, in the history and the run folder."""
    from tests.child_hooks import inject

    inject(monkeypatch, tmp_path, SLOW_VALIDATION)
    session = TrainingSession(tiny(), {**LONG, "val_split": 0.5}, run_dir=tmp_path / "run",
                              batch_interval=0.0)

    def stop_at_the_last_batch(event) -> None:
        if isinstance(event, ev.Batch) and event.epoch == 1 and event.step == event.steps:
            session.stop()

    session.subscribe(stop_at_the_last_batch)
    session.start()
    assert session.wait(180)
    assert session.state == "stopped", session.result.message
    assert session.acknowledged_in is not None and session.acknowledged_in < 1.0
    stopping = [e for e in session.drain() if isinstance(e, ev.Stopping)]
    assert [(e.epoch, e.step) for e in stopping] == [(1, stopping[0].step)]
    assert session.stopped_in is not None
    assert [row["epoch"] for row in session.result.history] == [1]
    assert session.result.history[0]["val_loss"] is None   # validation was cut short
    assert (tmp_path / "run" / "history.csv").is_file()


def test_kill_ends_the_child_at_once(tmp_path):
    session = TrainingSession(tiny(), LONG, run_dir=tmp_path / "run").start()
    wait_for(lambda: epochs_seen(session) >= 1, 180, "an epoch")
    session.kill()
    assert session.wait(10)
    assert session.state == "failed"
    assert "killed by signal 9" in session.result.message
    assert session.result.history and session.result.exitcode == -signal.SIGKILL
