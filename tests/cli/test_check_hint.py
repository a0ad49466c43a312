"""``check``/``summary``/``export``: a graph whose input is too small names the node where the
size runs out and suggests the smallest input that works (AlexNet needs 67x67x3)."""

from __future__ import annotations

from pathlib import Path

from playground import cli
from playground.core import minimum_input

ROOT = Path(__file__).resolve().parents[2]
ALEXNET = str(ROOT / "presets" / "alexnet.json")
HINT = "hint: AlexNet needs at least a 67x67x3 input"


def test_check_alexnet_at_32_names_the_layer_and_the_smallest_input(capsys):
    assert cli.main(["check", ALEXNET, "--input-shape", "32,32,3"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == HINT
    errors = [line for line in lines if line.startswith("error: node ")]
    assert errors and "pool2" in errors[0] and "larger than its" in errors[0]


def test_the_suggested_size_checks_valid_and_one_less_does_not(capsys):
    assert cli.main(["check", ALEXNET, "--input-shape", "67,67,3"]) == 0
    assert "hint:" not in capsys.readouterr().out
    assert cli.main(["check", ALEXNET, "--input-shape", "66,66,3"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == HINT


def test_summary_and_export_print_the_hint(tmp_path, capsys):
    assert cli.main(["summary", ALEXNET, "--input-shape", "32,32,3"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == HINT
    out = tmp_path / "alexnet.py"
    assert cli.main(["export", ALEXNET, "--input-shape", "32,32,3", "--format", "python",
                     "--out", str(out)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == HINT
    assert not out.exists()


def test_valid_check_does_not_search_for_a_size(monkeypatch, capsys):
    def boom(graph):
        raise AssertionError("searched although the graph is valid")

    monkeypatch.setattr(minimum_input, "minimum_input_message", boom)
    assert cli.main(["check", ALEXNET]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_other_errors_get_no_hint(tmp_path, capsys):
    from tests.cli import graphs

    doc = graphs.small()
    doc["edges"].append({"from": "input", "to": "fc"})  # a Dense with two inputs: not a size
    path = graphs.write(tmp_path / "bad.json", doc)
    assert cli.main(["check", str(path), "--input-shape", "16,16,1"]) == 1
    assert "hint:" not in capsys.readouterr().out
