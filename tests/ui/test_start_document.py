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
    panel = win.training_panel
    assert panel is not None
    config = panel.config()        # LeNet-5's own recipe, the one that reaches 97 % on digits
    assert config.dataset == "digits"
    assert (config.optimizer, config.lr, config.schedule, config.epochs, config.augment) == \
        ("sgd", 0.1, "cosine", 10, ["translate"])
    assert preset_path("lenet5").read_bytes() == bundled


def test_a_recovered_or_opened_document_is_kept(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_AUTOSAVE_DIR", str(tmp_path / "autosave"))
    graph = Graph("mine")
    graph.add_node(Node("input", "Input", {"shape": [8, 8, 1]}))
    win = MainWindow(graph, offer_recovery=False)
    qtbot.addWidget(win)
    assert not open_start_document(win)
    assert win.doc.graph.name == "mine"


def test_opening_another_preset_shows_its_recipe_and_keeps_the_dataset(qtbot, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("PLAYGROUND_AUTOSAVE_DIR", str(tmp_path / "autosave"))
    win = MainWindow(offer_recovery=False)
    qtbot.addWidget(win)
    assert open_start_document(win)
    panel = win.training_panel
    panel.set_dataset("cifar10")
    assert win.open_file(preset_path("resnet18"), as_copy=True, ask=False)
    config = panel.config()
    assert config.dataset == "cifar10"
    assert (config.optimizer, config.lr, config.schedule, config.batch_size, config.augment) == \
        ("sgd", 0.1, "plateau", 256, [])
    assert config.weight_decay == 1e-5
