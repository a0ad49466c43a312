"""Segmentation sets on disk: ``images/`` + ``masks/`` folders, or a CSV index ``image,mask``.

Images and masks pair by file stem (``images/cat1.jpg`` with ``masks/cat1.png``). A mask is a PNG
of class indices 0..K-1: grey values, or a palette PNG whose palette indices are the classes (the
VOC layout). An optional ``classes.txt`` (one name a line, beside ``images/`` or the CSV) names
the classes; without it there are max index + 1 (at least two). Every file's header is checked
with :func:`playground.data.sniff.identify` before anything is decoded (bombs, truncated and
non-image files are refused by name), and a mask must have its image's size. Decoding happens
once, at the model's input size (images bilinear, masks nearest neighbour), into one uint8
array each: a mask set is held in memory, not streamed.
"""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from playground.data.base import DatasetError
from playground.data.files import IMAGE_EXTENSIONS, inside
from playground.data.segdata import SegDataset, check_masks
from playground.data.sniff import BadImage, NotAnImage, identify

MASK_EXTENSIONS = (".png",)
MAX_CLASSES = 256
IMAGE_COLUMNS = ("image", "path", "x:image")
MASK_COLUMNS = ("mask", "y:mask", "label_mask")


def is_seg_folder(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "images")) and \
        os.path.isdir(os.path.join(path, "masks"))


