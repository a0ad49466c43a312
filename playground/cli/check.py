"""``check FILE``: one line per problem; exit 0 when valid, 1 when not, 2 when unreadable.

When the input is too small somewhere (AlexNet at 32x32), a last ``hint:`` line names the
smallest square input that works.
"""

from __future__ import annotations

import argparse

from playground.cli.common import (
    add_retarget_args,
    apply_retarget,
    load_or_report,
    one_line,
    size_hint,
    wrap,
)
from playground.core.shapes import analyze


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    parser.add_argument("--warnings", action=argparse.BooleanOptionalAction, default=True,
                        help="also list warnings (default: yes)")
    add_retarget_args(parser)
    parser.set_defaults(run=wrap(run))


def run(args: argparse.Namespace) -> int:
    graph = load_or_report(args.file)
    apply_retarget(graph, args)
    analysis = analyze(graph)
    for problem in analysis.problems:
        if problem.severity == "error" or args.warnings:
            print(one_line(str(problem)))
    if analysis.valid:
        print(f"ok: {args.file}: {len(graph)} nodes, {analysis.total_params:,} params, "
              f"{len(analysis.warnings)} warning(s)")
        return 0
    hint = size_hint(graph, analysis)
    if hint:
        print(hint)
    return 1
