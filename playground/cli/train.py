"""``train FILE --dataset D [options]``: headless training, one line per epoch, then the final
metrics. Exit 0 when training ran (finished, stopped, early-stopped), 1 when it failed (invalid
graph, NaN loss, out of memory), 2 for an unreadable graph, wrong arguments or a bad dataset (the
file named, with its CSV line; folders, CSV indexes and .npz files are checked before TensorFlow
loads).

Run settings default to the graph file's ``"training"`` object (presets carry one), then to
:class:`playground.training.config.RunConfig`; options given here win. The command is a view of
a :class:`playground.training.session.TrainingSession`, like the app's training panel: the run
trains in a child process (TensorFlow is imported there; a crash or an out-of-memory kill there
is reported with exit 1), Ctrl-C/SIGTERM become its Stop. ``--strategy mirrored|multiworker``
train in this process, which owns the devices and ``TF_CONFIG``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from playground.cli.common import (
    ExitWith,
    add_retarget_args,
    apply_retarget,
    load_or_report,
    seed_arg,
    size_hint,
    wrap,
)
from playground.data import sources as dataset_sources

DATASET_HELP = dataset_sources.help_text()  # every source, from the one registry


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    parser.add_argument("--dataset", default=None, metavar="D", help=DATASET_HELP)
    parser.add_argument("--epochs", type=int, help="passes over the training split")
    parser.add_argument("--batch-size", type=int, help="samples per step")
    parser.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop"])
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--schedule", choices=["constant", "step", "plateau", "cosine"],
                        help="learning-rate schedule (step: x0.1 every 5 epochs; plateau: /10 "
                             "when val loss stalls)")
    parser.add_argument("--weight-decay", type=float, help="decoupled weight decay")
    parser.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                        help="stop when val loss has not improved for PATIENCE epochs")
    parser.add_argument("--val-split", type=float, help="share held out for validation "
                                                        "(default 0.2)")
    parser.add_argument("--test-split", type=float, help="share held out for a test split "
                                                         "(datasets without one)")
    parser.add_argument("--augment", metavar="LIST",
                        help="comma-separated: flip, crop, translate, rotate, zoom, shear, "
                             "contrast, colour, pca (AlexNet's fancy PCA), cutout")
    parser.add_argument("--seed", type=seed_arg, help="seed for the split, shuffling and init "
                        "(0 to 2**32-1)")
    parser.add_argument("--bad-images", choices=["stop", "skip"],
                        help="folders/CSV: an unreadable or non-image file stops the run naming "
                             "it (stop, the default) or is skipped and named in the log")
    parser.add_argument("--cache", choices=["auto", "memory", "file", "none"],
                        help="folders/CSV: keep decoded images between epochs in memory, in a "
                             "file in the run folder, or not at all (auto: memory when small, "
                             "else a file)")
    parser.add_argument("--class-weights", action="store_true",
                        help="weight the loss by inverse class frequency (unbalanced classes)")
    parser.add_argument("--init-weights", metavar="FILE",
                        help="a .keras model, .weights.h5/.h5 weights or a run folder; loads "
                             "the layers whose names and shapes match and says which; 'imagenet' for "
                             "keras.applications twins (VGG16, ResNet50, MobileNet...); "
                             "default: the weights the graph records (its \"weights\" key); "
                             "'none': fresh random weights")
    parser.add_argument("--freeze", metavar="ID[,ID...]", help="node ids to freeze")
    parser.add_argument("--linear-probe", metavar="NODE",
                        help="train a linear classifier on the features of NODE: NODE and the "
                             "nodes before it frozen (load them with --init-weights), then "
                             "pooling and one softmax Dense layer; the features are computed "
                             "once per image")
    parser.add_argument("--probe-pool", choices=["avg", "flatten"], default="avg",
                        help="--linear-probe on a spatial output: global average pooling "
                             "(default) or flatten")
    parser.add_argument("--no-feature-cache", action="store_true",
                        help="run the frozen prefix every epoch instead of once per image")
    parser.add_argument("--save", metavar="FILE.keras", help="save the trained model")
    parser.add_argument("--force", action="store_true",
                        help="let --save replace an existing model file (never a device, FIFO "
                             "or folder)")
    parser.add_argument("--export", metavar="DIR", help="export a SavedModel that takes raw "
                                                        "images of any size (0..255, or JPEG/PNG "
                                                        "bytes) and returns probabilities")
    parser.add_argument("--strategy", choices=["default", "mirrored", "multiworker"],
                        help="tf.distribute strategy (multiworker reads TF_CONFIG)")
    parser.add_argument("--mixed-precision", action="store_true", help="mixed_float16 policy")
    parser.add_argument("--xla", action="store_true", help="compile the train step with XLA")
    parser.add_argument("--steps-per-execution", type=int, metavar="N",
                        help="training steps per compiled call (Keras' steps_per_execution); "
                             "0, the default, chooses from the model's size")
    parser.add_argument("--run-dir", metavar="DIR",
                        help="keep the run here (config, history.csv, weights, checkpoint): a "
                             "new or empty folder, or a run folder this app made")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run-dir from its last checkpoint")
    parser.add_argument("--no-run", action="store_true", help="keep no run folder")
    add_retarget_args(parser)
    parser.set_defaults(run=wrap(run))


OPTION_KEYS = {"epochs": "epochs", "batch_size": "batch_size", "optimizer": "optimizer",
               "lr": "lr", "schedule": "schedule", "weight_decay": "weight_decay",
               "early_stopping": "early_stopping", "val_split": "val_split",
               "test_split": "test_split", "seed": "seed", "strategy": "strategy",
               "bad_images": "bad_images", "cache": "cache",
               "steps_per_execution": "steps_per_execution"}


def _fmt(value) -> str:
    return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.4f}"


def _is_chief() -> bool:
    try:
        task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
    except ValueError:
        return True
    return task.get("type", "worker") in ("chief",) or (task.get("type") == "worker"
                                                        and int(task.get("index", 0)) == 0)


def _output_problem(args: argparse.Namespace) -> str | None:
    """Why ``--save``/``--export`` could not be written, checked before training starts."""
    from playground.core.errors import PlaygroundError
    from playground.training.export import check_export_dir

    if args.save:
        if not args.save.endswith(".keras"):
            return f"--save {args.save}: the file name must end in .keras"
        if os.path.isdir(args.save):
            return f"--save {args.save}: is a folder; give a file path"
        from playground.core.targets import special_target_problem

        special = special_target_problem(args.save)
        if special:
            return f"--save {special}"
        if os.path.lexists(args.save) and not getattr(args, "force", False):
            return (f"--save {args.save}: the file already exists; pass --force to replace it "
                    "(as with export)")
        probe = os.path.dirname(os.path.abspath(args.save))
        while not os.path.exists(probe) and os.path.dirname(probe) != probe:
            probe = os.path.dirname(probe)
        if not os.path.isdir(probe):
            return f"--save {args.save}: {probe} is not a folder"
    if args.export:
        try:
            check_export_dir(args.export)
        except PlaygroundError as exc:
            return f"--export {exc}"
    return None


def _scan_dataset(graph, config):
    """A folder, CSV index or .npz checked up front (no TensorFlow): the dataset, or exit 2
    naming the bad file (and CSV line). Built-in sets load inside the run."""
    from playground.core.errors import PlaygroundError
    from playground.data.dataset import DatasetError, load_dataset
    from playground.training.runner import input_shape_of

    if config.dataset in dataset_sources.builtin_names():
        return None
    try:
        shape = input_shape_of(graph)
    except PlaygroundError:
        return None  # the run reports the graph's problem
    try:
        return load_dataset(config.dataset, shape, bad_images=config.bad_images,
                            progress=lambda text: print(text, file=sys.stderr, flush=True))
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise ExitWith(2) from None


def _warn_softmax(graph) -> None:
    """The checker's warnings about a classifier head without softmax or a graph without a
    head, which would otherwise train quietly badly (the run still starts)."""
    from playground.core.loss_outputs import HEAD_FIX, SOFTMAX_FIX
    from playground.core.shapes import analyze
    from playground.core.text import one_line

    for problem in analyze(graph).warnings:
        if problem.fix in (SOFTMAX_FIX, HEAD_FIX):
            print(one_line(str(problem), 1000), file=sys.stderr)


def _print_size_hint(graph) -> None:
    """After a failed run: the smallest input that works, if the input was too small."""
    hint = size_hint(graph)
    if hint:
        print(hint, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from playground.core.errors import PlaygroundError
    from playground.training.config import ConfigError, RunConfig, from_preset

    graph = load_or_report(args.file)
    for note in apply_retarget(graph, args):
        print(note, file=sys.stderr)
    _warn_softmax(graph)
    try:
        if "training" in graph.extra:
            base, notes = from_preset(graph.extra["training"], f"{args.file}: training")
            for note in notes:
                print(f"{args.file}: training: {note}", file=sys.stderr)
        else:
            base = RunConfig()
        overrides = {key: getattr(args, opt) for opt, key in OPTION_KEYS.items()
                     if getattr(args, opt) is not None}
        if args.dataset is not None:
            overrides["dataset"] = args.dataset
        if args.augment is not None:
            overrides["augment"] = args.augment
        if args.mixed_precision:
            overrides["mixed_precision"] = True
        if args.xla:
            overrides["xla"] = True
        if args.class_weights:
            overrides["class_weights"] = True
        if args.no_feature_cache:
            overrides["feature_cache"] = False
        config = RunConfig.from_dict(overrides, source="options", base=base)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise ExitWith(2) from None
    spec = config.dataset
    if spec not in dataset_sources.builtin_names() and not os.path.exists(spec):
        print(f"error: --dataset {spec!r}: not found ({DATASET_HELP})", file=sys.stderr)
        return 2
    if args.resume and not args.run_dir:
        print("error: --resume needs --run-dir (the run to continue)", file=sys.stderr)
        return 2
    problem = _output_problem(args)
    if problem:  # found now, not after the training it would throw away
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.run_dir:
        from playground.training.rundir import RunDirError, check

        try:
            check(args.run_dir, resume=args.resume)  # never someone's folder; resume needs a
        except RunDirError as exc:                   # checkpoint (not a quiet fresh start)
            print(f"error: {exc}", file=sys.stderr)
            return 2
    elif not args.no_run:
        from playground.training.rundir import killed_runs
        from playground.training.runs import runs_root

        for note in killed_runs(runs_root()):
            _say(f"note: {note}", sys.stderr)
    if args.linear_probe:
        from playground.training.feature_cache import linear_probe_graph

        try:
            graph = linear_probe_graph(graph, args.linear_probe, args.probe_pool)
        except PlaygroundError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    dataset = _scan_dataset(graph, config)  # bad files named now, before TensorFlow loads
    freeze = [f.strip() for f in args.freeze.split(",") if f.strip()] if args.freeze else None
    chief = config.strategy != "multiworker" or _is_chief()
    from playground.core.graph_weights import initial_weights

    start = initial_weights(graph, args.file, args.init_weights)   # the graph's own weights
    if start.note:
        print(start.note, file=sys.stderr)
    if start.spec and start.spec.lower() == "imagenet":
        from playground.cli.export import imagenet_unavailable

        if imagenet_unavailable(graph, training=True):
            return 1

    def sink(event: dict) -> None:
        kind = event["kind"]
        if kind == "log":
            _say(event["text"], sys.stderr)
        elif kind == "device":
            _say(f"device: {event['text']}", sys.stderr)
        elif kind == "epoch":
            row = event["row"]
            parts = [f"epoch {event['epoch']}/{event['epochs']}:",
                     f"loss {_fmt(row.get('loss'))}", f"accuracy {_fmt(row.get('accuracy'))}"]
            if row.get("val_loss") is not None:
                parts += [f"val_loss {_fmt(row.get('val_loss'))}",
                          f"val_accuracy {_fmt(row.get('val_accuracy'))}"]
            if "mean_iou" in row:  # a segmentation run ("accuracy" is pixel accuracy)
                parts += [f"mean_iou {_fmt(row.get('mean_iou'))}",
                          f"val_mean_iou {_fmt(row.get('val_mean_iou'))}"]
            parts += [f"lr {row.get('lr', float('nan')):.3g}",
                      f"({row.get('seconds', 0.0):.1f} s)"]
            _say(" ".join(parts), sys.stdout)

    from playground.cli.signals import graceful_stop

    try:
        with graceful_stop() as stop:
            if config.strategy == "default":
                # A view of a TrainingSession: the run trains in a child process (a crash or
                # an out-of-memory kill there is reported, not shared).
                result = _run_session(graph, config, args, stop, sink, dataset=dataset,
                                      init_weights=start.spec, freeze=freeze)
            else:
                # mirrored/multiworker need this process's own devices and TF_CONFIG.
                from playground.training.runner import run_training

                result = run_training(graph, config, dataset=dataset, sink=sink,
                                      stop=stop.event,
                                      run_dir=args.run_dir if chief else None,
                                      resume=args.resume, init_weights=start.spec,
                                      freeze=freeze, save_path=args.save if chief else None,
                                      export_dir=args.export if chief else None,
                                      keep_runs=chief and not args.no_run)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        _print_size_hint(graph)
        return 1
    except OSError as exc:   # the training process could not be started
        print(f"error: cannot start the training process: {exc}", file=sys.stderr)
        return 1
    if not result.ok:
        _say(f"error: {result.message}", sys.stderr)
        if getattr(result, "bad_data", False):
            return 2
        _print_size_hint(graph)
        return 1
    ev = result.evaluation
    final = [f"final ({result.status}):"]
    if result.history:
        last = result.history[-1]
        final += [f"loss {_fmt(last.get('loss'))}", f"accuracy {_fmt(last.get('accuracy'))}"]
    if ev:
        final += [f"{ev['split']}_loss {_fmt(ev['loss'])}",
                  f"{ev['split']}_accuracy {_fmt(ev['accuracy'])}"]
        if "top5" in ev:
            final.append(f"{ev['split']}_top5 {_fmt(ev['top5'])}")
        if "mean_iou" in ev:
            final.append(f"{ev['split']}_mean_iou {_fmt(ev['mean_iou'])}")
    _say(" ".join(final), sys.stdout)
    if result.status == "stopped":
        _say(result.message, sys.stderr)
    if result.run_dir:
        _say(f"run: {result.run_dir}", sys.stderr)
    if stop.signal_name:
        from playground.training.rundir import has_checkpoint

        if result.run_dir and has_checkpoint(result.run_dir):
            kept = f"the checkpoint in {result.run_dir} is kept (continue with --resume)"
        elif result.run_dir:
            kept = "no training had started, so there is no checkpoint"
        else:
            kept = "no run folder was kept, so there is no checkpoint"
        _say(f"stopped by {stop.signal_name}; {kept}", sys.stderr)
        return 128 + stop.signal_number
    return 0


class _SessionRun:
    """How a session's run ended, in the words ``run`` reads from a RunResult."""

    def __init__(self, session, ended) -> None:
        result = session.result
        self.status = result.run_status or result.status
        self.ok = result.ok
        self.message = result.message
        self.history = result.history
        self.evaluation = result.evaluation
        self.run_dir = result.run_dir
        self.bad_data = bool(ended is not None and ended.raw.get("bad_data"))


