"""Item 8, absurd graphs. A graph whose parameters or activations would not fit in memory is
refused before TensorFlow allocates anything, with the estimate and the limit in the message
(``check_fits``, ``build``, the CLI's ``export`` and ``train``, the editor's export and training
panel). A 10,000-node graph loads, checks, lays out and draws in the editor without recursion
limits and within a time bound, and the window keeps answering."""

from __future__ import annotations

import re
import resource
import sys
import time

import pytest

from playground.core import fileformat
from playground.core.graph import Graph, Node
from playground.core.shapes import Checker, analyze
from tests.reliability.helpers import document, run_cli, write_graph

GIB = 1024**3

# 10M-unit Dense on a 100k vector: 1e12 parameters, 4 TB of float32 weights.
HUGE_PARAMS = document([
    {"id": "in", "type": "Input", "params": {"shape": [100_000]}},
    {"id": "wide", "type": "Dense", "params": {"units": 10_000_000}},
    {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}},
], [("in", "wide"), ("wide", "out")], name="huge params")

# A 4096x4096 RGB image through 1,024 'same' 3x3 filters: 64 GiB of activations per sample,
# few parameters (28,672 + 10,250).
HUGE_ACTIVATIONS = document([
    {"id": "input", "type": "Input", "params": {"shape": [4096, 4096, 3]}},
    {"id": "conv", "type": "Conv2D", "params": {"filters": 1024, "kernel_size": 3,
                                                "padding": "same"}},
    {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}},
    {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}},
], [("input", "conv"), ("conv", "gap"), ("gap", "out")], name="huge activations")


def _gib(text: str, label: str) -> float:
    match = re.search(label + r" ([\d,.]+) GiB", text)
    assert match, (label, text)
    return float(match.group(1).replace(",", ""))


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------ refused up front
@pytest.mark.parametrize("doc, batch", [(HUGE_PARAMS, 1), (HUGE_ACTIVATIONS, 32)],
                         ids=["params", "activations"])
def test_check_fits_names_the_estimate_and_the_limit(doc, batch):
    pytest.importorskip("keras")
    from playground.keras_build.compile import CompileError, check_fits, memory_estimate

    analysis = analyze(fileformat.from_document(doc))
    assert analysis.valid, [str(p) for p in analysis.errors]
    need = memory_estimate(analysis, batch)
    assert need == analysis.total_params * 4 + analysis.memory_bytes * batch
    with pytest.raises(CompileError) as info:
        check_fits(analysis, batch, limit=16 * GIB)
    message = str(info.value)
    assert _gib(message, "needs about") == pytest.approx(need / GIB, abs=0.06)
    assert "but only 16.0 GiB is available" in message
    assert f"{analysis.total_params:,} parameters" in message
    assert f"x {batch})" in message
    check_fits(analysis, batch, limit=need)            # exactly enough is fine


def test_build_refuses_before_creating_any_layer(monkeypatch):
    keras = pytest.importorskip("keras")
    from playground.keras_build import compile as compile_module

    def allocation(*args, **kwargs):
        raise AssertionError("a layer or tensor was created for a graph that cannot fit")

    monkeypatch.setattr(compile_module._Context, "__init__", allocation)
    monkeypatch.setattr(keras, "Input", allocation)
    for doc in (HUGE_PARAMS, HUGE_ACTIVATIONS):
        with pytest.raises(compile_module.CompileError, match=r"needs about .* GiB .* available"):
            compile_module.build(fileformat.from_document(doc))


@pytest.mark.parametrize("doc, extra", [
    (HUGE_PARAMS, ["export", "--format", "keras"]),
    (HUGE_PARAMS, ["export", "--format", "savedmodel"]),
    (HUGE_ACTIVATIONS, ["export", "--format", "keras"]),
    (HUGE_ACTIVATIONS, ["train", "--dataset", "digits", "--batch-size", "32", "--no-run"]),
], ids=["export-params", "savedmodel-params", "export-activations", "train-activations"])
def test_cli_refuses_with_the_estimate_without_allocating(doc, extra, tmp_path, capsys):
    pytest.importorskip("keras")
    graph = write_graph(tmp_path / "absurd.json", doc)
    out = tmp_path / ("m.keras" if "keras" in extra else "served")
    argv = [extra[0], graph, *extra[1:]] + (["--out", out] if extra[0] == "export" else [])
    before, start = _maxrss_mib(), time.perf_counter()
    code, stdout, err = run_cli(capsys, *argv)
    elapsed, grown = time.perf_counter() - start, _maxrss_mib() - before
    assert code == 1, stdout + err
    assert re.search(r"error: .*the model needs about [\d,.]+ GiB .* but only [\d,.]+ GiB is "
                     r"available; shrink the input, the widths or the batch", err), err
    assert not out.exists() and "epoch 1/" not in stdout
    assert grown < 1024, f"the process grew by {grown:.0f} MiB"
    assert elapsed < 60


