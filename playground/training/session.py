"""A training run as a Qt-free session whose work happens in a child process.

The panel, the ``train`` command and users' scripts are views of a :class:`TrainingSession`: they
start it, read its typed events (:mod:`playground.training.events`) and stop it. The run itself
executes in a *spawned* process (:mod:`playground.training.child`), so

- Stop is prompt in every phase: the child is asked to stop at the next batch. If it answers
  within :attr:`TrainingSession.stop_grace` seconds (training has ended; it is writing the
  weights it keeps) it is given the time to finish that; if it does not (importing TensorFlow,
  building a big model, tracing the first batch, validating) it is terminated, then killed. What
  was kept is then what the run folder holds: the finished epochs' history and the last
  checkpoint;
- a crash inside TensorFlow (segfault, abort, the out-of-memory killer's SIGKILL) ends the child
  only: the session reports it, with the signal, and keeps the finished epochs;
- the editor's event loop never shares a GIL with the training loop.

Scripting::

    from playground.training.session import TrainingSession
    session = TrainingSession("presets/lenet5.json", {"dataset": "digits", "epochs": 3})
    session.start()
    session.wait()
    print(session.state, session.result.message, session.result.history[-1])
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.core.errors import PlaygroundError
from playground.core.fileformat import load, to_document
from playground.core.graph import Graph
from playground.training import events as ev
from playground.training.config import RunConfig

STATES = ("ready", "starting", "running", "stopping", "stopped", "finished", "failed")
ENDED = ("stopped", "finished", "failed")
PROCESS_LOG = "process.log"

# What a signal that ended the child most likely means, in the user's words.
SIGNAL_HINTS = {
    signal.SIGKILL: "out of memory?",
    signal.SIGSEGV: "a crash inside TensorFlow or a native library",
    signal.SIGABRT: "aborted by TensorFlow or a native library",
    signal.SIGBUS: "a crash inside a native library",
    signal.SIGTERM: "terminated from outside",
}


@dataclass
class SessionResult:
    """How a session ended. ``status`` is the session's final state; ``run_status`` the run's
    own word when the child reported one (``nan``, ``oom``, ``early_stopped``...)."""

    status: str
    message: str
    history: list[dict[str, Any]] = field(default_factory=list)
    evaluation: dict[str, Any] | None = None
    run_dir: str | None = None
    run_status: str | None = None
    exitcode: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("finished", "stopped")


def _graph_of(graph_or_path: Graph | str | os.PathLike[str]) -> Graph:
    if isinstance(graph_or_path, Graph):
        return graph_or_path.copy()
    return load(os.fspath(graph_or_path))


def _config_of(config: dict[str, Any] | RunConfig) -> RunConfig:
    data = config.to_dict() if isinstance(config, RunConfig) else dict(config)
    return RunConfig.from_dict(data)


def _signal_text(exitcode: int) -> str:
    number = -exitcode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    hint = SIGNAL_HINTS.get(number)
    return f"killed by signal {number} ({name})" + (f": {hint}" if hint else "")


def _last_line(path: Path | None) -> str:
    """The last non-empty line of the child's log (an abort's reason), shortened."""
    if path is None or not path.is_file():
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - 4096))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    return lines[-1][:300] if lines else ""


_LIVE: weakref.WeakSet[TrainingSession] = weakref.WeakSet()


def live_sessions() -> list[TrainingSession]:
    """Sessions whose training process has not ended (the test suite's leak check, the window's
    close handler)."""
    return [s for s in list(_LIVE) if s.state not in ENDED and s.state != "ready"]


def stop_all(timeout: float = 10.0) -> int:
    """Stop every live session and wait for each; returns how many were live."""
    sessions = live_sessions()
    for session in sessions:
        session.stop()
    for session in sessions:
        session.wait(timeout)
    return len(sessions)


class _Child:
    """The training process as the session needs it (a ``subprocess.Popen`` underneath)."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def terminate(self) -> None:
        if self.is_alive():
            self.popen.terminate()

    def kill(self) -> None:
        if self.is_alive():
            self.popen.kill()


