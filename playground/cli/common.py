"""Helpers shared by subcommands: loading a graph with the contract's exit codes, retargeting."""

from __future__ import annotations

import argparse
import sys

from playground.core import fileformat
from playground.core.errors import GraphFileError
from playground.core.graph import Graph
from playground.core.retarget import RetargetError, parse_shape, set_classes, set_input_shape
from playground.core.shapes import Analysis, analyze


class ExitWith(Exception):
    """Raised by helpers to end a command with a given exit code (message already printed)."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(code)


def load_or_report(path: str) -> Graph:
    """Load a graph; an unreadable file exits 2, invalid content prints check lines and exits 1."""
    try:
        return fileformat.load(path)
    except GraphFileError as exc:
        if exc.unreadable:
            print(f"error: {exc}", file=sys.stderr)
            raise ExitWith(2) from None
        for where, message in exc.problems:
            print(f"error: {where}: {message}")
        raise ExitWith(1) from None


def add_retarget_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-shape", metavar="H,W,C",
                        help="retarget the graph's Input to this shape (no batch axis)")
    parser.add_argument("--classes", type=int, metavar="N",
                        help="set the class count of the classifier head(s)")


def apply_retarget(graph: Graph, args: argparse.Namespace) -> list[str]:
    """Apply --input-shape/--classes; returns lines describing what changed."""
    notes = []
    if getattr(args, "input_shape", None):
        try:
            shape = parse_shape(args.input_shape)
        except RetargetError as exc:  # a malformed argument: exit 2 like argparse's errors
            print(f"error: {exc}", file=sys.stderr)
            raise ExitWith(2) from None
        node_id = set_input_shape(graph, shape)
        notes.append(f"input {node_id}: shape set to {args.input_shape}")
    if getattr(args, "classes", None) is not None:
        if args.classes < 1:
            print(f"error: --classes must be at least 1, not {args.classes}", file=sys.stderr)
            raise ExitWith(2)
        heads = set_classes(graph, args.classes)
        notes.append(f"classes set to {args.classes} on {', '.join(heads)}")
    return notes


def size_hint(graph: Graph, analysis: Analysis | None = None) -> str | None:
    """``"hint: AlexNet needs at least a 67x67x3 input"`` when the graph is invalid because its
    input is too small somewhere, else None.

    The search re-runs the checker a few dozen times (up to ~100 ms for DenseNet), so it is only
    done for a graph that already failed with a size problem: a valid check stays instant.
    """
    from playground.core.minimum_input import minimum_input_message, size_problem

    if analysis is None:
        analysis = analyze(graph)
    if analysis.valid or size_problem(analysis) is None:
        return None
    message = minimum_input_message(graph)
    if message is None:
        return (f"hint: no square input size makes {graph.name} valid; the other errors do "
                "not depend on the input size")
    return f"hint: {message}"


def wrap(run):
    """Turn ``ExitWith`` into a return code so subcommands can bail out from helpers."""

    def runner(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except ExitWith as stop:
            return stop.code

    return runner
