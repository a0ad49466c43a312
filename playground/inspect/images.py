"""Reading a user's image safely and adapting it exactly like the training data.

Only PNG, JPEG, BMP, GIF and WebP are read, recognised by their first bytes (never by the file
name), and Pillow is told which single decoder to use (``Image.open(path, formats=[...])``), so
a file named ``.png`` that is really EPS never reaches Ghostscript, and a FIFO or device never
blocks the reader. Decoded pixels follow the folder loader's rules (``data/folder.py``): grey
modes become one channel, everything else RGB; 16-bit images keep their top byte (x // 256), as
TensorFlow's decoder hands them to training and to the exported model; float images are scaled
to 0..255.
The model input then comes from ``data.adapt.preprocess``, the same function the training
pipeline and the exported SavedModel use, so a served image sees what training saw.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

import numpy as np

from playground.core.errors import PlaygroundError

# (magic bytes at offset 0, Pillow format name, what users call it)
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG", "JPEG"),
    (b"GIF87a", "GIF", "GIF"),
    (b"GIF89a", "GIF", "GIF"),
    (b"BM", "BMP", "BMP"),
)
SUPPORTED = "PNG, JPEG, BMP, GIF, WebP"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 40_000_000          # a 6,000 x 6,000 photo; more is a decompression bomb here
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


class ImageFileError(PlaygroundError):
    """An image that cannot be used; the message names the file."""


@dataclass
class Picture:
    """Decoded pixels (uint8, H x W x C with C = 1 or 3) and where they came from."""

    pixels: np.ndarray
    source: str
    format: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.pixels.shape)  # type: ignore[return-value]


def sniff_format(head: bytes) -> str | None:
    """The Pillow format name for a file's first bytes, or None when it is none we read."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for magic, name, _ in SIGNATURES:
        if head.startswith(magic):
            return name
    return None


