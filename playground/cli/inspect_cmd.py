"""``inspect RUN_DIR|MODEL.keras --image PNG --node ID [--class K] --out DIR``: slides of what a
node sees.

Writes ``<ID>_features.png`` (the node's activations, one tile per channel), ``<ID>_filters.png``
(a convolution's kernels; the first layer in colour), ``gradcam.png`` (the map over the model's
view of the image), ``gradcam.npy`` (the map at the node's own resolution, ReLU'ed, max 1),
``saliency.png`` and ``prediction.json``. A node without a spatial map (Dense) writes the
prediction and the saliency map and says why there is nothing else to draw. Arguments and files
are checked before TensorFlow is imported (exit 2); a model or node problem exits 1.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys

from playground.cli.common import wrap
from playground.cli.predict import add_weights_option, check_inputs, load


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="RUN_DIR|MODEL.keras",
                        help="a run folder (its current weights), a .keras model, or a graph "
                             ".json (random weights; --weights imagenet for a twin)")
    parser.add_argument("--image", required=True, metavar="PNG", help="the image to look at")
    parser.add_argument("--node", required=True, metavar="ID", help="the node to inspect")
    parser.add_argument("--class", dest="class_index", metavar="K",
                        help="the class Grad-CAM explains, an index or a class name "
                             "(default: the predicted one)")
    parser.add_argument("--top", type=int, default=5, metavar="K",
                        help="classes listed in prediction.json (default 5)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the pictures")
    add_weights_option(parser)
    parser.set_defaults(run=wrap(run))


def _check_out(path: str) -> str | None:
    if os.path.exists(path) and not os.path.isdir(path):
        return f"--out {path}: exists and is not a folder"
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return f"--out {path}: its parent folder {parent} does not exist"
    return None


def _class_index(value: str | None, names: list[str]) -> int | None | str:
    """``--class``: a class name of the run, else an index; a string return is the complaint."""
    if value is None:
        return None
    if value in names:
        return names.index(value)
    try:
        index = int(value)
    except ValueError:
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        return f"not a class of the model ({shown})"
    if not 0 <= index < len(names):
        return f"class {index} is out of range: the model has {len(names)} classes " \
               f"(0..{len(names) - 1})"
    return index


def run(args: argparse.Namespace) -> int:
    problem = _check_out(args.out)
    if problem is None and args.top < 1:
        problem = f"--top must be at least 1, not {args.top}"
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    (picture,) = check_inputs(args.model, [args.image], args.weights)
    loaded = load(args.model, args.weights)
    if args.node not in loaded.node_tensors:
        print(f"error: {args.model}: no node {args.node!r} (nodes: "
              f"{', '.join(loaded.node_tensors)})", file=sys.stderr)
        return 1
    import numpy as np

    from playground.core.atomic import write_bytes_atomic, write_text_atomic
    from playground.core.errors import PlaygroundError
    from playground.inspect import render
    from playground.inspect.images import adapt, adaptation_steps, view_image
    from playground.inspect.maps import Inspector, node_kernel
    from playground.inspect.model import top_k

    class_index = _class_index(args.class_index, loaded.class_names)
    if isinstance(class_index, str):
        print(f"error: --class {args.class_index}: {class_index}", file=sys.stderr)
        return 1
    x = adapt(picture.pixels, loaded.input_shape, loaded.pipeline)
    try:
        maps = Inspector(loaded).run(x, args.node, class_index)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    seen = view_image(x[0], loaded.pipeline)     # what the model saw, as a picture
    written = []

    def out(name: str) -> str:
        written.append(name)
        return os.path.join(args.out, name)

    if maps.features is not None:
        render.write_png(out(f"{args.node}_features.png"), render.feature_grid(maps.features))
    if maps.kernel is not None:
        render.write_png(out(f"{args.node}_filters.png"),
                         render.filter_grid(maps.kernel, colour=maps.first_layer))
    else:
        _, why = node_kernel(loaded, args.node)
        print(f"note: no filters: {why}", file=sys.stderr)
    if maps.gradcam is not None:
        render.write_png(out("gradcam.png"), render.overlay(seen, maps.gradcam))
        buf = io.BytesIO()
        np.save(buf, maps.gradcam.astype(np.float32), allow_pickle=False)
        write_bytes_atomic(out("gradcam.npy"), buf.getvalue())
    sal = maps.saliency
    render.write_png(out("saliency.png"),
                     render.overlay(seen, sal / sal.max() if sal.max() > 0 else sal, alpha=0.6))
    prediction = {
        "image": picture.source, "model": loaded.source, "node": args.node,
        "class": loaded.class_name(maps.class_index), "index": maps.class_index,
        "top": top_k(maps.probs, args.top, loaded.class_names),
        "gradcam_shape": list(maps.gradcam.shape) if maps.gradcam is not None else None,
        "score": maps.score_note, "random_weights": loaded.random,
        "adapted": adaptation_steps(picture.shape, loaded.input_shape, loaded.pipeline),
        "notes": loaded.notes + ([maps.reason] if maps.reason else []),
    }
    write_text_atomic(out("prediction.json"), json.dumps(prediction, indent=1) + "\n")
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    if maps.reason:
        print(f"note: {maps.reason}", file=sys.stderr)
    best = prediction["top"][0]
    print(f"{picture.source}: {best['class']} ({best['p']:.2%}); Grad-CAM for class "
          f"{prediction['class']} at {args.node}")
    for name in written:
        print(f"wrote {os.path.join(args.out, name)}")
    return 0
