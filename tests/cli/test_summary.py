"""``summary``: table and JSON, retargeting, invalid and unreadable files (no TensorFlow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from playground import cli
from tests.cli import graphs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return graphs.write(tmp_path / "small.json", graphs.small())


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code = cli.main(["summary", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_table_lists_every_node_with_counts_and_totals(small, capsys):
    assert cli.main(["summary", str(small)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    conv = next(line for line in lines if line.startswith("conv1 (Conv2D)"))
    # 3*3*3*8 + 8 weights; 16*16*8*27 MACs; 16*16*8 float32 values; RF 3
    assert "(None, 16, 16, 8)" in conv and " 224 " in conv and "55.30 K" in conv
    assert "8.00 KiB" in conv and conv.rstrip().endswith("input")
    assert "Total params: 4,117" in out
    assert "Trainable params: 4,005" in out
    assert "Non-trainable params: 112" in out
    assert "MACs: 284.75 K (284,752) per sample" in out
    assert "Depth: 4 weight layer(s)" in out
    assert "res1_1_conv" not in out          # inner layers only with --inner


def test_inner_rows_follow_their_composite(small, capsys):
    assert cli.main(["summary", str(small), "--inner"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("res1 (ResidualBlock)"))
    inner = [line.strip() for line in lines[start + 1:] if line.startswith("  - ")]
    names = [line.split()[1] for line in inner]
    assert names[:2] == ["res1_1_conv", "res1_1_bn"]
    assert {"res1_0_conv", "res1_0_bn", "res1_add", "res1_out"} <= set(names)
    assert any("1,152" in line for line in inner if line.startswith("- res1_1_conv"))


def test_json_fields_and_numbers(small, capsys):
    code, data = run_json(capsys, str(small))
    assert code == 0 and data["valid"] is True and data["problems"] == []
    nodes = {n["id"]: n for n in data["nodes"]}
    assert [n["id"] for n in data["nodes"]] == ["input", "conv1", "bn1", "res1", "gap", "fc"]
    assert nodes["conv1"]["output_shape"] == [16, 16, 8]
    assert nodes["fc"]["output_shape"] == [5]
    assert nodes["bn1"]["params"] == 32
    assert nodes["bn1"]["trainable_params"] == 16
    assert nodes["bn1"]["non_trainable_params"] == 16
    assert nodes["conv1"]["macs"] == 16 * 16 * 8 * 27
    assert nodes["conv1"]["memory_bytes"] == 16 * 16 * 8 * 4
    # 3x3 conv: 3; residual block (3x3 /2 then 3x3): 3 + 2 + 2*2 = 9; flat after pooling
    assert nodes["conv1"]["receptive_field"] == [3, 3]
    assert nodes["res1"]["receptive_field"] == [9, 9]
    assert nodes["gap"]["receptive_field"] is None
    assert data["total_params"] == sum(n["params"] for n in data["nodes"]) == 4117
    assert data["trainable_params"] + data["non_trainable_params"] == data["total_params"]
    assert data["macs"] == sum(n["macs"] for n in data["nodes"])
    assert data["memory_bytes"] == sum(n["memory_bytes"] for n in data["nodes"])
    assert data["depth"] == 4
    for key in ("id", "type", "output_shape", "params", "trainable_params", "macs"):
        assert all(key in n for n in data["nodes"])


def test_json_inner_sums_to_the_node(small, capsys):
    _, data = run_json(capsys, str(small), "--inner")
    res = next(n for n in data["nodes"] if n["id"] == "res1")
    assert sum(i["params"] for i in res["inner"]) == res["params"]
    assert sum(i["macs"] for i in res["inner"]) == res["macs"]
    assert res["inner"][0] == {
        "id": "res1_1_conv", "type": "Conv2D", "output_shape": [8, 8, 16], "params": 1152,
        "trainable_params": 1152, "non_trainable_params": 0, "macs": 8 * 8 * 16 * 72,
        "memory_bytes": 8 * 8 * 16 * 4}


def test_frozen_node_counts_as_non_trainable(tmp_path, capsys):
    document = graphs.small()
    document["nodes"][1]["trainable"] = False
    path = graphs.write(tmp_path / "frozen.json", document)
    _, data = run_json(capsys, str(path))
    conv = next(n for n in data["nodes"] if n["id"] == "conv1")
    assert conv["trainable_params"] == 0 and conv["non_trainable_params"] == 224
    assert data["trainable_params"] == 4005 - 224


def test_retarget_input_and_classes(small, capsys):
    code, data = run_json(capsys, str(small), "--input-shape", "32,32,1", "--classes", "7")
    assert code == 0
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["input"]["output_shape"] == [32, 32, 1]
    assert nodes["conv1"]["params"] == 3 * 3 * 1 * 8 + 8
    assert nodes["fc"]["output_shape"] == [7] and nodes["fc"]["params"] == 16 * 7 + 7


def test_invalid_graph_prints_what_is_known_and_exits_1(tmp_path, capsys):
    path = graphs.write(tmp_path / "broken.json", graphs.invalid())
    assert cli.main(["summary", str(path)]) == 1
    out = capsys.readouterr().out
    assert "input (Input)" in out and "(None, 4, 4, 1)" in out
    assert "big (Conv2D)" in out and "?" in out
    assert "error: node big:" in out
    assert "INVALID" in out
    code, data = run_json(capsys, str(path))
    assert code == 1 and data["valid"] is False
    assert any(p.startswith("error: node big:") for p in data["problems"])
    big = next(n for n in data["nodes"] if n["id"] == "big")
    assert big["output_shape"] is None and big["problems"]


@pytest.mark.parametrize("content, needle", [
    ("not json at all", "not valid JSON"),
    ('{"format": "something-else", "version": 1}', "not a graph file"),
    ('{"format": "keras-playground-graph", "version": 99, "nodes": []}', "newer"),
])
def test_unreadable_files_exit_2_with_a_message(tmp_path, capsys, content, needle):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    assert cli.main(["summary", str(path)]) == 2
    captured = capsys.readouterr()
    assert needle in captured.err and "Traceback" not in captured.err + captured.out


def test_missing_file_exits_2(tmp_path, capsys):
    assert cli.main(["summary", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("args, needle", [
    (["--input-shape", "abc"], "--input-shape"),
    (["--input-shape", "0,4,3"], "positive"),
    (["--classes", "0"], "--classes"),
    (["--classes", "x"], "invalid int"),
])
def test_bad_arguments_exit_2(small, capsys, args, needle):
    with pytest.raises(SystemExit) as stop:
        code = cli.main(["summary", str(small), *args])
        raise SystemExit(code)
    assert stop.value.code == 2
    assert needle in capsys.readouterr().err


def test_subprocess_no_traceback_and_help_lists_every_command(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "summary", str(bad)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "not valid JSON" in result.stderr
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--help"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0
    for command in cli.COMMANDS:
        assert command in result.stdout
    assert "tensorflow" not in result.stderr.lower()


def test_a_command_whose_module_fails_to_import_is_listed_and_explains(monkeypatch, capsys):
    monkeypatch.setitem(cli.COMMANDS, "ghost", ("playground.cli.no_such_module", "a ghost"))
    parser = cli.build_parser()
    assert "ghost" in parser.format_help()
    assert cli.main(["ghost", "x", "--y"]) == 1
    err = capsys.readouterr().err
    assert "`ghost` command is not available" in err and "no_such_module" in err


def test_help_and_summary_import_no_tensorflow(small):
    code = ("import sys; from playground import cli; cli.build_parser(); "
            f"cli.main(['summary', {str(small)!r}, '--json']); "
            "print('HEAVY', sorted(m for m in ('tensorflow', 'keras', 'PySide6') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_number_formatting():
    from playground.core.summary_table import human_bytes, human_count, rf_text, shape_text

    assert human_count(1_819_066_368) == "1.82 G" and human_count(80) == "80"
    assert human_bytes(9_633_792) == "9.19 MiB" and human_bytes(20) == "20 B"
    assert shape_text((7, 7, 512)) == "(None, 7, 7, 512)" and shape_text(None) == "?"
    assert rf_text((11.0, 11.0)) == "11" and rf_text((3, 5)) == "3x5" and rf_text(None) == "-"
