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


def export_savedmodel(model: Any, out_dir: str, raw_shape, model_shape) -> str:
    import keras
    import tensorflow as tf

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
