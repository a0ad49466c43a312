"""``import MODEL.keras|MODEL.h5 --out GRAPH.json [--with-weights]``: a model becomes a graph.

The model file (Keras 3 ``.keras`` or a tf.keras 2.x full-model ``.h5``) is inspected, never
deserialized (no code in it can run). ``--with-weights`` rebuilds the graph with the compiler,
loads the model's weights into it by layer name, checks that every layer received its weights,
checks that the rebuilt model predicts what the original predicts on a random batch (naming the
first layer whose output differs if not), saves the weights as ``GRAPH.weights.h5`` beside the
graph and records that file in the graph (the top-level key ``weights``), so that ``export``,
``train`` and the editor start from them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.keras", help="a functional or sequential Keras "
                        "model saved with model.save('....keras'), or a tf.keras 2.x "
                        "full-model .h5 file")
    parser.add_argument("--out", required=True, metavar="GRAPH.json", help="graph file to write")
    parser.add_argument("--with-weights", action="store_true",
                        help="also write the weights as GRAPH.weights.h5 beside the graph "
                        "(recorded in the graph), after checking that the rebuilt model "
                        "predicts what the original predicts")
    parser.add_argument("--no-check", action="store_true",
                        help="with --with-weights: skip the prediction check (large models)")
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
    report = None
    if args.with_weights:
        from playground.keras_build.compile import build
        from playground.keras_build.weights import apply_weights, save_weights

        model = build(graph, analysis).model
        report = apply_weights(model, imported.weights or {}, args.model)
        if report.skipped:
            for line in report.lines():
                print(line)
            print("error: some layers did not receive their weights; nothing written",
                  file=sys.stderr)
            return 1
        if not args.no_check:
            from playground.keras_build.import_check import check_predictions

            result = check_predictions(args.model, model, analysis.order)
            print(result.line())
            if not result.ok and result.skipped is None:
                print("error: the imported graph does not reproduce the model; nothing written",
                      file=sys.stderr)
                return 1
        graph.extra["weights"] = targets[1].name
        save_weights(model, targets[1])
    fileformat.save(graph, out)
    print(f"wrote {out}: {len(graph)} nodes, {analysis.total_params:,} params"
          + (f"; weights {targets[1]} ({len(report.matched)} layers)" if report is not None
             else ""))
    return 0
