"""The SavedModel serving contract shared by every export path.

Endpoints (``tf.saved_model.load(path).<name>`` and ``signatures[<name>]``):

- ``serve`` (also ``serving_default``): ``images``, float32 ``[None, None, None, C]``, values 0..255,
  any height and width; returns class probabilities ``[None, N]``.
- ``serve_uint8``: the same for uint8 images.
- ``serve_bytes``: ``images``, a string ``[None]`` batch of encoded JPEG/PNG/GIF/BMP files, each
  decoded (first frame) to C channels at its own size.
- ``class_names``: no input; a string ``[N]`` tensor.

A segmenter (an output H' x W' x K) returns per-pixel class probabilities instead, resized
(bilinear) back to the images' own height and width: ``[None, H, W, K]`` (K = 1: the probability
of the second class name, a binary mask). ``serve_bytes`` cannot stack masks of files of different
sizes, so for a segmenter it returns them at the model output's size.

``C`` is the channel count of the images the model was trained on (1 for grayscale data, 3 for
colour); inside, every image goes through :func:`playground.data.adapt.preprocess`, the same
resize/colour/rescale step that adapted the training data, so a model trained on 16x16 digit PNGs
serves 16x16 and 28x28 digits alike, and one trained on photos serves a photo as it is on disk.
``assets/class_names.txt`` (one name a line) and ``assets/export.json`` (names, whether they are
known, input contract, where the weights came from) travel in the folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from playground.exporters.source import ExportSource

MANIFEST = "export.json"
NAMES_FILE = "class_names.txt"


def build_archive(source: ExportSource) -> Any:
    """A ``keras.export.ExportArchive`` with the four endpoints of the contract."""
    import keras

    from playground.data.adapt import preprocess
    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()
    model = source.model
    h, w, c = source.model_shape
    raw_c = int(source.raw_channels)
    names, _known = source.names()
    segmenter = is_segmenter(model)

    def classify(adapted):
        out = model(adapted, training=False)
        if isinstance(out, (list, tuple)):
            out = out[0]          # several heads (auxiliary classifiers): the main one
        return tf.cast(out, tf.float32)

    def serve(images):
        probs = classify(preprocess(images, source.model_shape))
        if segmenter:  # per-pixel probabilities at the image's own size
            probs = tf.image.resize(probs, tf.shape(images)[1:3], method="bilinear")
        return probs

    def decode_one(encoded):
        image = tf.io.decode_image(encoded, channels=raw_c, dtype=tf.uint8,
                                   expand_animations=False)
        image.set_shape([None, None, raw_c])
        return preprocess(image[None], source.model_shape)[0]

    def serve_bytes(images):
        adapted = tf.map_fn(decode_one, images,
                            fn_output_signature=tf.TensorSpec([h, w, c], tf.float32))
        return classify(adapted)

    names_tensor = tf.constant(names, dtype=tf.string)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=[
        tf.TensorSpec([None, None, None, raw_c], tf.float32, name="images")])
    archive.add_endpoint("serve_uint8", serve, input_signature=[
        tf.TensorSpec([None, None, None, raw_c], tf.uint8, name="images")])
    archive.add_endpoint("serve_bytes", serve_bytes, input_signature=[
        tf.TensorSpec([None], tf.string, name="images")])
    archive.add_endpoint("class_names", lambda: names_tensor, input_signature=[])
    return archive


def is_segmenter(model: Any) -> bool:
    """A model whose (first) output is an image of class scores, H x W x K."""
    out = model.outputs[0] if isinstance(model.outputs, list) else model.outputs
    return len(out.shape) == 4


def manifest(source: ExportSource) -> dict[str, Any]:
    names, known = source.names()
    segmenter = is_segmenter(source.model)
    return {
        "format": "keras-playground-savedmodel",
        "version": 1,
        "input": {"shape": [None, None, None, int(source.raw_channels)],
                  "dtypes": ["float32", "uint8"], "range": [0, 255],
                  "bytes": "JPEG, PNG, GIF (first frame) or BMP files"},
        "model_input": list(source.model_shape),
        "preprocessing": "channels converted, resized (bilinear) to the model input, / 255",
        "output": ("per-pixel class probabilities at the image's own size (serve, "
                   "serve_uint8; serve_bytes: at the model output's size)"
                   + (f"; one channel: the probability of {names[-1]!r}"
                      if segmenter and source.num_classes == 1 else "")
                   if segmenter else "class probabilities"),
        "task": "segmentation" if segmenter else "classification",
        "endpoints": ["serve", "serve_uint8", "serve_bytes", "class_names"],
        "class_names": names,
        "class_names_known": known,
        "weights": source.weights,
    }


def write_savedmodel(source: ExportSource, folder: str | os.PathLike[str]) -> None:
    """Write the SavedModel and its assets into ``folder`` (a fresh staging folder)."""
    import contextlib
    import io

    archive = build_archive(source)
    with contextlib.redirect_stdout(io.StringIO()):   # Keras lists the endpoints on stdout
        archive.write_out(str(folder), verbose=False)
    assets = Path(folder) / "assets"
    assets.mkdir(exist_ok=True)
    info = manifest(source)
    lines = ["".join(ch if ch.isprintable() else "?" for ch in n) for n in info["class_names"]]
    (assets / NAMES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (assets / MANIFEST).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
