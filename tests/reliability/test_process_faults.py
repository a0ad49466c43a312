"""Issue 11, process faults of a training run: a run folder that is not ours, a full disk,
``kill -9`` mid-checkpoint, SIGTERM, a closed stdout, ``--resume`` without a checkpoint, a run
the kernel killed, Stop during start-up and after training.

The kill, signal and pipe tests run the real ``train`` command in a child process (a thin
wrapper may shorten the checkpoint interval or slow one checkpoint write down so the kill lands
inside it); the rest run in-process on the ~400-parameter model and the built-in 8x8 digits.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.reliability.helpers import files_in, run_cli, tiny_document, tiny_graph, write_graph

ROOT = Path(__file__).resolve().parents[2]

# Runs `playground train ...`; its training child gets two test hooks (tests/child_hooks.py): a
# shorter checkpoint interval, and (when TEST_ARM names a file that exists) a checkpoint write
# that stops half-way and waits to be killed, after truncating the file it was writing to half
# its size.
WRAPPER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, os.environ["PLAYGROUND_ROOT"])
    from playground.cli import main
    code = main(sys.argv[1:])
    print(f"tensorflow imported by the command: {'tensorflow' in sys.modules}", file=sys.stderr)
    sys.exit(code)
""")
CHILD_HOOK = """
    import os, time
    from playground.training import callbacks
    callbacks.CHECKPOINT_SECONDS = float(os.environ.get("TEST_CHECKPOINT_SECONDS", "30"))
    arm = os.environ.get("TEST_ARM")
    if arm:
        import keras
        real = keras.Model.save_weights
        def save_weights(self, filepath, *args, **kwargs):
            real(self, filepath, *args, **kwargs)
            if "backup" in str(filepath) and os.path.exists(arm):
                with open(filepath, "r+b") as handle:
                    handle.truncate(os.path.getsize(filepath) // 2)
                open(arm + ".writing", "w").close()
                time.sleep(600)
        keras.Model.save_weights = save_weights
    if os.environ.get("TEST_STRAY_PRINT"):   # a library printing to stdout in the child
        real_end = callbacks.ProgressCallback.on_epoch_end
        def on_epoch_end(self, epoch, logs=None):
            print("stray print from the training process", flush=True)
            return real_end(self, epoch, logs)
        callbacks.ProgressCallback.on_epoch_end = on_epoch_end
"""


@pytest.fixture
def graph_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    return write_graph(tmp_path / "tiny.json", tiny_document())


def _spawn(tmp_path: Path, *args: str, stderr=None, **env: str) -> subprocess.Popen:
    from tests.child_hooks import hook_folder

    script = tmp_path / "train_wrapper.py"
    script.write_text(WRAPPER, encoding="utf-8")
    hooks = hook_folder(tmp_path, CHILD_HOOK)
    environ = dict(os.environ, PLAYGROUND_ROOT=str(ROOT),
                   PYTHONPATH=os.pathsep.join((str(ROOT), str(hooks))),
                   PLAYGROUND_RUNS_DIR=str(tmp_path / "runs"), TF_CPP_MIN_LOG_LEVEL="2",
                   **env)
    environ.pop("PLAYGROUND_TRAIN_IN_PROCESS", None)   # the real training child
    return subprocess.Popen([sys.executable, str(script), "train", *args],
                            stdout=subprocess.PIPE, stderr=stderr or subprocess.PIPE, text=True,
                            env=environ, cwd=tmp_path)


def _wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the process ended early (exit {proc.returncode}): {out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.05)


def _reap(proc: subprocess.Popen) -> tuple[str, str]:
    """Kill if still running; collect the output and close the pipes."""
    if proc.poll() is None:
        proc.kill()
    try:
        out, err = proc.communicate(timeout=60)
    except ValueError:  # pipes already closed by the test
        out, err = "", ""
    return out or "", err or ""


