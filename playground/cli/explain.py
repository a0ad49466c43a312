"""``explain FILE [NODE] [--json]``: the arithmetic behind each number of a node.

Output size per axis, weights, MACs, activation memory and receptive field, each written out
with the node's own values (``(227 - 11 + 2*0) / 4 + 1 = 55``); a composite adds its branches.
Without NODE every node is explained. Pure checker, no TensorFlow. Exit 0; 1 when the graph is
invalid or NODE is not in it (named); 2 for an unreadable file or bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys

from playground.cli.common import add_retarget_args, apply_retarget, load_or_report, wrap


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    parser.add_argument("node", metavar="NODE", nargs="?",
                        help="the node id to explain (default: every node)")
    parser.add_argument("--json", action="store_true",
                        help="print JSON: one object for NODE, else {\"nodes\": [...], ...}")
    add_retarget_args(parser)
    parser.set_defaults(run=wrap(run))


def run(args: argparse.Namespace) -> int:
    from playground.core.explain import (
        ExplainError,
        explain_graph,
        explain_node,
        format_text,
        to_json,
    )
    from playground.core.shapes import analyze

    graph = load_or_report(args.file)
    notes = apply_retarget(graph, args)
    analysis = analyze(graph)
    if args.node is not None:
        if args.node not in graph:
            print(f"error: {args.file}: no node {args.node!r} (see `summary {args.file}` for "
                  "the node ids)", file=sys.stderr)
            return 1
        try:
            explained = explain_node(graph, args.node, analysis)
        except ExplainError as exc:
            print(f"error: {exc}", file=sys.stderr)
            for problem in analysis.errors:
                print(problem, file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(to_json(explained), indent=1))
        else:
            for note in notes:
                print(f"note: {note}")
            print(format_text(explained))
        return 0 if analysis.valid else 1
    nodes, skipped = explain_graph(graph, analysis)
    if args.json:
        print(json.dumps({"name": graph.name, "nodes": [to_json(n) for n in nodes],
                          "valid": analysis.valid,
                          "problems": [str(p) for p in analysis.problems]}, indent=1))
    else:
        for note in notes:
            print(f"note: {note}")
        print("\n\n".join(format_text(n) for n in nodes))
        for problem in analysis.problems:
            print(problem)
    return 0 if analysis.valid else 1
