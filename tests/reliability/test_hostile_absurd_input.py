"""Issue 11, medium: a graph that ``check`` called valid crashed the window. An Input with 52
axes of 10^6 declares 10^312 values per sample; the status bar's ``float()`` of its figures
raised OverflowError inside ``MainWindow.__init__``. The checker now refuses absurd ranks and
sizes with a message naming the node and the param, and the editor's figures survive numbers
no float can hold.
"""

from __future__ import annotations

import pytest

from playground.core import fileformat
from playground.core.shapes import analyze
from tests.reliability.helpers import document, run_cli, write_graph


def _doc(shape: list[int]) -> dict:
    return document([
        {"id": "input", "type": "Input", "params": {"shape": shape}, "pos": [0, 0]},
        {"id": "flatten", "type": "Flatten", "params": {}, "pos": [260, 0]},
        {"id": "out", "type": "Dense", "params": {"units": 3}, "pos": [520, 0]},
    ], [("input", "flatten"), ("flatten", "out")], name="absurd")


@pytest.mark.parametrize("shape, needle", [
    ([10**6] * 52, "shape has 52 axes; an Input takes at most 5"),
    ([2] * 52, "shape has 52 axes"),
    ([100_000, 100_000, 3], "shape (100000, 100000, 3) holds 30,000,000,000 values per sample"),
])
def test_check_refuses_absurd_inputs_naming_the_node(tmp_path, capsys, shape, needle):
    path = write_graph(tmp_path / "g.json", _doc(shape))
    code, out, _err = run_cli(capsys, "check", path)
    assert code == 1
    assert f"error: node input: {needle}" in out
    problem = analyze(fileformat.load(path)).errors[0]
    assert problem.node == "input" and problem.param == "shape"


def test_reasonable_inputs_of_other_ranks_stay_valid():
    for shape in ([100_000], [32, 32], [28, 28, 1], [8, 8, 8, 2], [4, 4, 4, 4, 2]):
        assert analyze(fileformat.from_document(_doc(shape))).valid, shape


def test_figures_beyond_a_float_are_written_not_raised():
    from playground.core.summary_table import human_bytes as table_bytes
    from playground.core.summary_table import human_count as table_count
    from playground.ui.formatting import human_bytes, human_count

    huge = 3 * 10**400
    assert human_count(huge) == "3.0e400"
    assert human_bytes(huge) == "3.0e400 B"
    assert table_count(huge, "FLOPs") == "3.00e400 FLOPs"
    assert table_bytes(-huge) == "-3.00e400 B"
    assert human_count(25_557_032) == "25.6M" and table_count(1_819_066_368) == "1.82 G"


def test_the_window_opens_a_52_axis_input_and_shows_the_problem(make_window, qtbot, tmp_path):
    path = write_graph(tmp_path / "g.json", _doc([10**6] * 52))
    win = make_window(fileformat.load(path), str(path))
    assert not win.doc.analysis.valid
    assert any("52 axes" in p.message for p in win.problems.problems)
    assert "1 error" in win.status_labels["validity"].text()
    # Editing the shape back to something sane makes the graph valid again.
    assert win.editor.set_param("input", "shape", [8, 8, 1])
    qtbot.waitUntil(lambda: win.doc.analysis.valid, timeout=5_000)
    assert win.editor.set_param("input", "shape", [10**6] * 52)   # and absurd again: no crash
    qtbot.waitUntil(lambda: not win.doc.analysis.valid, timeout=5_000)
    assert win.isVisible()