def _temp_files(folder: Path) -> list[str]:
    return [n for n in files_in(folder) if n.startswith(".") and ("tmp" in n)] \
        if folder.is_dir() else []


def _checkpoint_epoch(run: Path) -> int:
    return json.loads((run / "backup" / "training_metadata.json").read_text())["epoch"]


# ------------------------------------------------------------------ High 5: --run-dir
def test_run_dir_refuses_a_folder_the_app_did_not_make(graph_file, tmp_path, capsys):
    """A non-empty folder without the marker is refused (exit 2) and nothing in it changes;
    a file is refused; a new folder, an empty folder and the app's own run folder are used."""
    mine = tmp_path / "my-project"
    (mine / "backup").mkdir(parents=True)
    (mine / "backup" / "notes.txt").write_text("precious")
    (mine / "config.json").write_text('{"mine": true}')
    (mine / "history.csv").write_text("my,data\n")
    before = {p: p.read_bytes() for p in mine.rglob("*") if p.is_file()}
    code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs",
                             "1", "--run-dir", mine)
    assert code == 2
    assert f"--run-dir {mine}: the folder is not empty and is not a run folder made by this " \
           "app" in err
    assert {p: p.read_bytes() for p in mine.rglob("*") if p.is_file()} == before

    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    code, _, err = run_cli(capsys, "train", graph_file, "--run-dir", a_file)
    assert code == 2 and "exists and is not a folder" in err

    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (empty, tmp_path / "new" / "run"):
        code, _, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs",
                               "1", "--batch-size", "128", "--run-dir", folder)
        assert code == 0, err
        assert (folder / ".keras-playground-run").is_file()
        assert (folder / "config.json").is_file() and (folder / "history.csv").is_file()
    # The app's own run folder may be used again (a fresh run in it).
    code, _, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs", "1",
                           "--batch-size", "128", "--run-dir", empty)
    assert code == 0, err


def test_resume_without_a_checkpoint_says_so_and_exits_2(graph_file, tmp_path, capsys):
    for folder in (tmp_path / "never-ran", tmp_path / "empty"):
        if folder.name == "empty":
            folder.mkdir()
        code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits",
                                 "--run-dir", folder, "--resume")
        assert code == 2
        assert f"--resume: {folder} has no checkpoint to continue from" in err
        assert out == ""


