"""``explain FILE [NODE] [--json]``: the contract's JSON, all nodes, exit codes, no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from playground import cli
from playground.core.presets import preset_path
from tests.cli import graphs

ROOT = Path(__file__).resolve().parents[2]
ALEXNET = str(preset_path("alexnet"))
INCEPTION = str(preset_path("inception_naive_vs_bottleneck"))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["explain", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_one_node_as_text_shows_the_arithmetic(capsys):
    code, out, _ = run(capsys, ALEXNET, "conv1")
    assert code == 0
    assert "(227 - 11 + 2*0) / 4 + 1 = 55" in out
    assert "(11*11*3 + 1) * 96 = 34,944" in out
    assert "55*55*96 * 11*11*3 = 105,415,200" in out
    assert "1 + (11 - 1)*1 = 11" in out


def test_json_of_one_node_follows_the_contract(capsys):
    code, out, _ = run(capsys, ALEXNET, "conv1", "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("output", "params", "macs", "receptive_field"):
        assert set(data[key]) >= {"value", "formula"}, key
    assert data["output"]["value"] == [55, 55, 96]
    assert data["params"]["value"] == 34_944
    assert data["macs"]["value"] == 105_415_200
    assert data["receptive_field"]["value"] == [11, 11]
    assert "(11*11*3 + 1) * 96" in data["params"]["formula"]
    assert "branches" not in data


def test_composite_json_has_branches_summing_to_the_totals(capsys):
    code, out, _ = run(capsys, INCEPTION, "bottleneck", "--json")
    assert code == 0
    data = json.loads(out)
    branches = data["branches"]
    assert [b["name"] for b in branches] == ["1x1", "3x3", "5x5", "pool", "concat"]
    assert all({"name", "params", "macs"} <= set(b) for b in branches)
    assert sum(b["macs"] for b in branches) == data["macs"]["value"] == 271_351_808
    assert sum(b["params"] for b in branches) == data["params"]["value"]
    three = next(b for b in branches if b["name"] == "3x3")
    assert [la["macs"] for la in three["layers"]] == [12_845_056, 86_704_128]


def test_without_node_every_node_is_explained(capsys):
    code, out, _ = run(capsys, ALEXNET, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["valid"] is True
    ids = [n["id"] for n in data["nodes"]]
    assert ids[:3] == ["input", "conv1", "norm1"] and "predictions" in ids
    code, out, _ = run(capsys, ALEXNET)
    assert code == 0 and out.count("receptive field") == len(ids)


def test_unknown_node_exits_1_naming_it(capsys):
    code, out, err = run(capsys, ALEXNET, "conv9")
    assert code == 1 and "conv9" in err and not out


def test_invalid_graph_exits_1_and_names_the_node(tmp_path, capsys):
    path = graphs.write(tmp_path / "bad.json", graphs.invalid())
    code, out, err = run(capsys, str(path))
    assert code == 1 and "error: node" in out
    # AlexNet at 32x32: conv1 still has its numbers, but the graph is invalid further on.
    code, out, err = run(capsys, ALEXNET, "conv1", "--input-shape", "32,32,3")
    assert code == 1 and "height, width: floor((32 - 11 + 2*0) / 4) + 1 = 6" in out


def test_node_without_a_shape_exits_1_with_its_problem(capsys):
    code, out, err = run(capsys, ALEXNET, "conv5", "--input-shape", "32,32,3")
    assert code == 1 and "conv" in err and "cannot explain" in err


@pytest.mark.parametrize("content", ["not json", '{"format": "other"}'])
def test_unreadable_file_exits_2(tmp_path, capsys, content):
    path = tmp_path / "x.json"
    path.write_text(content)
    code, _, err = run(capsys, str(path))
    assert code == 2 and "x.json" in err


def test_missing_file_and_bad_args_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, str(tmp_path / "missing.json"))
    assert code == 2
    with pytest.raises(SystemExit) as stop:
        cli.main(["explain"])
    assert stop.value.code == 2


def test_explain_imports_no_tensorflow_or_qt():
    script = ("import sys; from playground import cli; "
              f"code = cli.main(['explain', {ALEXNET!r}, 'conv1', '--json']); "
              "heavy = [m for m in ('tensorflow', 'keras', 'PySide6') if m in sys.modules]; "
              "print('HEAVY', heavy, code)")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=60).stdout
    assert "HEAVY [] 0" in out
