"""Fault injection inside the app's child processes (training, inference; tests only).

A TrainingSession trains in a fresh interpreter, so a monkeypatch in the test's process does not
reach it. ``inject(monkeypatch, tmp_path, code)`` writes ``code`` as a module that a
``sitecustomize`` on the child's PYTHONPATH runs when the child starts, before any of the app is
imported; it can patch the app's modules there (``import playground.training.callbacks as c;
c.X = ...``). Only the app's children run it: a ``train`` command started by the test (the
child's parent) sees the same PYTHONPATH and stays as it is.

The suite runs the ``train`` command's training in a thread (tests/conftest.py sets
``PLAYGROUND_TRAIN_IN_PROCESS``); :func:`real_child` (and ``inject``) make it a child process.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

# The app's child processes: the training child and the Predict dock's inference process.
CHILD_MODULES = ("playground.training.child", "playground.inspect.service_child")

SITECUSTOMIZE = f"""\
import sys
if any(m in getattr(sys, "orig_argv", ()) for m in {CHILD_MODULES!r}):
    import playground_child_hook  # noqa: F401
"""


def real_child(monkeypatch) -> None:
    """The ``train`` command (in-process or started by the test) trains in a child process."""
    monkeypatch.delenv("PLAYGROUND_TRAIN_IN_PROCESS", raising=False)


def hook_folder(tmp_path: Path, code: str) -> Path:
    """A folder whose ``sitecustomize`` runs ``code`` in the app's child processes only."""
    folder = tmp_path / "child_hook"
    folder.mkdir(exist_ok=True)
    (folder / "playground_child_hook.py").write_text(textwrap.dedent(code))
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder


def inject(monkeypatch, tmp_path: Path, code: str) -> None:
    folder = hook_folder(tmp_path, code)
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(folder), old) if p))
    real_child(monkeypatch)
