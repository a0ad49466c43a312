"""Every `$ python main.py ...` example in docs/CLI.md runs as written and prints what the page
shows. The examples are parsed from the page's code blocks, so a new example is covered without
editing this test; commands that build a Keras model (export, import, train) are slow tests.

They run in a scratch folder where `presets/` is the bundled folder and files the examples take
as given (`my_model.keras`) are generated first; a pipe into `jq .KEY` is checked in Python.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "CLI.md"
HEAVY = {"export", "import", "train"}
ON_RUNS = {"predict", "inspect", "evaluate"}   # they need trained run folders: made first


def examples() -> list[tuple[str, list[str]]]:
    """(command, the output lines shown under it) for each `$ ` line in a fenced block."""
    found: list[tuple[str, list[str]]] = []
    in_block = False
    current: list[str] | None = None   # the output lines of the example being read
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block, current = not in_block, None
            continue
        if not in_block:
            continue
        if line.startswith("$ "):
            found.append((line[2:].strip(), []))
            current = found[-1][1]
        elif current is not None and line.strip():
            current.append(line)
    return found


def _params() -> list:
    out = []
    for command, shown in examples():
        words = shlex.split(command.split("|")[0])
        marks = [pytest.mark.slow] if len(words) > 2 and words[2] in HEAVY | ON_RUNS else []
        out.append(pytest.param(command, shown, marks=marks, id=command[15:70]))
    return out


def test_the_page_has_examples_of_every_light_and_heavy_command() -> None:
    commands = {shlex.split(c)[2] for c, _ in examples()}
    assert {"check", "summary", "export", "import"} <= commands


def _make_my_model(folder: Path) -> None:
    """The import example's model: a small functional Keras model of catalogue layers."""
    code = (
        "import keras\n"
        "from keras import layers\n"
        "x = inputs = keras.Input((28, 28, 1), name='input')\n"
        "x = layers.Conv2D(8, 3, activation='relu', name='conv1')(x)\n"
        "x = layers.MaxPooling2D(2, name='pool1')(x)\n"
        "x = layers.Flatten(name='flatten')(x)\n"
        "x = layers.Dense(10, activation='softmax', name='predictions')(x)\n"
        "keras.Model(inputs, x, name='my_model').save('my_model.keras')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def _make_runs_and_images(command: str, folder: Path) -> None:
    """The run folders and images a predict/inspect/evaluate example names: one LeNet-5 trained
    on the digits for an epoch, copied to every run path; a drawn digit for every image path."""
    import shutil

    from PIL import Image, ImageDraw

    words = shlex.split(command)[3:]
    runs, images, i = [], [], 0
    while i < len(words):
        word = words[i]
        if word.startswith("--"):
            if word == "--image":
                images.append(words[i + 1])
            i += 2 if word in ("--image", "--node", "--out", "--top", "--class", "--wrong",
                               "--limit") else 1
            continue
        (images if word.lower().endswith((".png", ".jpg", ".jpeg")) else runs).append(word)
        i += 1
    trained = folder / "_trained"
    done = _run(f"python main.py train presets/lenet5.json --dataset digits --epochs 1 "
                f"--run-dir {trained}", folder)
    assert done.returncode == 0, done.stderr[-2000:]
    for run in runs:
        (folder / run).parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(trained, folder / run)
    for name in images:
        picture = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(picture).arc((16, 8, 48, 56), 270, 90, fill=255, width=6)
        picture.convert("RGB").save(folder / name)


def _run(command: str, folder: Path) -> subprocess.CompletedProcess:
    pipe = None
    if "|" in command:
        command, pipe = (part.strip() for part in command.split("|", 1))
    words = shlex.split(command)
    assert words[:2] == ["python", "main.py"], command
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), *words[2:]], cwd=folder,
                          capture_output=True, text=True, timeout=600, env=env)
    if pipe is not None:
        match = re.fullmatch(r"jq \.(\w+)", pipe)
        assert match, f"unsupported pipe in the example: {pipe}"
        assert done.returncode == 0, done.stderr
        value = json.loads(done.stdout)[match.group(1)]
        done.stdout = json.dumps(value) + "\n"
    return done


@pytest.mark.parametrize("command, shown", _params())
def test_cli_doc_example(command: str, shown: list[str], tmp_path) -> None:
    (tmp_path / "presets").symlink_to(ROOT / "presets")
    if "my_model" in command:
        _make_my_model(tmp_path)
        # The graph (and its weights) that the import example before it writes.
        if "--init-weights my_model.weights.h5" in command \
                or shlex.split(command)[3:4] == ["my_model.json"]:
            before = _run("python main.py import my_model.keras --out my_model.json "
                          "--with-weights", tmp_path)
            assert before.returncode == 0, before.stderr
    on_runs = shlex.split(command)[2] in ON_RUNS
    if on_runs:
        _make_runs_and_images(command, tmp_path)
    done = _run(command, tmp_path)
    if "--init-weights imagenet" in command and done.returncode != 0:
        # Offline (the test machine): the documented message names the file and where to put it.
        assert "cannot download the ImageNet weights" in done.stderr, done.stderr
        assert ".keras/models" in done.stderr or "models" in done.stderr
        return
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    words = shlex.split(command.split("|")[0])
    if "--out" in words:
        out = tmp_path / words[words.index("--out") + 1]
        assert out.exists(), f"{command} did not write {out}"
    if on_runs:   # the page shows the output of the reader's own run: its form, not its numbers
        shown = [line for line in shown if not re.search(r"\d", line)]
    if "my_model" not in command:   # the page's output for a model of the reader's own
        for line in shown:
            if line.strip() == "...":          # the page leaves lines out here
                continue
            assert line in done.stdout, f"{command}: expected {line!r} in\n{done.stdout}"
