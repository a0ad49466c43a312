"""``predict RUN_DIR|MODEL.keras IMAGE... [--top K] [--json]``: class probabilities for images.

The model is the run's current weights (rebuilt from its graph; see ``inspect.model``) or a
``.keras`` file read through the safe importer; a graph ``.json`` predicts with random weights
and says so, or, with ``--weights imagenet`` for a keras.applications twin, with Keras' ImageNet
weights, the 1,000 class names and the family's preprocessing (``inspect.twin``; offline
without the cached file: exit 2 naming the file and the folder). Every argument and file is checked before TensorFlow is imported: exit 2 for a bad
argument or an unreadable/unsupported file (named), 1 when the model cannot be built or loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from playground.cli.common import ExitWith, wrap


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="RUN_DIR|MODEL.keras",
                        help="a run folder (its current weights), a .keras model, or a graph "
                             ".json (random weights; --weights imagenet for a twin)")
    parser.add_argument("images", metavar="IMAGE", nargs="+",
                        help="image files (PNG, JPEG, BMP, GIF, WebP)")
    parser.add_argument("--top", type=int, default=5, metavar="K",
                        help="how many classes to list per image (default 5)")
    parser.add_argument("--json", action="store_true",
                        help='print a JSON list: [{"image", "top": [{"class", "index", "p"}]}]')
    add_weights_option(parser)
    parser.set_defaults(run=wrap(run))


def add_weights_option(parser: argparse.ArgumentParser) -> None:
    """``--weights imagenet`` (shared with ``inspect``)."""
    parser.add_argument("--weights", type=str.lower, choices=["imagenet"], default=None,
                        help="with a graph .json that is a keras.applications twin (the VGG16, "
                             "ResNet50, MobileNet... presets): Keras' ImageNet weights, its 1,000 "
                             "class names and its own input preprocessing (the file comes from "
                             "the Keras cache, $KERAS_HOME/models or ~/.keras/models)")


def _check_twin(model_path: str, kind: str) -> None:
    """``--weights imagenet``: a twin graph with ImageNet's 1,000-class head (no TensorFlow)."""
    from playground.core import fileformat
    from playground.core.errors import GraphFileError, PlaygroundError
    from playground.inspect.twin import plan_twin

    if kind != "graph":
        what = "a run folder" if kind == "run" else "a .keras model"
        print(f"error: --weights imagenet takes the graph .json of a keras.applications twin "
              f"(e.g. presets/vgg16.json), not {what}: {model_path}", file=sys.stderr)
        raise ExitWith(2)
    from playground.core.twin_download import check_available

    try:
        graph = fileformat.load(model_path)
        plan = plan_twin(graph)
        check_available(plan.twin, graph)   # offline without the file: said before TensorFlow
    except GraphFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise ExitWith(2 if exc.unreadable else 1) from None
    except PlaygroundError as exc:
        print(f"error: {model_path}: {exc}", file=sys.stderr)
        raise ExitWith(2) from None


def check_inputs(model_path: str, images: list[str], weights: str | None = None) -> list:
    """Check the model path and decode every image (no TensorFlow); exit 2 naming the culprit."""
    from playground.inspect.images import ImageFileError, read_image
    from playground.inspect.model import ModelPathError, check_model_path

    try:
        kind = check_model_path(model_path)
    except ModelPathError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise ExitWith(2) from None
    if weights == "imagenet":
        _check_twin(model_path, kind)
    pictures = []
    for path in images:
        try:
            pictures.append(read_image(path))
        except ImageFileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise ExitWith(2) from None
    return pictures


def load(model_path: str, weights: str | None = None):
    """The model for a checked path; exit 2 for an unreadable graph file or a missing ImageNet
    weights file (offline), 1 for model problems."""
    from playground.core.errors import PlaygroundError
    from playground.inspect.model import ModelPathError, load_model_source

    try:
        if weights == "imagenet":
            from playground.inspect.twin import load_twin_file
            from playground.keras_build.imagenet import ImagenetError

            try:
                # Keras prints its download progress on stdout; --json output stays pure.
                with contextlib.redirect_stdout(sys.stderr):
                    return load_twin_file(model_path)
            except ImagenetError as exc:
                print(f"error: {exc}", file=sys.stderr)
                raise ExitWith(2) from None
        return load_model_source(model_path)
    except ModelPathError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise ExitWith(2) from None
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise ExitWith(1) from None


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        print(f"error: --top must be at least 1, not {args.top}", file=sys.stderr)
        return 2
    pictures = check_inputs(args.model, args.images, args.weights)
    loaded = load(args.model, args.weights)
    import numpy as np

    from playground.inspect.images import adapt, adaptation_steps
    from playground.inspect.model import logits_and_probabilities, top_k

    notes = list(loaded.notes)
    results = []
    for picture in pictures:
        x = adapt(picture.pixels, loaded.input_shape, loaded.pipeline)
        probs = logits_and_probabilities(loaded, x)[0]
        if not np.all(np.isfinite(probs)):
            print(f"error: {loaded.source}: the model's output for {picture.source} is not a "
                  "number (NaN/inf weights)", file=sys.stderr)
            return 1
        results.append({"image": picture.source,
                        "top": top_k(probs, args.top, loaded.class_names)})
        notes.append(f"{picture.source}: " + ", ".join(
            adaptation_steps(picture.shape, loaded.input_shape, loaded.pipeline)))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    width = max(len(r["class"]) for res in results for r in res["top"])
    from playground.core.text import one_line

    for res in results:
        print(one_line(res["image"]))   # a file name with a newline stays one line
        for row in res["top"]:
            bar = "#" * int(round(row["p"] * 30))
            print(f"  {row['class']:<{width}}  {row['index']:>4}  {row['p']:7.2%}  {bar}")
    return 0
