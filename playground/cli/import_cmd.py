"""``import MODEL.keras --out GRAPH.json [--with-weights]``: a Keras model becomes a graph file.

The model file is inspected, never deserialized (no code in it can run). ``--with-weights``
rebuilds the graph with the compiler, loads the model's weights into it by layer name, checks that
every layer received its weights, and saves them as ``GRAPH.weights.h5`` beside the graph (ready
for ``--init-weights``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.keras", help="a functional or sequential Keras "
                        "model saved with model.save('....keras')")
    parser.add_argument("--out", required=True, metavar="GRAPH.json", help="graph file to write")
    parser.add_argument("--with-weights", action="store_true",
                        help="also write the weights as GRAPH.weights.h5 beside the graph")
    parser.add_argument("--force", action="store_true", help="replace existing output files")
    parser.set_defaults(run=run)


def weights_path_for(graph_path: str | Path) -> Path:
    path = Path(graph_path)
    stem = path.name[:-5] if path.name.endswith(".json") else path.name
    return path.with_name(stem + ".weights.h5")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix != ".json":
        print(f"error: --out {out}: a graph file must end in .json", file=sys.stderr)
        return 2
    targets = [out] + ([weights_path_for(out)] if args.with_weights else [])
    for target in targets:
        if target.exists() and not args.force:
            print(f"error: {target}: already exists; pass --force to replace it",
                  file=sys.stderr)
            return 1
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        print(f"error: {out}: the folder {parent} does not exist", file=sys.stderr)
        return 1

    from playground.core import fileformat
    from playground.core.shapes import analyze
    from playground.keras_build.importer import import_model

    imported = import_model(args.model)
    graph = imported.graph
    for note in imported.notes:
        print(note)
    analysis = analyze(graph)
    if args.with_weights:
        from playground.keras_build.compile import build
        from playground.keras_build.weights import (
            apply_weights,
            model_shapes,
            read_weights,
            save_weights,
        )

        model = build(graph, analysis).model
        # Only arrays of the model's shapes are read: a header declaring gigabytes costs nothing.
        report = apply_weights(model, read_weights(args.model, expected=model_shapes(model)),
                               args.model)
        if report.skipped:
            for line in report.lines():
                print(line)
            print("error: some layers did not receive their weights; nothing written",
                  file=sys.stderr)
            return 1
        save_weights(model, targets[1])
    fileformat.save(graph, out)
    print(f"wrote {out}: {len(graph)} nodes, {analysis.total_params:,} params"
          + (f"; weights {targets[1]} ({len(report.matched)} layers)" if args.with_weights
             else ""))
    return 0
