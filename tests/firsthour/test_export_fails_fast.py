"""`export` refuses what it can without TensorFlow (seconds to import): an existing target
and a graph that `check` rejects; it creates missing folders above --out for a valid graph."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _export(*args: str, cwd: Path) -> tuple[int, str, bool]:
    code = ("import sys\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from playground.cli import main\n"
            f"rc = main({list(args)!r})\n"
            "print('TF', 'tensorflow' in sys.modules)\n"
            "sys.exit(rc)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    return done.returncode, done.stderr + done.stdout, "TF True" in done.stdout


def test_existing_target_is_refused_before_tensorflow(tmp_path) -> None:
    target = tmp_path / "model.keras"
    target.write_bytes(b"someone's model")
    rc, out, tf = _export("export", str(ROOT / "presets" / "lenet5.json"), "--format", "keras",
                          "--out", str(target), cwd=tmp_path)
    assert rc == 1 and "already exists" in out and "--force" in out
    assert not tf
    assert target.read_bytes() == b"someone's model"


def test_invalid_graph_is_reported_like_check_before_tensorflow(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({
        "format": "keras-playground-graph", "version": 1,
        "nodes": [{"id": "in", "type": "Input", "params": {"shape": [4, 4, 1]}},
                  {"id": "c", "type": "Conv2D", "params": {"filters": 2, "kernel_size": 7}}],
        "edges": [{"from": "in", "to": "c"}]}))
    rc, out, tf = _export("export", str(bad), "--format", "keras", "--out",
                          str(tmp_path / "deep" / "m.keras"), cwd=tmp_path)
    assert rc == 1 and "node c" in out and not tf
    assert not (tmp_path / "deep").exists()      # no folder made for a graph never exported


def test_the_graph_is_read_and_checked_once(tmp_path, monkeypatch, capsys) -> None:
    """The fast refusals and the export share one loaded, retargeted, checked graph: the
    file is read once (a file changed in between cannot be exported unchecked) and the
    retarget notes are printed once."""
    from playground.cli import build_parser
    from playground.cli import export as export_cmd
    from playground.keras_build import compile as compile_mod

    reads = []
    real_load = export_cmd.load_or_report
    monkeypatch.setattr(export_cmd, "load_or_report",
                        lambda path: reads.append(path) or real_load(path))

    class Built(Exception):
        pass

    def build(graph, analysis=None):
        assert analysis is not None and analysis.valid and graph.node("predictions")
        raise Built(analysis.output_shapes())

    monkeypatch.setattr(compile_mod, "build", build)
    args = build_parser().parse_args(["export", str(ROOT / "presets" / "lenet5.json"),
                                      "--format", "keras", "--classes", "3",
                                      "--out", str(tmp_path / "m.keras")])
    try:
        export_cmd.run(args)
    except Built as built:
        assert built.args[0] == [(3,)]
    out = capsys.readouterr().out
    assert len(reads) == 1
    assert out.count("note: ") == 1 and "3" in out