# ------------------------------------------------------------------ High 6: full disk
def _fail_backup_writes_after(monkeypatch, good: int) -> list[str]:
    """keras' save_weights writes half a file, then fails with ENOSPC, from the ``good``+1-th
    checkpoint write on (the way HDF5 fails when the disk fills up mid-write)."""
    import keras

    real = keras.Model.save_weights
    calls: list[str] = []

    def save_weights(self, filepath, *args, **kwargs):
        if "backup" in str(filepath):
            calls.append(str(filepath))
            if len(calls) > good:
                Path(filepath).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(filepath))
        return real(self, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    return calls


def test_full_disk_stops_naming_the_path_and_keeps_the_last_checkpoint(tmp_path,
                                                                       monkeypatch):
    from playground.training import callbacks
    from playground.training.config import RunConfig
    from playground.training.rundir import has_checkpoint
    from playground.training.runner import run_training

    monkeypatch.setattr(callbacks, "CHECKPOINT_SECONDS", 0.0, raising=False)
    calls = _fail_backup_writes_after(monkeypatch, good=2)
    run = tmp_path / "run"
    # One step per epoch (1,438 training images), so every checkpoint is an epoch's end.
    result = run_training(tiny_graph(), RunConfig(epochs=6, batch_size=2048, telemetry=False),
                          run_dir=run)
    assert len(calls) == 3
    assert result.status == "error"
    assert result.message.startswith(f"cannot write {run / 'backup' / 'latest.weights.h5'}: "
                                     "No space left on device; training stopped")
    assert "Traceback" not in result.message
    # The checkpoint of epoch 2 is whole and resumable; no partial file is left anywhere.
    assert has_checkpoint(run) and _checkpoint_epoch(run) == 2
    assert _temp_files(run) == [] and _temp_files(run / "backup") == []
    assert not (run / ".running").exists()
    monkeypatch.undo()
    resumed = run_training(tiny_graph(), RunConfig(epochs=3, batch_size=2048, telemetry=False),
                           run_dir=run, resume=True)
    assert resumed.status == "finished", resumed.message
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 256 KiB tmpfs (needs root and mount; skipped elsewhere)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def test_a_real_full_disk_ends_with_a_message_not_a_crash(graph_file, tiny_disk, monkeypatch,
                                                         capsys, tmp_path):
    """The run folder's disk fills up after epoch 2 (a filler file takes the rest): exit 1 with
    one line naming the file, no traceback, the last good checkpoint kept, no partial files.
    The disk fills from inside the training process (tests/child_hooks.py)."""
    from tests.child_hooks import inject

    inject(monkeypatch, tmp_path, f"""
        from playground.training import callbacks

        callbacks.CHECKPOINT_SECONDS = 0.0
        real = callbacks.ProgressCallback.on_epoch_end

        def fill_after_epoch_two(self, epoch, logs=None):
            real(self, epoch, logs)
            if epoch == 1:
                with open({str(tiny_disk / "filler")!r}, "wb", buffering=0) as handle:
                    try:
                        while True:
                            handle.write(b"x" * 4096)
                    except OSError:
                        pass

        callbacks.ProgressCallback.on_epoch_end = fill_after_epoch_two
    """)
    run = tiny_disk / "run"
    code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs",
                             "6", "--batch-size", "128", "--run-dir", run)
    assert code == 1
    assert re.search(rf"error: cannot write {re.escape(str(run))}/\S+: No space left on "
                     "device; training stopped", err), err
    assert (run / "backup" / "latest.weights.h5").is_file() and _checkpoint_epoch(run) == 1
    assert _temp_files(run) == [] and _temp_files(run / "backup") == []


# ------------------------------------------------------------------ High 7: kill -9
def test_kill_9_during_a_checkpoint_write_keeps_the_checkpoint_and_resume_works(
        graph_file, tmp_path, capsys):
    """A real `train`'s training process is killed with SIGKILL while it writes a checkpoint
    (the write is held half-way, its file truncated): the command says how the process ended
    (exit 1), the previous checkpoint is intact, and --resume continues from it and cleans the
    partial file up."""
    run = tmp_path / "run"
    arm = tmp_path / "arm"
    proc = _spawn(tmp_path, str(graph_file), "--dataset", "digits", "--epochs", "500",
                  "--batch-size", "128", "--run-dir", str(run),
                  TEST_CHECKPOINT_SECONDS="0.2", TEST_ARM=str(arm))
    try:
        _wait_for(lambda: (run / "backup" / "training_metadata.json").exists(), 120, proc)
        arm.touch()
        _wait_for(lambda: Path(f"{arm}.writing").exists(), 60, proc)
        child = json.loads((run / ".running").read_text())["pid"]
        assert child != proc.pid                  # the training process, not the command
        os.kill(child, signal.SIGKILL)
        proc.wait(60)
    finally:
        out, err = _reap(proc)
    assert proc.returncode == 1, err
    assert ("error: the training process ended unexpectedly (killed by signal 9 (SIGKILL): "
            "out of memory?)") in err
    assert "Traceback" not in err
    assert not (run / ".running").exists()        # reported now, not again at the next start
    epoch = _checkpoint_epoch(run)               # may be a mid-epoch checkpoint (epoch 0)
    assert _temp_files(run / "backup")           # the interrupted write's partial file

    code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs",
                             str(epoch + 2), "--batch-size", "128", "--run-dir", run,
                             "--resume")
    assert code == 0, err
    assert "was killed" not in err
    assert "resuming from the last checkpoint" in err
    assert out.splitlines()[0].startswith(f"epoch {epoch + 1}/{epoch + 2}:")
    assert _temp_files(run / "backup") == [] and not (run / ".running").exists()