class _ThreadChild:
    """The run in a thread of this process (``in_process=True``), behind :class:`_Child`'s
    interface: the same job, pipe and events, but a crash is this process's own and the run
    cannot be terminated, only asked to stop."""

    def __init__(self, conn: Any, job: dict[str, Any]) -> None:
        self._code: int | None = None
        self._thread = threading.Thread(target=self._run, args=(conn, job),
                                        name="playground-session-run", daemon=True)
        self._thread.start()

    def _run(self, conn: Any, job: dict[str, Any]) -> None:
        from playground.training.child import child_main

        code = 1
        try:
            child_main(conn, {**job, "log_path": None}, in_process=True)
            code = 0
        except BaseException:  # noqa: BLE001 - reported as the run's end, like a child's exit
            import traceback

            traceback.print_exc()
        finally:
            from playground.training.child import hang_up

            hang_up(conn)
            try:
                conn.close()
            except OSError:
                pass
            self._code = code

    @property
    def pid(self) -> int:
        return os.getpid()

    @property
    def exitcode(self) -> int | None:
        return self._code

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def terminate(self) -> None:
        pass   # a thread cannot be ended from outside; it stops at the next batch

    def kill(self) -> None:
        pass


def _launch_in_process(job: dict[str, Any]) -> tuple[_ThreadChild, Any]:
    from multiprocessing.connection import Connection

    from playground.tfimport import import_tensorflow

    # Here, not in the run's thread: the import points this process's stderr at /dev/null
    # while TensorFlow starts, which would swallow what the caller prints meanwhile.
    import_tensorflow()

    parent_sock, child_sock = socket.socketpair()
    conn = Connection(parent_sock.detach())
    conn.send(job)   # pickled as for a child: the run gets its own copy of everything
    child_conn = Connection(child_sock.detach())
    sent = child_conn.recv()
    return _ThreadChild(child_conn, sent), conn


