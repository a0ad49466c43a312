"""scripts/start, the README's start command, driven with a stub virtual environment: it starts
main.py with its arguments when Qt's libraries are there, and without root or sudo it prints
the exact apt-get command for the missing ones instead of starting a Qt that would abort."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

STUB_PYTHON = """#!/bin/sh
case "$1" in
  -c) exit 0 ;;                                   # "import playground, PySide6" succeeds
  -m) [ "$2" = playground.qtcheck ] && printf '%s' "$MISSING_PACKAGES" | tr ' ' '\\n'; exit 0 ;;
  main.py) shift; echo "started main.py $*"; exit 0 ;;
esac
exit 3
"""


@pytest.fixture
def clone(tmp_path):
    if not sys.platform.startswith("linux") or shutil.which("bash") is None:
        pytest.skip("the launcher is for Linux desktops")
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "start", repo / "scripts" / "start")
    (repo / "pyproject.toml").write_text("[project]\nname = 'stub'\n")
    venv_bin = repo / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(STUB_PYTHON)
    (venv_bin / "python").chmod(0o755)
    time.sleep(0.01)
    (repo / ".venv" / ".playground-installed").touch()   # installed, pyproject unchanged
    tools = tmp_path / "bin"
    tools.mkdir()
    for name, body in (("id", "echo 1000"), ("sudo", "exit 1")):   # not root, no sudo
        (tools / name).write_text(f"#!/bin/sh\n{body}\n")
        (tools / name).chmod(0o755)
    return repo, tools


def _start(repo: Path, tools: Path, missing: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": f"{tools}:{os.environ.get('PATH', '/usr/bin:/bin')}",
           "MISSING_PACKAGES": missing, "HOME": str(repo), "PYTHON": sys.executable}
    return subprocess.run(["bash", str(repo / "scripts" / "start"), *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)


def test_starts_main_with_its_arguments(clone) -> None:
    repo, tools = clone
    done = _start(repo, tools, "", "presets/vgg16.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "started main.py presets/vgg16.json"


def test_without_root_it_prints_the_exact_command(clone) -> None:
    repo, tools = clone
    done = _start(repo, tools, "libxcb-icccm4 libxcb-keysyms1")
    assert done.returncode == 1
    assert "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1" in done.stderr
    assert "started" not in done.stdout