def test_long_epochs_are_checkpointed_mid_epoch(tmp_path, monkeypatch):
    """With epochs longer than the interval, checkpoints are also written inside an epoch
    (naming that epoch, so a resume redoes it from the saved weights)."""
    from playground.training import callbacks, checkpoint
    from playground.training.config import RunConfig
    from playground.training.runner import run_training

    monkeypatch.setattr(callbacks, "CHECKPOINT_SECONDS", 0.0, raising=False)
    saved: list[tuple[int, int]] = []
    real = checkpoint.save_backup

    def record(model, backup_dir, epoch, batch):
        saved.append((epoch, batch))
        return real(model, backup_dir, epoch, batch)

    monkeypatch.setattr(checkpoint, "save_backup", record)
    result = run_training(tiny_graph(), RunConfig(epochs=2, batch_size=256, telemetry=False,
                                                  steps_per_execution=1),
                          run_dir=tmp_path / "run")
    assert result.status == "finished"
    steps = 6  # 1,438 training images / 256: batches 0..5, checkpointed before 1..5
    assert [(0, b) for b in range(1, steps)] == [s for s in saved if s[0] == 0 and s[1]]
    assert (1, 0) in saved and saved[-1] == (2, 0)
    assert callbacks.ThrottledBackup(str(tmp_path / "b")).min_interval == 0.0
    monkeypatch.undo()
    assert callbacks.ThrottledBackup(str(tmp_path / "b")).min_interval == 30.0


# ------------------------------------------------------------------ SIGTERM, closed stdout
def test_sigterm_stops_like_stop_keeps_the_checkpoint_and_resume_continues(graph_file,
                                                                          tmp_path, capsys):
    run = tmp_path / "run"
    proc = _spawn(tmp_path, str(graph_file), "--dataset", "digits", "--epochs", "1000",
                  "--batch-size", "128", "--run-dir", str(run))
    try:
        first = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    finally:
        out, err = _reap(proc)
    assert first.startswith("epoch 1/1000:"), first + err
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert "SIGTERM: stopping after the current batch" in err
    assert f"stopped by SIGTERM; the checkpoint in {run} is kept (continue with --resume)" in err
    assert out.splitlines()[-1].startswith("final (stopped):")
    assert "tensorflow imported by the command: False" in err   # the child trained
    assert (run / "process.log").is_file()                       # ... and logged there
    epoch = _checkpoint_epoch(run)
    assert epoch >= 1
    assert _temp_files(run) == [] and _temp_files(run / "backup") == []
    assert not (run / ".running").exists()
    code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs",
                             str(epoch + 1), "--batch-size", "128", "--run-dir", run,
                             "--resume")
    assert code == 0, err
    assert "was killed" not in err
    assert out.splitlines()[0].startswith(f"epoch {epoch + 1}/{epoch + 1}:")


def test_a_closed_stdout_never_stops_training_and_save_is_written(graph_file, tmp_path):
    """`train ... | head -1`: the reader leaves after the first line; training goes on to the
    end and --save is written; exit 0, no traceback. What the training process prints to its
    stdout goes to stderr: it never mixes into the epoch lines or hits the closed pipe."""
    saved = tmp_path / "m.keras"
    with open(tmp_path / "stderr.txt", "w", encoding="utf-8") as errors:
        proc = _spawn(tmp_path, str(graph_file), "--dataset", "digits", "--epochs", "4",
                      "--batch-size", "128", "--no-run", "--save", str(saved), stderr=errors,
                      TEST_STRAY_PRINT="1")
        try:
            first = proc.stdout.readline()
            proc.stdout.close()
            proc.wait(timeout=180)
        finally:
            _reap(proc)
    err = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    assert first.startswith("epoch 1/4:")
    assert proc.returncode == 0, err
    assert saved.is_file() and saved.stat().st_size > 0
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert err.count("stray print from the training process") == 4


