"""Checks of the SavedModel serving contract with plain TensorFlow (no playground code)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image


def load(path: str | Path):
    import tensorflow as tf

    return tf.saved_model.load(str(path))


def serve(served, images: np.ndarray) -> np.ndarray:
    """Probabilities from the default float32 endpoint for uint8 N x H x W x C images."""
    import tensorflow as tf

    return served.serve(tf.constant(images, tf.float32)).numpy()


def encode(images: np.ndarray, fmt: str = "PNG") -> list[bytes]:
    out = []
    for image in images:
        arr = image[..., 0] if image.shape[-1] == 1 else image
        buffer = io.BytesIO()
        Image.fromarray(arr).save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG"
                                                         else {}))
        out.append(buffer.getvalue())
    return out


def serve_bytes(served, blobs: list[bytes]) -> np.ndarray:
    import tensorflow as tf

    return served.serve_bytes(tf.constant(blobs, tf.string)).numpy()


def resize(images: np.ndarray, h: int, w: int) -> np.ndarray:
    """Pillow resize of uint8 images (another size, as a client would have them on disk)."""
    out = []
    for image in images:
        gray = image.shape[-1] == 1
        pil = Image.fromarray(image[..., 0] if gray else image).resize(
            (w, h), Image.Resampling.BILINEAR)
        arr = np.asarray(pil)
        out.append(arr[..., None] if gray else arr)
    return np.stack(out)


def check_contract(path: str | Path, images: np.ndarray, classes: int) -> np.ndarray:
    """The four endpoints agree; any size is accepted; returns the probabilities at own size."""
    import tensorflow as tf

    served = load(path)
    probs = serve(served, images)
    assert probs.shape == (len(images), classes)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(served.serve_uint8(tf.constant(images)).numpy(), probs, atol=1e-5)
    (value,) = served.signatures["serving_default"](images=tf.constant(images, tf.float32)
                                                    ).values()
    np.testing.assert_allclose(value.numpy(), probs, atol=1e-5)
    # Another size: accepted, still probabilities.
    h, w = images.shape[1:3]
    other = serve(served, resize(images, h * 2 + 3, w + 5))
    assert other.shape == probs.shape
    np.testing.assert_allclose(other.sum(axis=1), 1.0, atol=1e-4)
    # PNG bytes decode losslessly: same as the decoded images.
    np.testing.assert_allclose(serve_bytes(served, encode(images, "PNG")), probs, atol=1e-5)
    # JPEG bytes at their own size: the same as serving TF's own decoding of them.
    blobs = encode(images, "JPEG")
    decoded = np.stack([tf.io.decode_jpeg(b, channels=images.shape[-1]).numpy() for b in blobs])
    np.testing.assert_allclose(serve_bytes(served, blobs), serve(served, decoded), atol=1e-5)
    names = [n.decode() for n in served.class_names().numpy()]
    assert len(names) == classes
    assert (Path(path) / "assets" / "class_names.txt").read_text().splitlines() == names
    return probs


def manifest(path: str | Path) -> dict:
    return json.loads((Path(path) / "assets" / "export.json").read_text())
