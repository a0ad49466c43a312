"""Item 2, model and weight files from strangers: a ``.keras`` carrying a Lambda or a foreign class,
a truncated or non-zip ``.keras``, a text file named ``.h5``, weights of another architecture.
Each is refused (or reported layer by layer) with the file and the culprit named, through the
loader, the CLI (export/train/import) and the editor's import, and a failed load never changes the
model in memory. Nothing here may deserialize a model or switch Keras' safe mode off.

The ``.keras`` archives of strangers are written by hand (zip + config.json), so the test does not
depend on Keras agreeing to save such a model.
"""

from __future__ import annotations

import importlib.metadata
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.keras_files import KERAS_METADATA, forbid_keras_loading, write_keras_archive
from tests.reliability.helpers import run_cli, tiny_document, tiny_graph, write_graph

keras = pytest.importorskip("keras")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _never_deserialize(monkeypatch):
    """Loading a stranger's file must never build objects from its config."""
    forbid_keras_loading(monkeypatch, keras, "deserialization or unsafe mode was attempted")


def _layer(name: str, class_name: str, config: dict, inbound: str | None,
           module: str | None = "keras.layers") -> dict:
    return {"module": module, "class_name": class_name, "registered_name": None,
            "config": {"name": name, "trainable": True, "dtype": "float32", **config},
            "inbound_nodes": [] if inbound is None else [
                {"args": [{"class_name": "__keras_tensor__",
                           "config": {"shape": [None, 8, 8, 1], "dtype": "float32",
                                      "keras_history": [inbound, 0, 0]}}],
                 "kwargs": {}}]}


def stranger_keras(path: Path, middle: dict, weights: bytes | None = None) -> Path:
    """A functional model input -> <middle> -> flatten -> out, as a hand-written .keras zip."""
    layers = [
        {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
         "config": {"batch_shape": [None, 8, 8, 1], "dtype": "float32", "name": "input"},
         "inbound_nodes": []},
        middle,
        _layer("flatten", "Flatten", {}, middle["config"]["name"]),
        _layer("out", "Dense", {"units": 10, "activation": "softmax"}, "flatten"),
    ]
    config = {"module": "keras", "class_name": "Functional", "registered_name": "Functional",
              "config": {"name": "stranger", "layers": layers,
                         "input_layers": [["input", 0, 0]], "output_layers": [["out", 0, 0]]}}
    return write_keras_archive(path, config, weights, metadata=KERAS_METADATA)


LAMBDA = _layer("conv", "Lambda", {
    "function": {"class_name": "__lambda__", "config": {
        "code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMIAAAAdABkAYMBUwApAk7aAmlk",
        "defaults": None, "closure": None}},
    "output_shape": None, "arguments": {}}, "input")
FOREIGN = _layer("conv", "Backdoor", {"payload": "rm -rf ~"}, "input", module="evil")
SPOOFED = _layer("conv", "Conv2D", {"filters": 4, "kernel_size": [3, 3]}, "input",
                 module="evil.layers")
SPOOFED["registered_name"] = "evil>Conv2D"
TFSM = _layer("conv", "TFSMLayer", {"filepath": "/tmp/somewhere", "call_endpoint": "serve"},
              "input")


@pytest.fixture(scope="module")
def tiny_model():
    from playground.keras_build.compile import build_model

    return build_model(tiny_graph())


def _snapshot(model) -> list[np.ndarray]:
    return [w.copy() for w in model.get_weights()]


def _unchanged(model, before) -> bool:
    after = model.get_weights()
    return len(after) == len(before) and all(np.array_equal(a, b) for a, b in zip(after, before,
                                                                                  strict=True))


