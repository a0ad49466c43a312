"""``export FILE --format keras|savedmodel|python --out PATH``: build the Keras model and write it.

The target is validated before TensorFlow is even imported (a typo in ``--out`` costs nothing),
every write is atomic, and an existing target is replaced only with ``--force``.
``--init-weights`` loads a ``.keras``/``.weights.h5``/``.h5`` file (or ``imagenet``) by layer name
and shape first and says which layers it loaded and which it skipped.
"""

from __future__ import annotations

import argparse
import sys

from playground.cli.common import (
    add_retarget_args,
    apply_retarget,
    load_or_report,
    size_hint,
    wrap,
)
from playground.core.graph_weights import initial_weights
from playground.core.shapes import analyze


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    parser.add_argument("--format", required=True, choices=("keras", "savedmodel", "python"),
                        help="keras: a .keras model file; savedmodel: a TensorFlow SavedModel "
                             "folder (for TF Serving / TFLite converters); python: a standalone "
                             "Keras script that rebuilds the model")
    parser.add_argument("--out", required=True, metavar="PATH", help="where to write")
    parser.add_argument("--init-weights", metavar="W",
                        help="start from these weights: a .keras model, a .weights.h5/.h5 "
                             "file, or 'imagenet' for keras.applications twins; default: the "
                             "weights the graph records (its \"weights\" key); 'none': fresh")
    parser.add_argument("--force", action="store_true", help="replace an existing target")
    add_retarget_args(parser)
    parser.set_defaults(run=wrap(run))


def run(args: argparse.Namespace) -> int:
    if args.format == "python" and args.init_weights:
        print("error: --init-weights has no effect with --format python (a script holds no "
              "weights); export --format keras to keep them", file=sys.stderr)
        return 2
    from playground.keras_build.export import check_target

    check_target(args.out, args.format, args.force)
    graph = load_or_report(args.file)
    for note in apply_retarget(graph, args):
        print(f"note: {note}")
    analysis = analyze(graph)
    if not analysis.valid:
        for problem in analysis.errors:
            print(problem)
        hint = size_hint(graph, analysis)
        if hint:
            print(hint)
        return 1

    from playground.keras_build import export
    from playground.keras_build.compile import build

    built = build(graph, analysis)
    model = built.model
    start = initial_weights(graph, args.file, args.init_weights)
    if args.format != "python":          # the graph's own weights, unless told otherwise
        if start.note:
            print(start.note)
        if start.spec:
            report = init_weights(model, graph, start.spec)
            for line in report.lines():
                print(line)
            if not report.matched:
                print(f"error: no layer of {start.spec} matches the graph by name and shape; "
                      "nothing written", file=sys.stderr)
                return 1
    if args.format == "keras":
        path = export.save_keras(model, args.out, args.force)
    elif args.format == "savedmodel":
        path = export.export_savedmodel(model, args.out, args.force)
    else:
        from playground.keras_build.codegen import generate

        path = export.write_python(generate(built, graph, source=args.file), args.out,
                                   args.force)
    print(f"wrote {path} ({args.format}, {analysis.total_params:,} params)")
    return 0


def init_weights(model, graph, spec: str):
    """``--init-weights`` for export and train: ``imagenet`` or a file path."""
    if spec.lower() == "imagenet":
        from playground.keras_build.imagenet import load_imagenet

        return load_imagenet(model, graph)
    from playground.keras_build.weights import load_weights

    return load_weights(model, spec)
