"""The dataset-source registry (issue 12): one table read by load_dataset, the CLI help and the
training panel's list, and no import circle inside playground.data."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playground.cli.train import DATASET_HELP
from playground.data import sources
from playground.data.base import Dataset, DatasetError
from playground.data.dataset import BUILTIN, load_dataset

DATA_DIR = Path(sources.__file__).parent


def test_every_source_is_declared_once_and_completely() -> None:
    names = [s.name for s in sources.SOURCES]
    assert len(names) == len(set(names))
    for source in sources.SOURCES:
        assert source.label and source.help and callable(source.load), source.name
        if source.named:
            assert source.recognise is None and not source.pattern, source.name
        else:
            assert source.pick in ("folder", "file") and source.recognise is not None
            assert (source.pick == "file") == bool(source.pattern), source.name
    assert BUILTIN == sources.builtin_names() == ("digits", "shapes", "mnist", "fashion_mnist",
                                                  "cifar10")
    assert [s.name for s in sources.SOURCES if s.offline and s.named] == ["digits", "shapes"]


def test_the_cli_help_names_every_source() -> None:
    for source in sources.SOURCES:
        assert (source.name if source.named else source.help) in DATASET_HELP
    assert DATASET_HELP.startswith("digits (built in, offline), shapes (built in, offline: "
                                   "images with masks, for segmentation), mnist, fashion_mnist, "
                                   "cifar10 (downloaded once into the Keras cache), a FOLDER")


def test_recognition(tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    (tmp_path / "odd.csv").mkdir()  # a folder whose name ends in .csv is a folder

    def kind(spec: str) -> str | None:
        source = sources.find_source(spec)
        return source.name if source else None

    assert kind("mnist") == "mnist"       # a name beats a folder of that name
    assert kind(str(folder)) == "folder"
    assert kind(str(tmp_path / "odd.csv")) == "folder"
    assert kind(str(tmp_path / "a.CSV")) == "csv"
    assert kind(str(tmp_path / "a.npz")) == "npz"
    assert kind("twirl") is None
    seg = tmp_path / "seg"
    (seg / "images").mkdir(parents=True)
    (seg / "masks").mkdir()
    assert kind(str(seg)) == "segfolder"  # images/ + masks/ before a folder of classes
    (tmp_path / "pairs.csv").write_text("image,mask\na.png,a_mask.png\n")
    (tmp_path / "labels.csv").write_text("path,label\na.png,cat\n")
    assert kind(str(tmp_path / "pairs.csv")) == "segcsv"
    assert kind(str(tmp_path / "labels.csv")) == "csv"


def test_load_dataset_goes_through_the_registry(tmp_path: Path) -> None:
    data = load_dataset("digits")
    assert isinstance(data, Dataset) and data.num_classes == 10
    path = tmp_path / "tiny.npz"
    np.savez(path, x=np.zeros((4, 5, 5), np.uint8), y=np.array([0, 1, 0, 1]))
    assert load_dataset(str(path)).image_shape == (5, 5, 1)
    with pytest.raises(DatasetError, match=r"'twirl' not found: use one of digits, shapes, "
                                           r"mnist, fashion_mnist, cifar10, or a FOLDER"):
        load_dataset("twirl")
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    with pytest.raises(DatasetError, match=r"notes\.txt: not a dataset \(expected a FOLDER"):
        load_dataset(str(stray))
    with pytest.raises(DatasetError, match=r"gone\.csv: file not found"):
        load_dataset(str(tmp_path / "gone.csv"))


def test_a_new_source_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a newcomer does: append an entry; load_dataset, the help and the panel follow."""
    seen: list[sources.LoadRequest] = []

    def load(request: sources.LoadRequest) -> Dataset:
        seen.append(request)
        return Dataset("blank", np.zeros((2, 3, 3, 1), np.uint8), np.array([0, 1]), ["a", "b"])

    extra = sources.DatasetSource("blank", "blank (offline)", "generated, offline",
                                  offline=True, load=load)
    monkeypatch.setattr(sources, "SOURCES", (*sources.SOURCES, extra))
    assert load_dataset("blank", (8, 8, 1)).name == "blank"
    assert seen[0].size == (8, 8) and seen[0].channels == 1
    assert "blank (generated, offline)" in sources.help_text()
    assert sources.help_text().index("blank") < sources.help_text().index("FOLDER")


def test_no_import_circle_inside_playground_data() -> None:
    graph: dict[str, set[str]] = {}
    for path in DATA_DIR.glob("*.py"):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module \
                    and node.module.startswith("playground.data"):
                parts = node.module.split(".")
                deps |= {parts[2]} if len(parts) > 2 else {a.name for a in node.names}
        graph[path.stem] = deps

    def visit(node: str, stack: list[str]) -> None:
        assert node not in stack, " -> ".join([*stack[stack.index(node):], node])
        for dep in graph.get(node, ()):
            visit(dep, [*stack, node])

    for module in graph:
        visit(module, [])


def test_the_registry_and_cli_help_import_no_numpy() -> None:
    code = ("import sys, playground.data.sources, playground.cli.train; "
            "print([m for m in ('numpy', 'tensorflow') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=DATA_DIR.parent.parent)
    assert out.stdout.strip() == "[]"
