"""The training process's entry point (started by :class:`TrainingSession`, spawned, never forked).

TensorFlow is imported here, in the child, and nowhere in the editor for training: a crash, an
abort or an out-of-memory kill inside TensorFlow ends this process only. Events go back over the
pipe as the plain dicts ``runner.run_training`` emits; the only message the parent sends is
``"stop"`` (or it closes the pipe, which means the same: nobody is watching any more, so the run
stops at the next batch and keeps its checkpoint).
"""

from __future__ import annotations

import os
import threading
from typing import Any


def _log_to(path: str | None) -> None:
    """Point fd 2 at the run folder's process log, so what TensorFlow prints before a crash
    (an abort's reason) can be quoted to the user; the editor's terminal stays quiet. fd 1
    too: the run reports over the pipe only, and a stray print must neither mix into the
    ``train`` command's epoch lines nor fail on its closed stdout (``train ... | head -1``);
    without a run folder fd 1 goes where fd 2 goes."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if path else -1
    except OSError:
        fd = -1
    if fd < 0:
        try:
            os.dup2(2, 1)
        except OSError:
            pass
        return
    os.dup2(fd, 2)
    os.dup2(fd, 1)
    os.close(fd)


def hang_up(conn: Any) -> None:
    """Shut the pipe down before closing it: a thread blocked reading it (the stop listener)
    wakes with end-of-file instead of waiting on a closed, maybe reused, descriptor."""
    import socket

    try:
        dup = os.dup(conn.fileno())
    except (OSError, ValueError):
        return
    try:
        with socket.socket(fileno=dup) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def child_main(conn: Any, job: dict[str, Any], *, in_process: bool = False) -> None:
    """Run ``job`` and report over ``conn``; ``in_process``: in a thread of the session's own
    process (its environment and stderr are the caller's and stay as they are)."""
    if not in_process:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _log_to(job.get("log_path"))
    stop = threading.Event()
    lock = threading.Lock()

    def send(event: dict[str, Any]) -> None:
        with lock:
            try:
                conn.send(event)
            except (OSError, ValueError, EOFError):
                stop.set()   # the editor is gone: stop at the next batch, keep the checkpoint

    def listen() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                stop.set()
                return
            if message == "stop":
                stop.set()

    threading.Thread(target=listen, name="playground-stop-listener", daemon=True).start()
    from playground.core.fileformat import from_document
    from playground.training.config import RunConfig
    from playground.training.runner import run_training

    graph = from_document(job["graph"])
    config = RunConfig.from_dict(job["config"])
    run_training(graph, config, sink=send, stop=stop, run_dir=job.get("run_dir"),
                 **job.get("kwargs", {}))
    with lock:
        hang_up(conn)
        try:
            conn.close()
        except OSError:
            pass


def main(argv: list[str] | None = None) -> int:
    """``python -m playground.training.child FD``: FD is this end of the session's socket pair;
    the job (graph document, settings, run folder) is its first message."""
    import sys
    from multiprocessing.connection import Connection

    args = sys.argv[1:] if argv is None else argv
    conn = Connection(int(args[0]))
    try:
        job = conn.recv()
    except (EOFError, OSError):
        return 2
    child_main(conn, job)
    # Everything is written and reported: leave without TensorFlow's slow interpreter teardown
    # (a second or more), so a Stop or a finished run ends the process promptly.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
