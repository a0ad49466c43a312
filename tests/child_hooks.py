"""Fault injection inside a training child process (tests only).

A TrainingSession trains in a fresh interpreter, so a monkeypatch in the test's process does not
reach it. ``inject(monkeypatch, tmp_path, code)`` writes ``code`` as a ``sitecustomize`` module on
the child's PYTHONPATH: it runs when the child starts, before any of the app is imported, and can
patch the app's modules there (``import playground.training.callbacks as c; c.X = ...``).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path


def inject(monkeypatch, tmp_path: Path, code: str) -> None:
    folder = tmp_path / "child_hook"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(textwrap.dedent(code))
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(folder), old) if p))
