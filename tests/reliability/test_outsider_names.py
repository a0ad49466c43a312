"""Names from a stranger's graph file, as an outsider met them (wave 5).

A graph's ``name`` is free text. ``summary`` printed it raw in its title, so a name carrying
terminal escape sequences retitled or cleared the user's terminal and a newline faked an output
line (``check`` already escaped its problem lines). The run folder's name was built from the
graph's name uncut, so a graph named with 300 characters could not be trained at all (the
folder name passed the file system's 255-byte limit: "File name too long").
"""

from __future__ import annotations

import os

from playground.training import runs
from tests.reliability.helpers import run_cli, tiny_document, write_graph

HOSTILE_NAME = "evil\x1b]0;pwned\x07\x1b[2J\x1b[31mRED\r\nfake: ok\u202e"


def test_summary_title_escapes_a_hostile_graph_name(tmp_path, capsys):
    path = write_graph(tmp_path / "g.json", tiny_document(HOSTILE_NAME))
    code, out, _ = run_cli(capsys, "summary", path)
    assert code == 0
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out and "\u202e" not in out
    title = out.splitlines()[0]
    assert title == 'Model: "evil\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mRED\\r\\nfake: ok\\u202e"'
    assert not any(line.startswith("fake: ok") for line in out.splitlines())


def test_summary_title_of_a_huge_name_is_cut(tmp_path, capsys):
    path = write_graph(tmp_path / "g.json", tiny_document("n" * 100_000))
    code, out, _ = run_cli(capsys, "summary", path)
    assert code == 0
    title = out.splitlines()[0]
    assert len(title) < 500 and "(100,000 characters)" in title


def test_a_run_folder_name_stays_short_whatever_the_graph_name(tmp_path):
    made = runs.new_run_dir("A" * 300 + "-digits", tmp_path)
    assert made.is_dir()
    assert len(os.fsencode(made.name)) <= 120
    assert made.name.endswith("-digits")            # the dataset stays visible
    again = runs.new_run_dir("A" * 300 + "-digits", tmp_path)
    assert again != made and again.is_dir()         # same second: a -2 suffix, still short
    assert runs.new_run_dir("LeNet-5-digits", tmp_path).name.endswith("-LeNet-5-digits")


def test_cli_trains_a_graph_with_a_300_character_name(tmp_path, capsys):
    path = write_graph(tmp_path / "g.json", tiny_document("L" * 300))
    code, out, err = run_cli(capsys, "train", path, "--dataset", "digits", "--epochs", "1")
    assert code == 0, err
    assert "final (finished)" in out
    run_line = [line for line in err.splitlines() if line.startswith("run: ")]
    assert run_line and os.path.isdir(run_line[-1][5:]), err