# ------------------------------------------------------------------ killed by the kernel
def test_a_run_killed_by_the_kernel_is_reported_once_at_the_next_start(tmp_path):
    from playground.training import rundir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    run = rundir.claim(tmp_path / "runs" / "r1")
    (run / ".running").write_text(json.dumps({"pid": int(dead.stdout), "start": "1",
                                              "since": "2026-11-30 10:00:00"}))
    (run / "history.csv").write_text("epoch,loss\n1,2.0\n2,1.5\n")
    alive = rundir.claim(tmp_path / "runs" / "r2")
    rundir.begin(alive)                           # this very process: still training
    notes = rundir.killed_runs(tmp_path / "runs")
    assert len(notes) == 1
    assert notes[0].startswith(f"the run in {run} (started 2026-11-30 10:00:00) was killed "
                               "while training, after 2 finished epoch(s): most likely the "
                               "system ran out of memory")
    assert rundir.killed_runs(tmp_path / "runs") == []   # said once
    rundir.check(alive)                           # our own run: usable
    rundir.end(alive)
    # A folder another live process is training in is refused.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = rundir._process_start(other.pid)
        (alive / ".running").write_text(json.dumps({"pid": other.pid, "start": start}))
        with pytest.raises(rundir.RunDirError, match=f"another training process \\(pid "
                                                      f"{other.pid}\\) is writing"):
            rundir.check(alive)
        assert rundir.killed_note(alive) is None
    finally:
        other.kill()
        other.wait()


# ------------------------------------------------------------------ Stop
@pytest.mark.parametrize("when, said", [
    ("loading dataset", "while loading the dataset"),   # Stop pressed while the data loads
    ("model:", "while building the model"),            # ... while the model is built
    ("training:", "before the first training step"),   # ... just before fit's first step
])
def test_stop_during_start_up_cancels_before_any_training(tmp_path, when, said):
    from playground.training.config import RunConfig
    from playground.training.runner import run_training

    stop = threading.Event()
    events = []

    def sink(event):
        events.append(event)
        if event["kind"] == "log" and event["text"].startswith(when):
            stop.set()

    result = run_training(tiny_graph(), RunConfig(epochs=50, batch_size=16), sink=sink,
                          stop=stop, run_dir=tmp_path / "run")
    assert result.status == "stopped"
    assert result.message == f"stopped {said}; nothing was trained"
    assert not [e for e in events if e["kind"] in ("batch", "epoch")]
    assert result.history == [] and result.evaluation is None
    assert [e["status"] for e in events if e["kind"] == "done"] == ["stopped"]
    assert not (tmp_path / "run" / ".running").exists()
    if when != "loading dataset":   # the run folder exists from the data on, with both files
        assert (tmp_path / "run" / "config.json").is_file()
        assert (tmp_path / "run" / "history.csv").read_text().startswith("epoch,loss,")


def test_after_stop_validation_and_evaluation_are_skipped(tmp_path, monkeypatch):
    import keras

    from playground.training.config import RunConfig
    from playground.training.runner import run_training

    predicted = []
    monkeypatch.setattr(keras.Model, "predict",
                        lambda self, *a, **k: predicted.append(1) or pytest.fail("evaluated"))
    stop = threading.Event()

    def sink(event):
        if event["kind"] == "batch" and event["step"] >= 3:
            stop.set()

    result = run_training(tiny_graph(), RunConfig(epochs=50, batch_size=16, telemetry=False),
                          sink=sink, stop=stop, run_dir=tmp_path / "run", batch_every=1)
    assert result.status == "stopped"
    assert result.evaluation is None and predicted == []
    assert [(r["epoch"], r["val_loss"]) for r in result.history] == [(1, None)]
    assert (tmp_path / "run" / "last.weights.h5").is_file()