# ----------------------------------------------------------------------------- the loader
@pytest.mark.parametrize("middle, words", [
    (LAMBDA, ["layer 'conv' is a Lambda layer (it holds Python code)"]),
    (FOREIGN, ["layer 'conv' has class 'Backdoor' from 'evil'", "not a Keras layer"]),
    (SPOOFED, ["layer 'conv' has class 'Conv2D' from 'evil.layers'"]),
    (TFSM, ["layer 'conv'", "TFSMLayer"]),
], ids=["lambda", "foreign", "spoofed", "tfsmlayer"])
def test_a_keras_file_carrying_code_is_refused_and_the_model_unchanged(tmp_path, tiny_model,
                                                                       middle, words):
    from playground.keras_build.weights import WeightsError, load_weights

    path = stranger_keras(tmp_path / "stranger.keras", middle)
    before = _snapshot(tiny_model)
    with pytest.raises(WeightsError) as info:
        load_weights(tiny_model, path)
    message = str(info.value)
    assert message.startswith(f"{path}: refused"), message
    for word in words:
        assert word in message, (word, message)
    assert _unchanged(tiny_model, before)


def test_damaged_files_are_named_and_the_model_unchanged(tmp_path, tiny_model):
    from playground.keras_build.weights import WeightsError, load_weights

    good = tmp_path / "good.keras"
    tiny_model.save(good)
    data = good.read_bytes()
    cases = {
        "truncated.keras": (data[: len(data) // 3], "not a .keras model (not a zip archive"),
        "text.keras": (b"just some text, not a model\n", "not a zip archive"),
        "notes.h5": (b"hello, these are notes\n", "not an HDF5 weights file (it starts with "
                                                  "'hello, t')"),
        "cut.weights.h5": (b"\x89HDF\r\n\x1a\n" + b"\x00" * 40, "damaged"),
    }
    before = _snapshot(tiny_model)
    for name, (content, needle) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(WeightsError) as info:
            load_weights(tiny_model, path)
        assert str(info.value).startswith(str(path)) and needle in str(info.value), \
            (name, str(info.value))
        assert _unchanged(tiny_model, before)


def test_a_zip_with_escaping_paths_writes_nothing_outside(tmp_path, tiny_model):
    """The reader never extracts: a member named ../../x cannot land anywhere."""
    from playground.keras_build.weights import WeightsError, load_weights

    (tmp_path / "inner").mkdir()
    path = stranger_keras(tmp_path / "inner" / "slip.keras", LAMBDA)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("../../escaped.txt", "gotcha")
        archive.writestr("/abs_escaped.txt", "gotcha")
    with pytest.raises(WeightsError):
        load_weights(tiny_model, path)
    assert not (tmp_path / "escaped.txt").exists() and not Path("/abs_escaped.txt").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["inner", "slip.keras"]


def test_weights_of_another_architecture_are_reported_layer_by_layer(tmp_path, tiny_model):
    """Same ids, other widths: every layer is skipped with both shapes; nothing is assigned."""
    from playground.core import fileformat
    from playground.keras_build.compile import build_model
    from playground.keras_build.weights import load_weights

    other_doc = tiny_document("other")
    other_doc["nodes"][1]["params"]["filters"] = 6
    other = build_model(fileformat.from_document(other_doc))
    path = tmp_path / "other.keras"
    other.save(path)
    before = _snapshot(tiny_model)
    report = load_weights(tiny_model, path)
    assert report.matched == []
    assert [str(s) for s in report.skipped] == [
        "conv: shape mismatch: the file has [(3, 3, 1, 6), (6,)], the model needs "
        "[(3, 3, 1, 4), (4,)]",
        "out: shape mismatch: the file has [(54, 10), (10,)], the model needs "
        "[(36, 10), (10,)]"]
    assert _unchanged(tiny_model, before)


# -------------------------------------------------------------------------------- the CLI
@pytest.fixture
def graph_file(tmp_path) -> Path:
    return write_graph(tmp_path / "tiny.json", tiny_document())


def test_cli_export_refuses_a_stranger_and_writes_nothing(tmp_path, graph_file, capsys):
    evil = stranger_keras(tmp_path / "evil.keras", LAMBDA)
    out = tmp_path / "out.keras"
    code, stdout, err = run_cli(capsys, "export", graph_file, "--format", "keras", "--out", out,
                                "--init-weights", evil)
    assert code == 1
    assert f"error: {evil}: refused" in err and "layer 'conv' is a Lambda layer" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "evil.keras", "tiny.json"]


def test_cli_export_reports_another_architecture_per_layer(tmp_path, graph_file, capsys):
    from playground.core import fileformat
    from playground.keras_build.compile import build_model

    other_doc = tiny_document("other")
    other_doc["nodes"][1]["params"]["filters"] = 6
    other_path = tmp_path / "other.keras"
    build_model(fileformat.from_document(other_doc)).save(other_path)
    out = tmp_path / "out.keras"
    code, stdout, err = run_cli(capsys, "export", graph_file, "--format", "keras", "--out", out,
                                "--init-weights", other_path)
    assert code == 1
    assert "skipped conv: shape mismatch: the file has [(3, 3, 1, 6), (6,)]" in stdout
    assert "skipped out: shape mismatch" in stdout
    assert "no layer of" in err and "nothing written" in err and not out.exists()


def test_cli_import_refuses_code_and_writes_no_graph(tmp_path, capsys):
    evil = stranger_keras(tmp_path / "evil.keras", FOREIGN)
    out = tmp_path / "g.json"
    code, stdout, err = run_cli(capsys, "import", evil, "--out", out)
    assert code == 1
    assert str(evil) in stdout + err and "'Backdoor'" in stdout + err
    assert not out.exists()


def test_cli_train_refuses_a_text_file_named_h5(tmp_path, graph_file, capsys):
    notes = tmp_path / "notes.h5"
    notes.write_text("hello, these are notes\n")
    code, stdout, err = run_cli(capsys, "train", graph_file, "--dataset", "digits",
                                "--epochs", "1", "--no-run", "--init-weights", notes)
    assert code == 1
    assert f"{notes}: not an HDF5 weights file" in err
    assert "epoch 1/1" not in stdout  # refused before training


# -------------------------------------------------------------------------------- the GUI
def test_gui_import_of_a_stranger_is_refused_and_the_document_kept(make_window, answers,
                                                                   tmp_path, qtbot):
    from playground.core import fileformat

    win = make_window(tiny_graph("mine"))
    before = fileformat.dumps(win.doc.graph)
    evil = stranger_keras(tmp_path / "evil.keras", LAMBDA)
    thread = win.import_from(str(evil))
    assert thread is not None
    qtbot.waitUntil(lambda: not win._threads, timeout=60_000)
    warnings = answers.texts("warning")
    assert len(warnings) == 1 and "layer 'conv' is a Lambda layer" in warnings[0], answers.shown
    assert str(evil) in warnings[0]
    assert fileformat.dumps(win.doc.graph) == before and win.doc.graph.name == "mine"


# ------------------------------------------------------------------------- safe mode, always
def test_no_code_path_switches_safe_mode_off():
    offenders = []
    for path in sorted((REPO / "playground").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"enable_unsafe_deserialization\s*\(", r"safe_mode\s*=\s*(?!True)"):
            for match in re.finditer(pattern, text):
                line = text[:match.start()].count("\n") + 1
                offenders.append(f"{path.relative_to(REPO)}:{line}")
    assert offenders == []


def test_keras_has_the_2025_2026_safe_mode_fixes():
    version = tuple(int(p) for p in re.findall(r"\d+", importlib.metadata.version("keras"))[:2])
    assert version >= (3, 14)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"keras>=3\.1[4-9]', pyproject), "pyproject must pin keras>=3.14"


def test_gui_training_from_a_strangers_weights_is_refused(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    import playground.ui  # noqa: F401
    from playground.training.config import RunConfig
    from playground.ui.training_panel import TrainingPanel

    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    evil = stranger_keras(tmp_path / "evil.keras", FOREIGN)
    graph = tiny_graph()
    panel = TrainingPanel(lambda: graph)
    qtbot.addWidget(panel)
    panel.set_config(RunConfig(epochs=1))
    panel.init_weights.setText(str(evil))
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None
                    and not panel.timer.isActive(), timeout=120_000)
    assert panel.last_result.status == "error"
    assert str(evil) in panel.status_text and "'Backdoor'" in panel.status_text
    assert panel.last_result.history == [] and panel.start_button.isEnabled()