def _header(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            first = f.readline(64 * 1024)
    except (OSError, UnicodeDecodeError):
        return []
    return [c.strip().lower() for c in next(csv.reader(io.StringIO(first)), [])]


def is_seg_csv(path: str) -> bool:
    """A CSV index whose header has an image column and a mask column."""
    cols = _header(path)
    return any(c in cols for c in MASK_COLUMNS) and any(c in cols for c in IMAGE_COLUMNS)


def _check(path: str, what: str) -> tuple[int, int]:
    try:
        info = identify(path)
    except (NotAnImage, BadImage) as exc:
        raise DatasetError(f"{path}: {what} is not a readable image ({exc})") from None
    return info.height, info.width


def _class_names(folder: str, found_max: int) -> list[str] | None:
    path = os.path.join(folder, "classes.txt")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8-sig") as f:
            names = [line.strip() for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    if not names or len(names) > MAX_CLASSES:
        raise DatasetError(f"{path}: expected 1..{MAX_CLASSES} class names, one a line")
    return names


def list_folder(root: str) -> list[tuple[str, str]]:
    """(image, mask) path pairs by stem; a missing or ambiguous partner is named."""
    root_real = os.path.realpath(root)
    images, masks = os.path.join(root, "images"), os.path.join(root, "masks")

    def files(folder: str, exts: tuple[str, ...]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            stem, ext = os.path.splitext(name)
            if ext.lower() not in exts or not os.path.isfile(path) or not inside(path, root_real):
                continue
            if stem in out:
                raise DatasetError(f"{path}: two files share the name {stem!r} "
                                   f"({os.path.basename(out[stem])}); a mask could not tell "
                                   "which image it belongs to")
            out[stem] = path
        return out

    found_images = files(images, IMAGE_EXTENSIONS)
    found_masks = files(masks, MASK_EXTENSIONS)
    if not found_images:
        raise DatasetError(f"{images}: no images ({', '.join(IMAGE_EXTENSIONS)})")
    for stem, path in found_images.items():
        if stem not in found_masks:
            raise DatasetError(f"{path}: no mask for this image (expected "
                               f"{os.path.join(masks, stem + '.png')})")
    for stem, path in found_masks.items():
        if stem not in found_images:
            raise DatasetError(f"{path}: a mask without an image (no {stem}.* in {images})")
    return [(found_images[s], found_masks[s]) for s in found_images]


def list_csv(path: str) -> list[tuple[str, str]]:
    """(image, mask) pairs from a CSV index (paths relative to it); errors name the line."""
    base = os.path.dirname(os.path.abspath(path))
    root_real = os.path.realpath(base)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read as a UTF-8 CSV ({exc})") from None
    header = [c.strip().lower() for c in rows[0]] if rows else []
    try:
        ci = next(header.index(c) for c in IMAGE_COLUMNS if c in header)
        cm = next(header.index(c) for c in MASK_COLUMNS if c in header)
    except StopIteration:
        raise DatasetError(f"{path}: line 1: expected a header with image,mask columns") \
            from None
    pairs = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(ci, cm):
            raise DatasetError(f"{path}: line {line}: expected {len(header)} columns, got "
                               f"{len(row)}")
        image, mask = (os.path.join(base, row[i].strip()) for i in (ci, cm))
        for p, what in ((image, "image"), (mask, "mask")):
            if not os.path.isfile(p):
                raise DatasetError(f"{path}: line {line}: {what} {p} not found")
            if not inside(p, root_real):
                raise DatasetError(f"{path}: line {line}: {what} {p} lies outside the CSV's "
                                   "folder")
        pairs.append((image, mask))
    if not pairs:
        raise DatasetError(f"{path}: the index lists no image,mask rows")
    return pairs


# sniff's format name -> the one Pillow decoder that may open the file (never Pillow's own
# guess, which hands PostScript to Ghostscript).
PILLOW_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "BMP": "BMP", "WebP": "WEBP"}


def _open_image(path: str):
    """The file opened by Pillow with only the decoder its content identifies."""
    from PIL import Image

    try:
        info = identify(path)
    except (NotAnImage, BadImage) as exc:
        raise DatasetError(f"{path}: {exc}") from None
    return Image.open(path, formats=[PILLOW_FORMATS[info.format]])


def _decode_image(path: str, size: tuple[int, int], channels: int) -> np.ndarray:
    from PIL import Image

    try:
        with _open_image(path) as im:
            im.seek(0)
            im = im.convert("L" if channels == 1 else "RGB")
            if im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(im, np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"{path}: corrupt or unreadable image ({exc})") from None
    return arr[..., None] if arr.ndim == 2 else arr


def _decode_mask(path: str, size: tuple[int, int]) -> np.ndarray:
    """Class indices: grey values, or a palette PNG's indices (never its colours)."""
    from PIL import Image

    try:
        with _open_image(path) as im:
            if im.mode not in ("P", "L", "1", "I", "I;16"):
                raise DatasetError(f"{path}: a mask must hold class indices (a grey or palette "
                                   f"PNG), not {im.mode} colours")
            arr = np.asarray(im)
            if im.mode == "1":
                arr = arr.astype(np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"{path}: corrupt or unreadable mask ({exc})") from None
    if arr.shape[:2] != size:
        from playground.training.segmentation import resize_masks

        arr = resize_masks(arr[None], size)[0]
    return arr.astype(np.int64)


def load_segmentation(spec: str, image_size: tuple[int, int] | None = None,
                      channels: int = 3) -> SegDataset:
    """A folder (images/ + masks/) or a CSV index (image,mask) -> an in-memory SegDataset at
    ``image_size`` (H, W; else the first image's size)."""
    csv_index = not os.path.isdir(spec)
    pairs = list_csv(spec) if csv_index else list_folder(spec)
    folder = os.path.dirname(os.path.abspath(spec)) if csv_index else spec
    sizes = []
    for image, mask in pairs:
        hw, mhw = _check(image, "the image"), _check(mask, "the mask")
        if hw != mhw:
            raise DatasetError(f"{mask}: the mask is {mhw[0]}x{mhw[1]} but its image {image} is "
                               f"{hw[0]}x{hw[1]}")
        sizes.append(hw)
    size = tuple(image_size) if image_size is not None else sizes[0]
    x = np.stack([_decode_image(i, size, channels) for i, _ in pairs])  # type: ignore[arg-type]
    masks = np.stack([_decode_mask(m, size) for _, m in pairs])  # type: ignore[arg-type]
    found_max = int(masks.max()) if masks.size else 0
    names = _class_names(folder, found_max)
    if names is None:
        k = max(2, found_max + 1)
        if k > MAX_CLASSES:
            raise DatasetError(f"{spec}: class index {found_max} is beyond {MAX_CLASSES - 1}")
        names = [str(i) for i in range(k)]
    masks = check_masks(x, masks, len(names), spec, [m for _, m in pairs])
    name = os.path.splitext(os.path.basename(os.path.normpath(spec)))[0] or spec
    data = SegDataset(name, x, masks, names)
    resized = sum(1 for s in sizes if s != size)
    data.notes.append(f"{spec}: {len(pairs)} images with masks, {len(names)} classes "
                      f"({', '.join(names[:8])})")
    if resized:
        data.notes.append(f"{spec}: {resized} image(s) resized to {size[0]}x{size[1]} "
                          "(masks nearest neighbour)")
    return data
