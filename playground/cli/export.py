"""``export FILE --format keras|savedmodel|python --out PATH``: build the Keras model and write it.

The target is validated before TensorFlow is even imported (a typo in ``--out`` costs nothing),
every write is atomic, and an existing target is replaced only with ``--force``.
``--init-weights`` loads a ``.keras``/``.weights.h5``/``.h5`` file (or ``imagenet``) by layer name
and shape first and says which layers it loaded and which it skipped.
"""

from __future__ import annotations

import argparse
import os
import sys

from playground.cli.common import (
    add_retarget_args,
    apply_retarget,
    load_or_report,
    size_hint,
    wrap,
)
from playground.core.graph import Graph
from playground.core.graph_weights import initial_weights
from playground.core.shapes import Analysis, analyze


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    from playground.exporters import all_formats

    parser.add_argument("--format", required=True, choices=[f.name for f in all_formats()],
                        help="; ".join(f.help for f in all_formats()))
    parser.add_argument("--out", required=True, metavar="PATH", help="where to write")
    parser.add_argument("--init-weights", metavar="W",
                        help="start from these weights: a .keras model, a .weights.h5/.h5 "
                             "file, a run folder (its class names travel with a SavedModel), "
                             "or 'imagenet' for keras.applications twins; default: the weights "
                             "the graph records (its \"weights\" key); 'none': fresh")
    parser.add_argument("--force", action="store_true", help="replace an existing target")
    add_retarget_args(parser)
    parser.set_defaults(run=wrap(run))


def run(args: argparse.Namespace) -> int:
    if args.format == "python" and args.init_weights:
        print("error: --init-weights has no effect with --format python (a script holds no "
              "weights); export --format keras to keep them", file=sys.stderr)
        return 2
    checked = _fail_fast(args)
    if isinstance(checked, int):
        return checked
    graph, analysis, notes = checked
    from playground.keras_build.export import check_target

    check_target(args.out, args.format, args.force)
    for note in notes:
        print(f"note: {note}")

    start = initial_weights(graph, args.file, args.init_weights)
    if args.format != "python" and start.spec and start.spec.lower() == "imagenet" \
            and imagenet_unavailable(graph):
        return 1
    from playground.keras_build.compile import build

    built = build(graph, analysis)
    model = built.model
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
    from playground.exporters import write as write_export
    from playground.exporters.source import ExportSource, class_names_of_run, run_dir_of

    weights, names = "untrained", None
    if start.spec and args.format != "python":
        weights = start.spec
        run_dir = run_dir_of(start.spec) if start.spec.lower() != "imagenet" else None
        names = class_names_of_run(run_dir) if run_dir else None
    source = ExportSource.from_built(built, graph, weights=weights, class_names=names,
                                     script_source=args.file)
    path = write_export(args.format, source, args.out, args.force)
    print(f"wrote {path} ({args.format}, {analysis.total_params:,} params)")
    return 0


def _fail_fast(args: argparse.Namespace) -> int | tuple[Graph, Analysis, list[str]]:
    """What can be refused without TensorFlow (~6 s to import) is refused here, at once: an
    existing target without ``--force`` and a graph that ``check`` rejects. Then the folders
    above ``--out`` are created (``--out served/resnet18`` works in an empty folder), only for
    a graph that will be exported. The full target rules still run in ``check_target``.

    Returns the exit code, or the retargeted graph, its analysis and the retarget notes (the
    graph is loaded and checked once, here)."""
    target = args.out
    if not args.force and os.path.lexists(target):
        kind = "folder" if os.path.isdir(target) else "file"
        print(f"error: {target}: the {kind} already exists; pass --force to replace it",
              file=sys.stderr)
        return 1
    graph = load_or_report(args.file)
    notes = apply_retarget(graph, args)
    analysis = analyze(graph)
    if not analysis.valid:
        for problem in analysis.errors:
            print(problem)
        hint = size_hint(graph, analysis)
        if hint:
            print(hint)
        return 1
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.lexists(parent):
        try:
            os.makedirs(parent)
        except OSError as exc:
            print(f"error: {target}: cannot create the folder {parent}: "
                  f"{exc.strerror or exc}", file=sys.stderr)
            return 1
    return graph, analysis, list(notes)


def imagenet_unavailable(graph, training: bool = False) -> bool:
    """``--init-weights imagenet`` for a graph that is no twin, or offline without the file in
    Keras' cache: said (True) before TensorFlow loads, as the load itself would say it
    (``training``: the head takes the dataset's classes, so the file without the top)."""
    from playground.core.twin_download import check_available
    from playground.core.twins import TwinError, identify

    try:
        check_available(identify(graph), graph, retargeted=training)
    except TwinError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return True
    return False


def init_weights(model, graph, spec: str):
    """``--init-weights`` for export and train: ``imagenet`` or a file path."""
    if spec.lower() == "imagenet":
        from playground.keras_build.imagenet import load_imagenet

        return load_imagenet(model, graph)
    from playground.exporters.source import run_dir_of, run_weights_file
    from playground.keras_build.weights import load_weights

    if os.path.isdir(spec) and run_dir_of(spec):
        spec = run_weights_file(spec)   # a run folder: its trained weights
    return load_weights(model, spec)
