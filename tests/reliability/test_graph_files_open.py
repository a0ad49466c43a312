"""Item 1, graph files, end to end: every bad file gets a precise message from the CLI (exit 2 for
a file that is not a graph, 1 for a graph with bad content, never a traceback) and, in the editor,
a message box with that message while the open document stays exactly as it was (same graph, same
file, still modified, its autosave still there). The hypothesis fuzzing of the loader and the
checker lives in test_graph_files.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playground.core import fileformat
from tests.reliability.helpers import (
    FORMAT,
    document,
    edit,
    run_cli,
    tiny_document,
    tiny_graph,
    write_graph,
)

INPUT = {"id": "in", "type": "Input", "params": {"shape": [4]}}


def _doc(*nodes, edges=()) -> str:
    return json.dumps(document([INPUT, *nodes], list(edges)))


# name -> (file bytes, CLI exit code, words the message must hold)
BAD_FILES: dict[str, tuple[bytes, int, list[str]]] = {
    "empty": (b"", 2, ["empty.json", "empty"]),
    "blank": (b"  \n\t\n", 2, ["blank.json", "empty"]),
    "truncated": (_doc({"id": "d", "type": "Dense", "params": {"units": 2}})[:70].encode(),
                  2, ["truncated.json", "not valid JSON", "line 1"]),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00", 2,
               ["binary.json", "not a text file", "byte 0x89 at offset 0"]),
    "utf16": (json.dumps({"format": FORMAT, "version": 1, "nodes": [], "edges": []})
              .encode("utf-16"), 2, ["utf16.json", "UTF-16", "UTF-8"]),
    "deep": (b"[" * 100_000 + b"]" * 100_000, 2, ["deep.json", "nested too deeply"]),
    "nan": (_doc({"id": "d", "type": "Dense", "params": {"units": "NaN"}}).replace(
        '"NaN"', "NaN").encode(), 2, ["nan.json", "NaN"]),
    "infinity": (_doc({"id": "d", "type": "Dropout", "params": {"rate": "x"}}).replace(
        '"x"', "-Infinity").encode(), 2, ["infinity.json", "-Infinity is not allowed"]),
    "huge_number": (_doc({"id": "d", "type": "Dense", "params": {"units": "x"}}).replace(
        '"x"', "1e999").encode(), 2, ["huge_number.json", "number 1e999 is out of range"]),
    "duplicate_key": (b'{"format": "keras-playground-graph", "version": 1, "nodes": [], '
                      b'"nodes": [], "edges": []}', 2, ["duplicate_key.json", "duplicate key",
                                                        "'nodes'"]),
    "duplicate_id": (_doc({"id": "in", "type": "Dense", "params": {"units": 2}}).encode(), 1,
                     ["node in", "duplicate id"]),
    "wrong_types": (json.dumps({"format": FORMAT, "version": 1, "nodes": {"a": 1},
                                "edges": "x"}).encode(), 1, ["'nodes' must be a list"]),
    "wrong_node_type": (_doc({"id": "d", "type": "Dense", "params": [1, 2]}).encode(), 1,
                        ["node d", "params"]),
    "lambda": (_doc({"id": "evil", "type": "Lambda",
                     "params": {"function": "__import__('os').system('echo pwned')"}},
                    edges=[("in", "evil")]).encode(), 1,
               ["node evil", "unknown block type 'Lambda'"]),
    "tfsmlayer": (_doc({"id": "sm", "type": "TFSMLayer", "params": {"filepath": "/tmp/x"}}
                       ).encode(), 1, ["node sm", "unknown block type 'TFSMLayer'"]),
    "off_catalogue": (_doc({"id": "os", "type": "os.system", "params": {}}).encode(), 1,
                      ["node os", "unknown block type 'os.system'"]),
    "newer_version": (json.dumps({"format": FORMAT, "version": 2, "nodes": [], "edges": []})
                      .encode(), 2, ["newer_version.json", "version 2", "newer"]),
    "other_format": (json.dumps({"format": "something-else", "version": 1}).encode(), 2,
                     ["other_format.json"]),
    "not_an_object": (b"[1, 2, 3]", 2, ["not_an_object.json"]),
}


@pytest.fixture
def bad_file(tmp_path, request) -> tuple[Path, int, list[str]]:
    data, code, words = BAD_FILES[request.param]
    path = tmp_path / f"{request.param}.json"
    path.write_bytes(data)
    return path, code, words


@pytest.mark.parametrize("bad_file", sorted(BAD_FILES), indirect=True)
def test_cli_check_names_the_culprit(bad_file, capsys):
    path, code, words = bad_file
    exit_code, out, err = run_cli(capsys, "check", path)
    text = out + err
    assert exit_code == code, text
    for word in words:
        assert word in text, (word, text)
    assert "ok:" not in text
    # One short message, not a dump.
    assert len(text.splitlines()) <= 10 and len(text) < 2000, text


@pytest.mark.parametrize("command", ["summary", "export", "train"])
def test_other_commands_refuse_a_dangerous_block_before_building(command, tmp_path, capsys):
    doc = tiny_document("evil")
    doc["nodes"].append({"id": "evil", "type": "Lambda", "params": {"function": "print"}})
    doc["edges"].append({"from": "out", "to": "evil"})
    path = write_graph(tmp_path / "evil.json", doc)
    extra = {"summary": [], "export": ["--format", "keras", "--out", tmp_path / "m.keras"],
             "train": ["--dataset", "digits", "--epochs", "1"]}[command]
    code, out, err = run_cli(capsys, command, path, *extra)
    assert code == 1
    assert "node evil" in out + err and "Lambda" in out + err
    assert not (tmp_path / "m.keras").exists()


def test_the_loader_never_turns_a_block_type_into_code(tmp_path):
    """No file can make the loader or the checker look a type up in keras or builtins."""
    import sys

    path = tmp_path / "evil.json"
    path.write_bytes(BAD_FILES["lambda"][0])
    before = set(sys.modules)
    graph = fileformat.load(path)  # unknown types load (the checker names them)...
    from playground.core.shapes import analyze

    analysis = analyze(graph)
    assert not analysis.valid  # ...and never pass the check
    assert [p.node for p in analysis.errors] == ["evil"]
    assert not {"keras", "tensorflow"} & (set(sys.modules) - before)


# ------------------------------------------------------------------------------ GUI
@pytest.mark.parametrize("bad_file", ["truncated", "binary", "deep", "duplicate_key",
                                      "duplicate_id", "wrong_types", "newer_version",
                                      "nan", "utf16"],
                         indirect=True)
def test_gui_open_of_a_bad_file_leaves_the_document_untouched(bad_file, make_window, answers,
                                                              tmp_path):
    path, _code, words = bad_file
    good = tmp_path / "good.json"
    fileformat.save(tiny_graph("mine"), good)
    win = make_window(fileformat.load(good), str(good))
    edit(win)                                 # unsaved work...
    win.autosave_now()                        # ...already in the recovery file
    graph, before = win.doc.graph, fileformat.dumps(win.doc.graph)
    autosave = win.autosave_store().path_for(win.doc.key)
    assert autosave.exists()

    answers.question = answers.question.__class__.Discard  # "discard" the edit, then it fails
    assert win.open_file(str(path)) is False

    warnings = answers.texts("warning")
    assert len(warnings) == 1, answers.shown
    for word in words:
        assert word in warnings[0], (word, warnings[0])
    assert "Traceback" not in warnings[0]
    assert win.doc.graph is graph and fileformat.dumps(win.doc.graph) == before
    assert win.doc.path == good and win.doc.is_modified() and win.isWindowModified()
    assert autosave.exists()                  # the recovery file was not cleared either
    assert win.isVisible() and len(win.scene.node_items) == 5


def test_gui_open_of_a_missing_or_folder_path_says_why(make_window, answers, tmp_path):
    win = make_window(tiny_graph())
    before = fileformat.dumps(win.doc.graph)
    assert win.open_file(str(tmp_path / "nope.json")) is False
    assert win.open_file(str(tmp_path)) is False
    texts = answers.texts("warning")
    assert len(texts) == 2
    assert "nope.json" in texts[0] and str(tmp_path) in texts[1]
    assert fileformat.dumps(win.doc.graph) == before


def test_gui_shows_a_dangerous_block_as_an_error_and_never_builds_it(make_window, answers,
                                                                     tmp_path):
    """A graph naming a block off the catalogue opens (so the user can delete that node), but
    the node is listed as an error naming it, and export refuses to build anything."""
    doc = tiny_document("evil")
    doc["nodes"].append({"id": "evil", "type": "Lambda", "params": {"function": "print"}})
    doc["edges"].append({"from": "out", "to": "evil"})
    path = write_graph(tmp_path / "evil.json", doc)
    win = make_window(tiny_graph())
    assert win.open_file(str(path))
    problems = [str(p) for p in win.doc.analysis.errors]
    assert problems == ["error: node evil: unknown block type 'Lambda'; it is not in the "
                        "catalogue (see `python main.py blocks`)"]
    assert win.problems.problems and "evil" in str(win.problems.problems[0])
    assert win.scene.node_items["evil"].badge.severity == "error"
    answers.save_path = str(tmp_path / "evil.keras")
    win.export_dialog("keras")
    assert answers.texts("warning") == ["Fix the graph's errors first (see the Problems panel)."]
    assert not win._threads and not (tmp_path / "evil.keras").exists()


@pytest.mark.parametrize("bad_file", ["truncated", "newer_version", "duplicate_id"],
                         indirect=True)
@pytest.mark.parametrize("screenshot", [False, True], ids=["window", "screenshot"])
def test_cli_open_of_a_bad_file_says_why_and_starts_nothing(bad_file, screenshot, tmp_path,
                                                            capsys, autosave_dir):
    """``playground FILE`` / ``open FILE [--screenshot]``: the message and the exit code come
    before any window exists, so a bad file never leaves an empty editor behind."""
    pytest.importorskip("pytestqt")
    from PySide6.QtWidgets import QApplication

    def editors() -> set[int]:
        # Windows an earlier test left open (another test's business) are not this call's.
        return {id(w) for w in QApplication.topLevelWidgets()
                if w.objectName() == "MainWindow" and w.isVisible()}

    path, code, words = bad_file
    png = tmp_path / "shot.png"
    argv = ["open", path] + (["--screenshot", png] if screenshot else [])
    before = editors()
    exit_code, out, err = run_cli(capsys, *argv)
    assert exit_code == (2 if code == 2 else 1)
    for word in words:
        assert word in err, (word, err)
    assert not png.exists()
    assert editors() - before == set()
