"""Process-level faults of a CLI command: SIGINT/SIGTERM and a closed output.

``graceful_stop``: while a long command runs, Ctrl-C and SIGTERM (``kill``, systemd, a CI
timeout, a container stop) ask the work to stop the way the app's Stop button does: the batch
in progress ends, the checkpoint and weights are written whole, temp files are removed, and the
command exits 128 + the signal's number. A second signal ends it at once (KeyboardInterrupt).

``silence_if_broken``: when the reader of our output has gone (``train ... | head -1``), later
writes go to /dev/null instead of raising, so the work (and its ``--save``) carries on.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class StopRequest:
    event: threading.Event = field(default_factory=threading.Event)
    signal_number: int = 0
    signal_name: str = ""


def _write_stderr(text: str) -> None:
    # os.write, not print: a handler may interrupt a print in progress (re-entrant buffered
    # writes raise RuntimeError).
    try:
        os.write(2, text.encode("utf-8", "replace"))
    except OSError:
        pass


@contextmanager
def graceful_stop() -> Iterator[StopRequest]:
    """SIGINT/SIGTERM set ``StopRequest.event`` (first time) or raise KeyboardInterrupt."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request  # signal handlers can only be installed from the main thread
        return

    def handler(signum: int, frame: Any) -> None:
        if request.event.is_set():
            raise KeyboardInterrupt
        request.signal_number = signum
        request.signal_name = signal.Signals(signum).name
        request.event.set()
        _write_stderr(f"{request.signal_name}: stopping after the current batch; the "
                      "checkpoint is kept (send it again to quit at once)\n")

    previous = {}
    try:
        for sig in STOP_SIGNALS:
            previous[sig] = signal.signal(sig, handler)
    except (ValueError, OSError):
        pass
    try:
        yield request
    finally:
        for sig, old in previous.items():
            try:
                signal.signal(sig, old)
            except (ValueError, OSError, TypeError):
                pass


def silence_if_broken(stream: Any) -> None:
    """Point a stream whose reader has gone at /dev/null (its fd, so the buffered bytes and the
    flush at exit go there too)."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, fd)
    except OSError:
        pass
    finally:
        os.close(devnull)