def _launch(job: dict[str, Any]) -> tuple[_Child, Any]:
    """Start ``python -m playground.training.child`` with one end of a socket pair.

    A fresh interpreter rather than ``multiprocessing``'s spawn: spawn re-imports the caller's
    main module, so a user's script without an ``if __name__ == "__main__"`` guard would start
    itself again. Its own session (process group): a Ctrl-C in the terminal reaches the parent,
    which stops the child in order (checkpoint kept) instead of both dying at once.
    """
    from multiprocessing.connection import Connection

    parent_sock, child_sock = socket.socketpair()
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        popen = subprocess.Popen(
            [sys.executable, "-m", "playground.training.child", str(child_sock.fileno())],
            pass_fds=(child_sock.fileno(),), stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
    finally:
        child_sock.close()
    conn = Connection(parent_sock.detach())
    conn.send(job)
    return _Child(popen), conn


class TrainingSession:
    """One training run of ``graph_or_path`` with ``config`` in a child process.

    ``config``: a dict of run settings (``dataset``, ``epochs``, ``batch_size``, ``optimizer``,
    ``lr``, ...; see :class:`RunConfig`) or a RunConfig; it is validated here, so a bad setting
    raises :class:`~playground.training.config.ConfigError` before any process starts.
    ``run_dir``: the run folder (made now under the runs root when None and ``keep_runs``).
    ``in_process``: run in a thread of this process instead of a child process (the same job,
    pipe and events; for debuggers and profilers, and the test suite's fast CLI tests); a crash
    then takes this process down, a Stop can only wait for the next batch, and :meth:`start`
    imports TensorFlow here first.
    Other keywords go to :func:`playground.training.runner.run_training` (``resume``,
    ``init_weights``, ``freeze``, ``save_path``, ``export_dir``, ``batch_interval``...).
    """

    stop_grace = 1.0   # seconds the child has to stop at a batch boundary before it is terminated
    save_grace = 30.0  # once it has stopped training (acknowledged), seconds to keep its weights
    kill_grace = 0.5   # then seconds between SIGTERM and SIGKILL

    def __init__(self, graph_or_path: Graph | str | os.PathLike[str],
                 config: dict[str, Any] | RunConfig,
                 run_dir: str | os.PathLike[str] | None = None, *, keep_runs: bool = True,
                 in_process: bool = False, **run_kwargs: Any) -> None:
        self.graph = _graph_of(graph_or_path)
        self.config = _config_of(config)
        self.run_dir: Path | None = Path(run_dir) if run_dir is not None else None
        self.keep_runs = keep_runs
        self.in_process = in_process
        self.run_kwargs = run_kwargs
        self.state = "ready"
        self.result: SessionResult | None = None
        self.history: list[dict[str, Any]] = []
        self._events: queue.SimpleQueue[ev.Event] = queue.SimpleQueue()
        self._subscribers: list[Callable[[ev.Event], None]] = []
        self._process: Any = None
        self._conn: Any = None
        self._send_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._ended = threading.Event()
        self._stop_requested_at: float | None = None
        self._terminated = False
        self._start_seen = False
        self._acknowledged = threading.Event()   # the child saw the Stop and left the batch loop
        self._final: dict[str, Any] | None = None
        self.stopped_in: float | None = None   # seconds from stop() to the end (for bench/)
        self.acknowledged_in: float | None = None  # ... to training's end at a batch boundary

    # ------------------------------------------------------------------ public API
    @property
    def pid(self) -> int | None:
        """The training process's id (None before :meth:`start`)."""
        return self._process.pid if self._process is not None else None

    def subscribe(self, callback: Callable[[ev.Event], None]) -> None:
        """Call ``callback(event)`` for every event, from the session's reader thread (a Qt view
        should poll :meth:`drain` from a timer instead)."""
        self._subscribers.append(callback)

    def drain(self, limit: int = 100_000) -> list[ev.Event]:
        """Every event received since the last call, oldest first."""
        return ev.drain_queue(self._events, limit)

    def start(self) -> TrainingSession:
        """Start the child process and return at once."""
        if self.state != "ready":
            raise PlaygroundError(f"this session was started already (state {self.state})")
        from playground.training import runs
        if self.run_dir is None and self.keep_runs:
            name = Path(str(self.config.dataset).rstrip("/\\")).name or "data"
            self.run_dir = runs.new_run_dir(f"{self.graph.name}-{name}")
        if self.run_dir is not None:
            from playground.training import rundir

            # Never someone else's folder (RunDirError, before any process starts); claimed
            # now, so the child's log file does not make it look like a stranger's folder.
            rundir.check(self.run_dir, resume=bool(self.run_kwargs.get("resume")))
            self.run_dir = rundir.claim(self.run_dir)
        job = {"graph": to_document(self.graph), "config": self.config.to_dict(),
               "run_dir": str(self.run_dir) if self.run_dir is not None else None,
               "kwargs": {"keep_runs": self.keep_runs, **self.run_kwargs},
               "log_path": str(self.run_dir / PROCESS_LOG) if self.run_dir is not None else None}
        self._process, self._conn = (_launch_in_process(job) if self.in_process
                                     else _launch(job))
        self.state = "starting"
        _LIVE.add(self)
        self._reader = threading.Thread(target=self._read, name="playground-session-reader",
                                        daemon=True)
        self._reader.start()
        return self

    def stop(self) -> None:
        """Ask the run to stop at the next batch; terminate it if it has not within
        :attr:`stop_grace` seconds. Returns at once; :meth:`wait` for the end."""
        if self.state in ENDED or self.state == "ready" or self._stop_requested_at is not None:
            return
        self._stop_requested_at = time.perf_counter()
        self.state = "stopping"
        self._send("stop")
        threading.Thread(target=self._enforce_stop, name="playground-session-stop",
                         daemon=True).start()

    def kill(self) -> None:
        """End the training process at once (no checkpoint written): a second Ctrl-C."""
        if self._process is not None and self._process.is_alive():
            self._terminated = True
            self._process.kill()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end of the run; True when it has ended."""
        if self.state == "ready":
            return True
        return self._ended.wait(timeout)

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    @property
    def has_events(self) -> bool:
        """Events received and not drained yet."""
        return not self._events.empty()

    # ------------------------------------------------------------------ internals
    def _send(self, message: Any) -> None:
        with self._send_lock:
            try:
                self._conn.send(message)
            except (OSError, ValueError, EOFError):
                pass   # the child is gone already; the reader reports how it ended

    def _enforce_stop(self) -> None:
        process = self._process
        process.join(self.stop_grace)
        if process.is_alive() and self._acknowledged.is_set():
            # Training ended at a batch boundary; let it write the weights it keeps.
            process.join(self.save_grace)
        if process.is_alive():
            self._terminated = True
            process.terminate()
            process.join(self.kill_grace)
            if process.is_alive():
                process.kill()

    def _publish(self, event: ev.Event) -> None:
        self._events.put(event)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - a view's bug must not end the session
                pass

    def _read(self) -> None:
        while True:
            try:
                raw = self._conn.recv()
            except (EOFError, OSError):
                break
            if not isinstance(raw, dict):
                continue
            kind = raw.get("kind")
            if kind == "start":
                self._start_seen = True
                if self.state == "starting":
                    self.state = "running"
            elif kind == "stopping":
                self._acknowledged.set()
                if self._stop_requested_at is not None:
                    self.acknowledged_in = time.perf_counter() - self._stop_requested_at
            elif kind == "epoch" and isinstance(raw.get("row"), dict):
                self.history.append(dict(raw["row"]))
            elif kind == "done":
                self._final = raw
                break
            for event in ev.from_raw(raw):
                self._publish(event)
        self._process.join()
        try:
            self._conn.close()
        except OSError:
            pass
        self._finish()

    def _kept(self) -> str:
        from playground.training import runs

        rows = runs.read_history(self.run_dir) if self.run_dir is not None else []
        if rows:
            self.history = [dict(r) for r in rows]
        epochs = len(self.history)
        where = f" in {self.run_dir}" if self.run_dir is not None else ""
        checkpoint = (self.run_dir is not None
                      and ((self.run_dir / "backup").exists()
                           or (self.run_dir / "last.weights.h5").exists()))
        if not epochs:
            return "no epoch had finished; nothing was kept" + (
                "" if not checkpoint else f" but the checkpoint{where}")
        return (f"kept: {epochs} finished epoch(s)" + (" and the last checkpoint" if checkpoint
                                                        else "") + where)

    def _finish(self) -> None:
        exitcode = self._process.exitcode
        final = self._final
        if final is not None and not (self._terminated and final.get("status") != "stopped"):
            run_status = str(final.get("status", "error"))
            state = ("finished" if run_status in ev.FINISHED_STATUSES
                     else "stopped" if run_status in ev.STOPPED_STATUSES else "failed")
            history = list(final.get("history") or self.history)
            result = SessionResult(state, str(final.get("message", "")), history,
                                   final.get("evaluation"), final.get("run_dir")
                                   or (str(self.run_dir) if self.run_dir else None),
                                   run_status, exitcode)
            ended_raw = final
        elif self._stop_requested_at is not None:
            message = ("stopped" + ("" if self._start_seen else " during start-up, before "
                                    "training began") + "; " + self._kept())
            result = SessionResult("stopped", message, self.history, None,
                                   str(self.run_dir) if self.run_dir else None, "stopped",
                                   exitcode)
            ended_raw = {"kind": "done", "status": "stopped", "message": message}
        else:
            if exitcode is not None and exitcode < 0:
                why = _signal_text(exitcode)
            else:
                why = f"exit code {exitcode}"
                last = _last_line(self.run_dir / PROCESS_LOG if self.run_dir else None)
                if last:
                    why += f": {last}"
            message = f"the training process ended unexpectedly ({why}); {self._kept()}"
            result = SessionResult("failed", message, self.history, None,
                                   str(self.run_dir) if self.run_dir else None, "crashed",
                                   exitcode)
            ended_raw = {"kind": "done", "status": "crashed", "message": message}
        ended_raw = {**ended_raw, "history": result.history, "run_dir": result.run_dir}
        if self.run_dir is not None and (final is None or self._terminated):
            from playground.training import rundir

            # The child could not clear its "running" flag; this session has reported the end
            # itself, so the next start must not report it again as a kill nobody saw.
            rundir.end(self.run_dir)
        if self._stop_requested_at is not None:
            self.stopped_in = time.perf_counter() - self._stop_requested_at
        self.result = result
        self.state = result.status
        for event in ev.from_raw({**ended_raw, "kind": "done"}):
            self._publish(event)
        self._ended.set()
