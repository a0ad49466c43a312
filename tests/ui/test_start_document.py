"""With no file, the app starts on an untitled LeNet-5, ready to train on the built-in digits."""

from __future__ import annotations

import playground.ui  # noqa: F401  (PySide6/Python 3.11 guard)
from playground.core.graph import Graph, Node
from playground.core.presets import preset_path
from playground.ui.app import open_start_document
from playground.ui.main_window import MainWindow


def test_empty_start_opens_lenet5_as_an_untitled_copy(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_AUTOSAVE_DIR", str(tmp_path / "autosave"))
    bundled = preset_path("lenet5").read_bytes()
    win = MainWindow(offer_recovery=False)
    qtbot.addWidget(win)
    assert open_start_document(win)
    assert win.doc.graph.name == "LeNet-5" and len(win.doc.graph) == 9
    assert win.doc.path is None                        # untitled: saving asks for a name
    assert win.doc.current_analysis().total_params == 61_706
    assert win.training_panel is None or win.training_panel.config().dataset == "digits"
    assert preset_path("lenet5").read_bytes() == bundled


def test_a_recovered_or_opened_document_is_kept(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_AUTOSAVE_DIR", str(tmp_path / "autosave"))
    graph = Graph("mine")
    graph.add_node(Node("input", "Input", {"shape": [8, 8, 1]}))
    win = MainWindow(graph, offer_recovery=False)
    qtbot.addWidget(win)
    assert not open_start_document(win)
    assert win.doc.graph.name == "mine"