def test_cli_summary_of_an_absurd_graph_just_reports_it(tmp_path, capsys):
    graph = write_graph(tmp_path / "absurd.json", HUGE_PARAMS)
    code, stdout, _err = run_cli(capsys, "summary", graph)
    # 100,000 x 10M + 10M for `wide`, 10M x 10 + 10 for `out`: counted, never allocated.
    assert code == 0 and "Total params: 1,000,110,000,010 (3.64 TiB)" in stdout


def test_gui_export_and_training_of_an_absurd_graph_say_why(make_window, answers, qtbot,
                                                            tmp_path):
    pytest.importorskip("keras")
    from playground.training.config import RunConfig

    win = make_window(fileformat.from_document(HUGE_ACTIVATIONS))
    win.export_to("keras", str(tmp_path / "absurd.keras"))
    qtbot.waitUntil(lambda: not win._threads, timeout=120_000)
    (kind, title, text), = answers.shown
    assert kind == "warning" and title == "Export failed"
    assert "the model needs about" in text and "is available" in text
    assert not (tmp_path / "absurd.keras").exists()

    panel = win.training_panel
    panel.set_config(RunConfig(epochs=1, batch_size=32))
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.is_running() and panel.last_result is not None
                    and not panel.timer.isActive(), timeout=120_000)
    assert panel.last_result.status == "error"
    assert "the model needs about" in panel.status_text and "GiB" in panel.status_text
    assert panel.start_button.isEnabled()


# ------------------------------------------------------------------- 10,000 nodes, no limits
def _long_chain(n: int = 10_000) -> Graph:
    graph = Graph("ten thousand")
    graph.add_node(Node("in", "Input", {"shape": [8]}))
    previous = "in"
    for i in range(n):
        nid = f"n{i}"
        graph.add_node(Node(nid, "Dense" if i % 2 == 0 else "ReLU",
                            {"units": 8} if i % 2 == 0 else {}))
        graph.add_edge(previous, nid, check_cycle=False)
        previous = nid
    return graph


def test_ten_thousand_nodes_need_no_deep_recursion():
    """Load, check and lay out with the recursion limit barely above the current depth: any
    recursion proportional to the graph's depth would raise RecursionError."""
    import inspect

    from playground.core.layout import auto_layout

    text = fileformat.dumps(_long_chain())
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 120)
    try:
        graph = fileformat.loads(text)
        analysis = Checker().analyze(graph)
        positions = auto_layout(graph, "LR")
    finally:
        sys.setrecursionlimit(limit)
    assert analysis.valid and len(analysis.order) == 10_001 and len(positions) == 10_001


def test_ten_thousand_nodes_open_and_draw_in_the_editor(make_window, qtbot):
    from PySide6.QtCore import QTimer

    graph = fileformat.loads(fileformat.dumps(_long_chain()))   # as read from a file: no places
    start = time.perf_counter()
    win = make_window(graph)
    built = time.perf_counter() - start
    assert len(win.scene.node_items) == 10_001 and len(win.scene.edge_items) == 10_000
    assert win.doc.analysis.valid and win.doc.analysis.nodes["n9999"].shape == (8,)
    assert win.status_labels["validity"].text().startswith("\u2714 valid")

    start = time.perf_counter()
    win.view.fit_all()
    image = win.view.viewport().grab()                           # one full repaint of the graph
    drawn = time.perf_counter() - start
    assert not image.isNull()

    fired = []
    start = time.perf_counter()
    QTimer.singleShot(0, lambda: fired.append(time.perf_counter() - start))
    qtbot.waitUntil(lambda: bool(fired), timeout=10_000)         # the event loop answers
    win.editor.set_param("n0", "units", 16)                      # and an edit goes through
    qtbot.waitUntil(lambda: win.doc.analysis.nodes["n0"].shape == (16,), timeout=30_000)
    print(f"\n10,000 nodes: window built in {built:.1f} s, drawn in {drawn:.1f} s, "
          f"event loop answered in {fired[0] * 1000:.0f} ms")
    assert built < 60 and drawn < 60 and fired[0] < 5
