"""Issue 11, low: arguments and text from strangers at the command line. ``--seed 1e23`` or
``10**23`` and ``--input-shape 32,32`` are refused by argparse (exit 2) before TensorFlow is
imported or a dataset loaded; a graph named with a lone surrogate does not crash ``summary`` or
``export``; ``check`` prints one short line per problem, whatever the file quotes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.reliability.helpers import run_cli, tiny_document, write_graph

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import contextlib, io, json, sys
    from playground.cli import main
    results = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
        results.append([code, err.getvalue(), "tensorflow" in sys.modules,
                        "playground.data.digits" in sys.modules])
    print(json.dumps(results))
""")


@pytest.mark.parametrize("argv, needle", [
    (["train", "{g}", "--dataset", "digits", "--seed", "1e23"], "argument --seed: invalid int"),
    (["train", "{g}", "--dataset", "digits", "--seed", "100000000000000000000000"],
     "argument --seed: 100000000000000000000000 is out of range (0 to 4294967295)"),
    (["train", "{g}", "--dataset", "digits", "--seed", "-1"], "out of range"),
    (["train", "{g}", "--dataset", "digits", "--input-shape", "32,32"],
     "argument --input-shape: '32,32' has 2 size(s); give height, width and channels"),
    (["summary", "{g}", "--input-shape", "32,32,3,3"], "has 4 size(s)"),
    (["export", "{g}", "--format", "python", "--out", "{o}", "--input-shape", "8,8,10000000"],
     "each size must be at most 1,000,000"),
    (["train", "{g}", "--dataset", "digits", "--classes", "100000000000"], "out of range"),
])
def test_bad_numbers_are_refused_by_argparse_before_tensorflow(tmp_path, argv, needle):
    graph = write_graph(tmp_path / "g.json", tiny_document())
    argv = [a.format(g=graph, o=tmp_path / "o.py") for a in argv]
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps([argv])], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    ((code, err, tf_loaded, data_loaded),) = json.loads(result.stdout.splitlines()[-1])
    assert code == 2, err
    assert needle in err
    assert "Traceback" not in err
    assert not tf_loaded and not data_loaded
    assert not (tmp_path / "o.py").exists()


def _surrogate_graph(tmp_path: Path) -> Path:
    doc = tiny_document()
    doc["name"] = "bad\ud800name"
    doc["description"] = "also \udfff here"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc), encoding="utf-8")   # JSON escapes: a valid file
    return path


def test_a_lone_surrogate_name_does_not_crash_summary_or_export(tmp_path, capsys):
    path = _surrogate_graph(tmp_path)
    code, out, err = run_cli(capsys, "summary", path)
    assert code == 0, err
    assert 'Model: "bad\\ud800name"' in out
    code, out, err = run_cli(capsys, "summary", path, "--json")
    assert code == 0 and json.loads(out)["name"] == "bad\ud800name"
    script = tmp_path / "s.py"
    code, out, err = run_cli(capsys, "export", path, "--format", "python", "--out", script)
    assert code == 0, err
    text = script.read_text(encoding="utf-8")
    compile(text, str(script), "exec")
    assert "bad\\ud800name" in text
    code, out, err = run_cli(capsys, "export", path, "--format", "keras", "--out",
                             tmp_path / "s.keras")
    assert code == 0, err


def test_check_prints_one_short_line_per_problem(tmp_path, capsys):
    doc = tiny_document()
    doc["nodes"][4]["params"]["k" * 100_000] = 1
    doc["nodes"][1]["params"]["line\nbreak"] = 1
    path = write_graph(tmp_path / "g.json", doc)
    code, out, err = run_cli(capsys, "check", path)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2, lines
    assert all(len(line) <= 450 for line in lines)
    assert any(line.startswith("error: node out:") and "(100,0" in line for line in lines)
    assert any("line\\nbreak" in line for line in lines)
