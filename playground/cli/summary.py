"""``summary FILE``: per node output shape, params, MACs, activation memory, receptive field.

Computed by the pure checker (no TensorFlow, so it is instant even for VGG-19). An invalid graph
still gets its table, with ``?`` where a shape is unknown, followed by the problem lines; the exit
code is then 1 (``--json``: the same object with ``"valid": false``).
"""

from __future__ import annotations

import argparse

from playground.cli.common import (
    add_retarget_args,
    apply_retarget,
    load_or_report,
    size_hint,
    wrap,
)
from playground.core.shapes import analyze
from playground.core.summary_table import dumps, format_table, to_json


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of the table")
    parser.add_argument("--inner", action="store_true",
                        help="also list the Keras layers inside composite blocks")
    add_retarget_args(parser)
    parser.set_defaults(run=wrap(run))


def run(args: argparse.Namespace) -> int:
    graph = load_or_report(args.file)
    notes = apply_retarget(graph, args)
    analysis = analyze(graph)
    if args.json:
        print(dumps(to_json(graph, analysis, inner=args.inner)))
    else:
        for note in notes:
            print(f"note: {note}")
        print(format_table(graph, analysis, inner=args.inner))
        hint = size_hint(graph, analysis)
        if hint:
            print(hint)
    return 0 if analysis.valid else 1
