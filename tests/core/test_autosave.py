"""Autosave and crash recovery: atomic snapshots, live vs dead writers, corrupt files set aside,
and a real process killed with SIGKILL whose snapshot is offered and restored exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from playground.core import fileformat
from playground.core.autosave import (
    SUFFIX,
    Autosave,
    autosave_dir,
    process_alive,
)
from playground.core.errors import GraphFileError
from playground.core.graph import Graph, Node

REPO = Path(__file__).resolve().parents[2]


def sample() -> Graph:
    g = Graph("Recover me", "with a description")
    g.extra = {"future_key": {"x": 1}}
    g.add_node(Node("input", "Input", {"shape": [8, 8, 3]}, pos=(0.0, 10.5)))
    g.add_node(Node("c", "Conv2D", {"filters": 4, "kernel_size": [3, 1]}, trainable=False,
                    pos=(220.0, 10.5), extra={"comment": "ünïcode"}))
    g.add_edge("input", "c")
    return g


def fake_dead_snapshot(directory: Path, graph: Graph, pid: int = 2**22 + 12345,
                       **changes) -> Path:
    """A snapshot as if written by a process that has ended (pid beyond pid_max)."""
    record = {"format": "keras-playground-autosave", "version": 1, "doc_key": "doc",
              "source_path": "/tmp/x.json", "time": 1000.0, "pid": pid, "pid_start": None,
              "host": os.uname().nodename, "graph": fileformat.to_document(graph)}
    record.update(changes)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{pid}-doc{SUFFIX}"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_autosave_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYGROUND_AUTOSAVE_DIR", str(tmp_path / "auto"))
    assert autosave_dir() == tmp_path / "auto"
    monkeypatch.delenv("PLAYGROUND_AUTOSAVE_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert autosave_dir() == tmp_path / "xdg" / "keras-playground" / "autosave"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert autosave_dir() == tmp_path / "home" / ".local/share/keras-playground/autosave"


def test_write_clear_and_own_snapshots_are_not_pending(tmp_path):
    auto = Autosave(tmp_path / "a")
    path = auto.write("untitled-1", sample(), None)
    assert path.parent == tmp_path / "a" and path.name.endswith(SUFFIX)
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["pid"] == os.getpid() and record["source_path"] is None
    assert record["graph"] == fileformat.to_document(sample())
    assert abs(record["time"] - time.time()) < 60
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left
    # our own (live) snapshot is not offered, neither to us nor to a second instance
    assert auto.pending() == []
    assert Autosave(tmp_path / "a").pending() == []
    auto.write("untitled-1", Graph("changed"), "/x/y.json")  # same key: same file
    assert len(list((tmp_path / "a").iterdir())) == 1
    auto.write("/home/u/other.json", sample(), "/home/u/other.json")
    assert len(list((tmp_path / "a").iterdir())) == 2
    auto.clear("untitled-1")
    auto.clear("untitled-1")  # twice is fine
    assert len(list((tmp_path / "a").iterdir())) == 1


def test_unsaveable_value_names_the_node_and_keeps_the_old_snapshot(tmp_path):
    auto = Autosave(tmp_path)
    path = auto.write("k", sample())
    good = path.read_bytes()
    bad = sample()
    bad.set_param("c", "filters", float("nan"))
    with pytest.raises(GraphFileError, match="node c"):
        auto.write("k", bad)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_doc_keys_do_not_collide(tmp_path):
    auto = Autosave(tmp_path)
    keys = ["a/b", "a_b", "a b", "ä", "../../etc/passwd", "x" * 500]
    paths = {auto.path_for(k) for k in keys}
    assert len(paths) == len(keys)
    assert all(p.parent == tmp_path for p in paths)


def test_dead_snapshot_is_offered_and_loads_exactly(tmp_path):
    g = sample()
    fake_dead_snapshot(tmp_path, g)
    entries = Autosave(tmp_path).pending()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.error is None and entry.name == "Recover me"
    assert entry.source_path == "/tmp/x.json" and entry.doc_key == "doc"
    assert fileformat.dumps(entry.load()) == fileformat.dumps(g)
    entry.load().add_node(Node("z", "Dropout"))  # each load is a fresh graph
    assert fileformat.dumps(entry.load()) == fileformat.dumps(g)
    entry.discard()
    assert Autosave(tmp_path).pending() == []


def test_recycled_pid_is_not_mistaken_for_the_writer(tmp_path):
    # our own pid, but another process start time: the writer is gone
    fake_dead_snapshot(tmp_path, sample(), pid=os.getpid(), pid_start=1)
    other = Autosave(tmp_path / "unused")
    other.directory = tmp_path
    other.pid = -1  # look at the folder as another process would
    assert len(other.pending()) == (1 if sys.platform == "linux" else 0)
    fake_dead_snapshot(tmp_path / "live", sample(), pid=os.getpid(),
                       pid_start=Autosave(tmp_path)._start)
    other.directory = tmp_path / "live"
    assert other.pending() == []  # same pid and start time: the writer is alive
    assert process_alive(os.getpid())
    assert not process_alive(os.getpid(), start=-5) or sys.platform != "linux"
    assert not process_alive(0) and not process_alive(-3)


def test_pending_is_sorted_newest_first(tmp_path):
    fake_dead_snapshot(tmp_path, sample(), pid=2**22 + 1, time=10.0)
    fake_dead_snapshot(tmp_path, sample(), pid=2**22 + 2, time=30.0)
    fake_dead_snapshot(tmp_path, sample(), pid=2**22 + 3, time=20.0)
    assert [e.time for e in Autosave(tmp_path).pending()] == [30.0, 20.0, 10.0]


@pytest.mark.parametrize("content", [
    b"",
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[1, 2, 3]",
    b'{"format": "something-else"}',
    b'{"format": "keras-playground-autosave", "version": 1, "pid": 5, "time": 1}',
    b'{"format": "keras-playground-autosave", "version": 1, "pid": "5", "time": 1, '
    b'"graph": {}}',
    b'{"format": "keras-playground-autosave", "version": 99, "pid": 5, "time": 1}',
    b'{"format": "keras-playground-autosave", "version": 1, "pid": 4194399, "time": 1, '
    b'"graph": {"format": "keras-playground-graph", "version": 1, "nodes": [{"id": 3}]}}',
])
def test_corrupt_snapshot_is_reported_and_moved_aside(tmp_path, content):
    path = tmp_path / f"4194399-doc{SUFFIX}"
    path.write_bytes(content)
    entries = Autosave(tmp_path).pending()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.error and "corrupt recovery file" in entry.error
    assert not path.exists()
    assert entry.path == tmp_path / (path.name + ".corrupt")
    assert entry.path.read_bytes() == content  # kept for inspection, never deleted
    with pytest.raises(GraphFileError, match="corrupt"):
        entry.load()
    assert Autosave(tmp_path).pending() == []  # reported once
    path.write_bytes(content)  # a second corrupt file does not overwrite the first
    second = Autosave(tmp_path).pending()[0]
    assert second.path != entry.path and second.path.exists() and entry.path.exists()


def test_unreadable_directory_or_missing_directory(tmp_path):
    assert Autosave(tmp_path / "does-not-exist").pending() == []
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        Autosave(blocker / "sub").write("k", sample())


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {repo!r})
    from playground.core.autosave import Autosave
    from playground.core.graph import Graph, Node
    g = Graph("Crashed work")
    g.add_node(Node("input", "Input", {{"shape": [32, 32, 3]}}, pos=(1.0, 2.0)))
    g.add_node(Node("conv", "Conv2D", {{"filters": 8, "padding": "same"}}, trainable=False))
    g.add_edge("input", "conv")
    Autosave({directory!r}).write("untitled-1", g, "/home/someone/model.json")
    print("written", flush=True)
    time.sleep(120)
""")


def test_killed_process_snapshot_is_recovered(tmp_path):
    directory = tmp_path / "autosave"
    code = CHILD.format(repo=str(REPO), directory=str(directory))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "written"
        assert Autosave(directory).pending() == []  # the writer still runs
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    entries = Autosave(directory).pending()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.pid == proc.pid and entry.error is None
    assert entry.source_path == "/home/someone/model.json" and entry.name == "Crashed work"
    g = entry.load()
    expected = Graph("Crashed work")
    expected.add_node(Node("input", "Input", {"shape": [32, 32, 3]}, pos=(1.0, 2.0)))
    expected.add_node(Node("conv", "Conv2D", {"filters": 8, "padding": "same"},
                           trainable=False))
    expected.add_edge("input", "conv")
    assert fileformat.dumps(g) == fileformat.dumps(expected)
    entry.discard()
    assert Autosave(directory).pending() == []
