"""Helpers shared by subcommands: loading a graph with the contract's exit codes, retargeting."""

from __future__ import annotations

import argparse
import sys

from playground.core import fileformat
from playground.core.errors import GraphFileError
from playground.core.graph import Graph
from playground.core.retarget import RetargetError, parse_shape, set_classes, set_input_shape
from playground.core.shapes import Analysis, analyze
from playground.core.text import one_line


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
            print(one_line(f"error: {exc}"), file=sys.stderr)
            raise ExitWith(2) from None
        for where, message in exc.problems:
            print(one_line(f"error: {where}: {message}"))
        raise ExitWith(1) from None


MAX_SEED = 2**32 - 1          # what NumPy's and TensorFlow's seeding accept
MAX_INPUT_SIDE = 1_000_000    # the Input block's own limit per axis
MAX_CLASSES = 10_000_000      # the Dense block's own limit on units


def seed_arg(text: str) -> int:
    """``--seed``: a whole number 0..2**32-1, checked by argparse (exit 2, before any import
    of TensorFlow or any dataset is loaded)."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r} (a whole number from 0 "
                                         f"to {MAX_SEED})") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text} is out of range (0 to {MAX_SEED})")
    return value


def input_shape_arg(text: str) -> str:
    """``--input-shape H,W,C``: exactly three whole numbers 1..1,000,000, checked by argparse.

    Returns the text (``apply_retarget`` parses it again); a wrong shape is refused up front
    with exit 2 instead of after the dataset is loaded."""
    try:
        shape = parse_shape(text)
    except RetargetError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None
    if len(shape) != 3:
        raise argparse.ArgumentTypeError(f"{text!r} has {len(shape)} size(s); give height, "
                                         "width and channels, e.g. 32,32,3")
    if any(d > MAX_INPUT_SIDE for d in shape):
        raise argparse.ArgumentTypeError(f"{text!r}: each size must be at most "
                                         f"{MAX_INPUT_SIDE:,}")
    return text


def classes_arg(text: str) -> int:
    """``--classes N``: a whole number 1..10,000,000, checked by argparse."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 1 <= value <= MAX_CLASSES:
        raise argparse.ArgumentTypeError(f"{text} is out of range (1 to {MAX_CLASSES:,})")
    return value


def add_retarget_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-shape", metavar="H,W,C", type=input_shape_arg,
                        help="retarget the graph's Input to this shape (no batch axis)")
    parser.add_argument("--classes", type=classes_arg, metavar="N",
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