# Set to 1: the run trains in a thread of the command's own process (debuggers, profilers;
# the test suite's fast CLI tests) instead of a child process.
IN_PROCESS_ENV = "PLAYGROUND_TRAIN_IN_PROCESS"
# A dataset scanned here travels to the training process with the job when it pickles to at
# most this many bytes (a folder's file list); a bigger one (an .npz's arrays) is read there.
DATASET_JOB_BYTES = 64 * 1024**2


def _dataset_for_job(dataset):
    """``dataset`` when it is cheap to send to the training process, else None (read there)."""
    if dataset is None:
        return None
    import pickle

    try:
        size = len(pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - anything that cannot travel is read again there
        return None
    return dataset if size <= DATASET_JOB_BYTES else None


def _run_session(graph, config, args, stop, sink, *, dataset, init_weights,
                 freeze) -> _SessionRun:
    """Train through a :class:`TrainingSession` and print its events as ``sink`` does; a
    signal (``stop.event``) becomes ``session.stop()``; a second one ends the child at once."""
    from playground.training import events as ev
    from playground.training.session import TrainingSession

    extra = {}
    sent = _dataset_for_job(dataset)
    if sent is not None:   # scanned (and its files named) here already: not scanned twice
        extra["dataset"] = sent
    session = TrainingSession(graph, config, args.run_dir, keep_runs=not args.no_run,
                              in_process=os.environ.get(IN_PROCESS_ENV) == "1",
                              resume=args.resume, init_weights=init_weights, freeze=freeze,
                              save_path=args.save, export_dir=args.export,
                              batch_interval=1.0,   # no batch lines here: few events to send
                              **extra)
    # No UI waits on a Stop here, and a signal promises the batch in progress ends and the
    # checkpoint is written whole: the child is never terminated for being slow to answer (a
    # second signal ends it at once).
    session.stop_grace = 24 * 3600.0
    session.start()
    ended = None
    try:
        while True:
            done = session.wait(0.1)
            if stop.event.is_set():
                session.stop()
            for event in session.drain():
                if isinstance(event, ev.Ended):
                    ended = event
                elif isinstance(event, (ev.Log, ev.Device, ev.Epoch)):
                    sink(event.raw)
            if done and not session.has_events:
                break
    except BaseException:
        session.kill()   # a second Ctrl-C: quit at once, the child too
        raise
    return _SessionRun(session, ended)


def _say(text: str, stream) -> None:
    """Print a line; a closed or broken output (``train ... | head -1``) never stops the work."""
    from playground.cli.signals import silence_if_broken

    try:
        print(text, file=stream, flush=True)
    except (OSError, ValueError):
        silence_if_broken(stream)
