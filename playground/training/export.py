"""SavedModel export whose serving signature takes raw images and returns class probabilities.

The resize/colour/rescale step (``playground.data.adapt.preprocess``) lives inside the exported
function, so a client feeds images exactly as decoded from the dataset's files: H x W x C at the
dataset's size, 0..255. Two endpoints: ``serve`` (float32, also the default serving signature)
and ``serve_uint8``. Written to a temp folder and moved into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from playground.core.atomic import replace_dir_atomic
from playground.core.errors import PlaygroundError


def check_export_dir(out_dir: str) -> str:
    """Where a SavedModel may go: a new folder, an empty one, or an earlier SavedModel (which
    is replaced). Anything else (a file, a folder of the user's own files) is refused, since the
    export swaps the whole folder. Cheap: called before training as well as at the export."""
    target = os.path.abspath(out_dir)
    parent = os.path.dirname(target) or "."
    probe = parent
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise PlaygroundError(f"{out_dir}: {probe} is not a folder")
    if os.path.lexists(target):
        if not os.path.isdir(target) or os.path.islink(target):
            raise PlaygroundError(f"{out_dir}: exists and is not a folder; a SavedModel is a "
                                  "folder, choose another path")
        if os.listdir(target) and not os.path.isfile(os.path.join(target, "saved_model.pb")):
            raise PlaygroundError(f"{out_dir}: the folder exists and is not a SavedModel; "
                                  "refusing to replace it (choose a new folder)")
    return target


def export_savedmodel(model: Any, out_dir: str, raw_shape, model_shape) -> str:
    check_export_dir(out_dir)
    import keras

    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()

    from playground.data.adapt import preprocess

    h, w, c = (int(d) for d in raw_shape)

    def serve_fn(images):
        out = model(preprocess(images, model_shape), training=False)
        if isinstance(out, (list, tuple)):
            out = out[0]
        return tf.cast(out, tf.float32)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve_fn,
                         input_signature=[tf.TensorSpec([None, h, w, c], tf.float32,
                                                        name="images")])
    archive.add_endpoint("serve_uint8", serve_fn,
                         input_signature=[tf.TensorSpec([None, h, w, c], tf.uint8,
                                                        name="images")])
    out_dir = os.path.abspath(out_dir)
    parent = os.path.dirname(out_dir) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        archive.write_out(tmp, verbose=False)
        replace_dir_atomic(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