def check_image_file(path: str | os.PathLike[str]) -> str:
    """Check that ``path`` is a regular, readable image file of a supported kind; returns its
    Pillow format name. Raises ``ImageFileError`` naming the file, worded as training words the
    same file (``data.sniff``: content, header, truncation and bomb checks)."""
    from playground.data import sniff

    source = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageFileError(f"{source}: {sniff.NO_SUCH_FILE}") from None
    except OSError as exc:
        raise ImageFileError(f"{source}: cannot be opened ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ImageFileError(f"{source}: {sniff.not_regular(st.st_mode)}")
    if st.st_size > MAX_FILE_BYTES:
        raise ImageFileError(f"{source}: {st.st_size:,} bytes; images over "
                             f"{MAX_FILE_BYTES // 1024**2} MiB are refused")
    try:
        info = sniff.identify(source, max_pixels=MAX_PIXELS)
    except (sniff.NotAnImage, sniff.BadImage) as exc:
        raise ImageFileError(f"{source}: {sniff.refusal(exc)}") from None
    return "WEBP" if info.format == "WebP" else info.format


def _to_uint8(frame) -> tuple[np.ndarray, str]:
    """Pillow image -> (uint8 H x W x C, the mode it was read as) like the folder loader."""
    from PIL import Image

    mode = frame.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(frame, dtype=np.float64)
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        if mode != "F" and arr.min() >= 0 and arr.max() <= 65535:
            # A 16-bit image (Pillow reads 16-bit PNGs as I;16 or I): the top byte, as
            # TensorFlow's decoder gives it to training (x // 256), however dark the image.
            frame = Image.fromarray((arr // 256).astype(np.uint8))
        else:
            top = 65535.0 if arr.max() > 255 else 255.0
            frame = Image.fromarray(np.clip(arr * 255.0 / top, 0, 255).astype(np.uint8))
    gray = mode in GRAY_MODES
    arr = np.asarray(frame.convert("L" if gray else "RGB"), dtype=np.uint8)
    if gray:
        arr = arr[:, :, None]
    return np.ascontiguousarray(arr), mode


def read_image(path: str | os.PathLike[str]) -> Picture:
    """Decode one image file (first frame of an animation); ``ImageFileError`` names the file."""
    from PIL import Image, UnidentifiedImageError

    source = str(path)
    fmt = check_image_file(path)
    try:
        with Image.open(path, formats=[fmt]) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageFileError(f"{source}: {w}x{h} pixels; images over "
                                     f"{MAX_PIXELS:,} pixels are refused")
            img.seek(0)
            img.load()
            pixels, mode = _to_uint8(img)
    except ImageFileError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
            Image.DecompressionBombError) as exc:
        from playground.data.sniff import corrupt

        raise ImageFileError(f"{source}: {corrupt(f'{exc} ({fmt})')}") from None
    kind = "grayscale" if pixels.shape[2] == 1 else "RGB"
    notes = [f"{os.path.basename(source)}: {fmt} {w}x{h} {mode} read as {kind}"]
    return Picture(pixels, source, fmt, notes)


# keras.applications' ``preprocess_input`` modes (keras.applications.imagenet_utils): "caffe"
# (VGG, ResNet50: RGB -> BGR, the ImageNet mean per channel subtracted, no scaling), "tf"
# (MobileNet, Inception: 0..255 -> [-1, 1]), "torch" (DenseNet: / 255, then the ImageNet mean
# and standard deviation per channel) and "raw" (EfficientNet: 0..255 as they are; the model
# rescales inside). A twin's pipeline is "imagenet-<mode>" (``inspect.twin``).
IMAGENET_MODES = ("caffe", "tf", "torch", "raw")
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)
TORCH_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
TORCH_STD = np.array([0.229, 0.224, 0.225], np.float32)
IMAGENET_WORDS = {
    "caffe": "RGB -> BGR, ImageNet mean pixel (103.939, 116.779, 123.68) subtracted "
             "(keras.applications caffe mode)",
    "tf": "scaled 0..255 -> [-1, 1] (keras.applications tf mode)",
    "torch": "scaled to [0, 1], ImageNet mean (0.485, 0.456, 0.406) subtracted and divided by "
             "the standard deviation (0.229, 0.224, 0.225) (keras.applications torch mode)",
    "raw": "0..255 kept (the model rescales and normalises inside, like keras.applications)",
}
PIPELINES = ("arrays", "files") + tuple(f"imagenet-{mode}" for mode in IMAGENET_MODES)


def imagenet_mode(pipeline: str) -> str | None:
    """The keras.applications preprocessing mode of an ImageNet twin's pipeline, else None."""
    if pipeline.startswith("imagenet-") and pipeline[9:] in IMAGENET_MODES:
        return pipeline[9:]
    return None


def imagenet_preprocess(x: np.ndarray, mode: str) -> np.ndarray:
    """RGB values 0..255 (... x 3) -> a twin's input, exactly as
    ``keras.applications.<family>.preprocess_input`` computes it (float32 throughout)."""
    x = np.asarray(x, np.float32)
    if mode == "caffe":
        return np.ascontiguousarray(x[..., ::-1] - CAFFE_MEAN_BGR)
    if mode == "tf":
        return x / np.float32(127.5) - np.float32(1.0)
    if mode == "torch":
        return (x / np.float32(255.0) - TORCH_MEAN) / TORCH_STD
    if mode == "raw":
        return x.copy()
    raise ValueError(f"unknown ImageNet preprocessing mode {mode!r} ({', '.join(IMAGENET_MODES)})")


def view_image(x: np.ndarray, pipeline: str = "arrays") -> np.ndarray:
    """One adapted image (H x W x C) back as values in [0, 1] for drawing: overlays are drawn
    over what the model saw, and a twin's input is BGR/mean-shifted, not a picture."""
    mode = imagenet_mode(pipeline)
    x = np.asarray(x, np.float32)
    if mode is None:
        return x
    if mode == "caffe":
        rgb = (x + CAFFE_MEAN_BGR)[..., ::-1]
    elif mode == "tf":
        rgb = (x + 1.0) * 127.5
    elif mode == "torch":
        rgb = (x * TORCH_STD + TORCH_MEAN) * 255.0
    else:
        rgb = x
    return np.clip(rgb / 255.0, 0.0, 1.0).astype(np.float32)


def adaptation_steps(raw_shape, target_shape, pipeline: str = "arrays") -> list[str]:
    """Words for what ``adapt`` does to an image of ``raw_shape`` (H, W, C)."""
    h, w, c = (int(d) for d in raw_shape)
    th, tw, tc = (int(d) for d in target_shape)
    steps = []
    mode = imagenet_mode(pipeline)
    if mode is not None:
        if c == 1:
            steps.append("grayscale -> RGB (channel copied)")
        if (h, w) != (th, tw):
            steps.append(f"resized {h}x{w} -> {th}x{tw} (bilinear, antialiased)")
        return [*steps, IMAGENET_WORDS[mode]]
    if pipeline == "files":
        steps.append("decoded as RGB" if c == 1 else "RGB")
    if (h, w) != (th, tw):
        steps.append(f"resized {h}x{w} -> {th}x{tw} (bilinear)")
    if pipeline == "files":
        if tc == 1:
            steps.append("RGB -> grayscale (ITU-R 601 luma)")
        steps.append("rounded to 0..255 (the file pipeline's uint8 cache)")
    elif c != tc:
        steps.append("grayscale -> RGB (channel copied)" if c == 1
                     else "RGB -> grayscale (ITU-R 601 luma)")
    steps.append("rescaled 0..255 -> [0, 1]")
    return steps


def adapt(pixels: np.ndarray, target_shape, pipeline: str = "arrays") -> np.ndarray:
    """uint8 H x W x C -> the model's input (1 x H' x W' x C' float32), the way the run's
    training data was adapted (imports TensorFlow):

    - ``"arrays"`` (digits, keras.datasets, .npz): ``data.adapt.preprocess``, colour first,
      then a bilinear resize, then / 255;
    - ``"files"`` (image folders, CSV indexes, decoded by the ``tf.data`` file pipeline): the
      image as RGB, resized bilinearly, luma for a 1-channel model, rounded to uint8, / 255;
    - ``"imagenet-<mode>"`` (a keras.applications twin with ImageNet weights): RGB, resized
      bilinearly with antialiasing (photos are mostly larger than 224x224), then the family's
      own ``preprocess_input`` (``imagenet_preprocess``).
    """
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise ImageFileError(f"an image must be H x W x 1 or 3, not {arr.shape}")
    c = int(target_shape[-1])
    if c not in (1, 3):
        raise ImageFileError(f"the model takes {c}-channel input; only 1 (grayscale) or 3 (RGB) "
                             "channel models read images")
    if pipeline == "files":
        return _adapt_like_files(arr, target_shape)
    mode = imagenet_mode(pipeline)
    if mode is not None:
        return _adapt_like_imagenet(arr, target_shape, mode)
    from playground.data.adapt import preprocess

    return np.asarray(preprocess(arr[None], target_shape), dtype=np.float32)


def _adapt_like_files(arr: np.ndarray, target_shape) -> np.ndarray:
    from playground.data.adapt import LUMA
    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()
    h, w, c = (int(d) for d in target_shape)
    rgb = arr if arr.shape[2] == 3 else np.repeat(arr, 3, axis=2)
    x = tf.image.resize(tf.constant(rgb[None], tf.uint8), (h, w), method="bilinear")
    if c == 1:
        x = tf.reduce_sum(x * tf.constant(LUMA, tf.float32), axis=-1, keepdims=True)
    x = tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)
    return np.asarray(tf.cast(x, tf.float32) / 255.0, dtype=np.float32)


def _adapt_like_imagenet(arr: np.ndarray, target_shape, mode: str) -> np.ndarray:
    h, w, c = (int(d) for d in target_shape)
    if c != 3:
        raise ImageFileError(f"an ImageNet twin takes RGB input, not {c} channel(s)")
    rgb = np.asarray(arr if arr.shape[2] == 3 else np.repeat(arr, 3, axis=2), np.float32)
    if rgb.shape[:2] != (h, w):
        from playground.tfimport import import_tensorflow

        tf = import_tensorflow()
        rgb = np.asarray(tf.image.resize(rgb[None], (h, w), method="bilinear",
                                         antialias=True)[0], np.float32)
        rgb = np.clip(rgb, 0.0, 255.0)      # antialiasing kernels may overshoot a little
    return imagenet_preprocess(rgb[None], mode)
