"""Issue 12 point 4: one registry of export formats behind `export`, File > Export and the panel;
a new format is one module in playground/exporters/formats/."""

from __future__ import annotations

import importlib
import textwrap

import numpy as np
import pytest

import playground.exporters as exporters
from playground import cli
from playground.core.fileformat import save as save_graph
from tests.training.helpers import tiny


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "g.json"
    save_graph(tiny(), path)
    return path


def test_the_built_in_formats_in_menu_order():
    assert exporters.names() == ("keras", "savedmodel", "python", "weights")
    for fmt in exporters.all_formats():
        assert fmt.label.endswith("...") and fmt.help.startswith(f"{fmt.name}:")
        assert (fmt.kind == "folder") == (fmt.suffix == "")
    with pytest.raises(exporters.UnknownFormat, match="choose from keras, savedmodel"):
        exporters.get("onnx")
    assert exporters.default_target(exporters.get("savedmodel"), "/x", "net") == \
        "/x/net_savedmodel"
    assert exporters.default_target(exporters.get("keras"), "/x", "net") == "/x/net.keras"


def test_weights_format_round_trips_through_init_weights(graph_file, tmp_path, capsys):
    from playground.exporters.source import ExportSource
    from playground.keras_build.compile import build
    from playground.keras_build.weights import load_weights

    bad = tmp_path / "w.h5"
    assert cli.main(["export", str(graph_file), "--format", "weights", "--out", str(bad)]) == 1
    assert "must end in .weights.h5" in capsys.readouterr().err and not bad.exists()
    assert cli.main(["export", str(graph_file), "--format", "weights", "--out",
                     str(tmp_path / "cli.weights.h5")]) == 0
    graph = tiny()
    built = build(graph)
    out = exporters.write("weights", ExportSource.from_built(built, graph),
                          tmp_path / "w.weights.h5")
    other = build(tiny()).model
    report = load_weights(other, out)
    assert sorted(report.matched) == ["conv", "out"]
    for a, b in zip(other.get_weights(), built.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_new_format_is_one_module(tmp_path, graph_file, monkeypatch, capsys):
    """Drop a module defining FORMAT next to the built-in ones: the CLI offers and writes it."""
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "layer_names.py").write_text(textwrap.dedent('''
        from playground.core.atomic import write_text_atomic
        from playground.exporters import ExportFormat

        def write(source, path, force):
            write_text_atomic(path, "\\n".join(l.name for l in source.model.layers) + "\\n")
            return path

        FORMAT = ExportFormat(name="names", label="Layer names (.txt)...", kind="file",
                              suffix=".txt", help="names: the layer names, one a line",
                              write=write)
    '''))
    package = importlib.import_module("playground.exporters.formats")
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(plugin)])
    monkeypatch.setattr(exporters, "_REGISTRY", {})
    assert exporters.names()[-1] == "names"
    out = tmp_path / "layers.txt"
    assert cli.main(["export", str(graph_file), "--format", "names", "--out", str(out)]) == 0
    assert out.read_text().split() == ["input", "conv", "pool", "flatten", "out"]
    assert cli.main(["export", str(graph_file), "--format", "names", "--out", str(out)]) == 1
    assert "pass --force" in capsys.readouterr().err


def test_class_names_known_unknown_and_unencodable():
    """Names of the wrong count are unknown (indices); undecodable file-name bytes and lone
    surrogates become U+FFFD so the SavedModel and its JSON can hold them."""
    from types import SimpleNamespace

    from playground.exporters.source import ExportSource

    model = SimpleNamespace(outputs=[SimpleNamespace(shape=(None, 3))])
    source = ExportSource(model, (8, 8, 1), 1, ["a", "b"])
    assert source.names() == (["0", "1", "2"], False)
    source.class_names = ["caf\udce9", "\ud800x", "ok"]
    assert source.names() == (["caf\ufffd", "\ufffdx", "ok"], True)
