"""Performance smoke test: 3x issue 2's targets, so that a regression shows without flaking on a
busy CI machine (the real figures are in docs/perf/check.md, from bench/bench_check.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_check.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_check", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_graphs_are_realistic_and_valid(bench) -> None:
    from playground.core.shapes import analyze

    graph = bench.make_graph(500)
    assert 500 <= len(graph) <= 515
    types = {n.type for n in graph.nodes}
    assert {"Conv2D", "BatchNormalization", "Add", "Concatenate", "InceptionModule"} <= types
    analysis = analyze(graph)
    assert analysis.valid
    assert analysis.output_shapes() == [(1000,)]


def test_cold_check_of_3000_nodes(bench) -> None:
    graph = bench.make_graph(3000)
    assert bench.bench_cold_check(graph, 3) < 3 * bench.TARGETS_MS["cold_check"]


def test_recheck_after_one_edit_on_500_nodes(bench) -> None:
    graph = bench.make_graph(500)
    assert bench.bench_edit_recheck(graph, 9) < 3 * bench.TARGETS_MS["edit_recheck"]


def test_cli_check_process(bench, tmp_path: Path) -> None:
    from playground.core import fileformat

    path = tmp_path / "big.json"
    fileformat.save(bench.make_graph(3000), path)
    assert bench.bench_cli_check(path, 3) < 3 * bench.TARGETS_MS["cli_check"]
