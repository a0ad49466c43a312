"""Segmentation sets on disk: ``images/`` + ``masks/`` folders, or a CSV index ``image,mask``.

Images and masks pair by file stem (``images/cat1.jpg`` with ``masks/cat1.png``). A mask is a PNG
of class indices 0..K-1: grey values, or a palette PNG whose palette indices are the classes (the
VOC layout). An optional ``classes.txt`` (one name a line, beside ``images/`` or the CSV) names
the classes; without it there are max index + 1 (at least two). Every file's header is checked
with :func:`playground.data.sniff.identify` before anything is decoded (bombs, truncated and
non-image files are refused by name), and a mask must have its image's size. Each mask is
decoded once during the scan for its class indices and let go; the pairs are then streamed by
the training pipeline (:mod:`playground.data.segstream`) like a classification folder, so
memory does not grow with the number of pairs.
"""

from __future__ import annotations

import csv
import io
import os
from typing import TYPE_CHECKING

import numpy as np

from playground.data.base import DatasetError
from playground.data.files import IMAGE_EXTENSIONS, inside, macos_metadata
from playground.data.sniff import BadImage, NotAnImage, identify

if TYPE_CHECKING:
    from playground.data.segfiles import SegFileDataset

MASK_EXTENSIONS = (".png",)
MAX_CLASSES = 256
PROGRESS_EVERY = 500
SCAN_CHUNK = 64
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
            if ext.lower() not in exts or not os.path.isfile(path) or not inside(path, root_real) \
                    or macos_metadata(name):   # ._x.png: a Mac's resource fork of x.png
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


def _scan_mask(path: str) -> tuple[int, np.ndarray]:
    """One mask at its own size: its largest class index and its pixels per class index
    (256 counts). Nothing else is kept."""
    from playground.data.segfiles import decode_mask

    arr = decode_mask(path)
    return int(arr.max()) if arr.size else 0, np.bincount(arr.ravel(), minlength=MAX_CLASSES)


def _scan(pairs: list[tuple[str, str]], policy: str, progress) -> tuple[
        list[tuple[str, str]], list[tuple[int, int]], list[int], np.ndarray, list[str]]:
    """Headers of every image and mask (sizes compared), then each mask decoded once, in a few
    threads, for its class indices; returns the kept pairs, their sizes, each mask's largest
    class index, the pixels per class over all masks and the skipped files (policy ``skip``).

    Only plain ints are kept per mask: a small array kept per file between the decoders' large
    temporaries fragmented the heap (peak memory grew ~125 KB per 500x375 mask)."""
    from concurrent.futures import ThreadPoolExecutor

    kept, sizes, skipped = [], [], []
    for image, mask in pairs:
        try:
            hw, mhw = _check(image, "the image"), _check(mask, "the mask")
        except DatasetError as exc:
            if policy != "skip":
                raise
            skipped.append(str(exc))
            continue
        if hw != mhw:
            raise DatasetError(f"{mask}: the mask is {mhw[0]}x{mhw[1]} but its image {image} is "
                               f"{hw[0]}x{hw[1]}")
        kept.append((image, mask))
        sizes.append(hw)
    tops: list[int] = []
    pixels = np.zeros(MAX_CLASSES, np.int64)
    good: list[int] = []
    workers = max(1, min(4, os.cpu_count() or 1))

    def scanned():   # a chunk of futures at a time: bookkeeping does not grow with the set
        with ThreadPoolExecutor(workers) as pool:
            for start in range(0, len(kept), SCAN_CHUNK):
                yield from pool.map(_scan_one, [m for _, m in kept[start:start + SCAN_CHUNK]])

    for i, (top, counts, why) in enumerate(scanned()):
        if why is not None:
            if policy != "skip" or "beyond" in why:
                raise DatasetError(why)
            skipped.append(why)
            continue
        pixels += counts
        tops.append(top)
        good.append(i)
        if progress is not None and (i + 1) % PROGRESS_EVERY == 0:
            progress(f"scanned {i + 1} of {len(kept)} masks")
    return [kept[i] for i in good], [sizes[i] for i in good], tops, pixels, skipped


def _scan_one(path: str) -> tuple[int, np.ndarray | None, str | None]:
    try:
        return (*_scan_mask(path), None)
    except DatasetError as exc:
        return 0, None, str(exc)


def load_segmentation(spec: str, image_size: tuple[int, int] | None = None,
                      channels: int = 3, bad_images: str = "stop",
                      progress=None) -> SegFileDataset:
    """A folder (images/ + masks/) or a CSV index (image,mask) -> a :class:`SegFileDataset`
    decoded at ``image_size`` (H, W; else the first image's size) by the training pipeline.

    Only headers are read for the images; each mask is decoded once here for its classes and
    dropped, so memory does not grow with the number of pairs."""
    from playground.data.segfiles import SegFileDataset

    csv_index = not os.path.isdir(spec)
    pairs = list_csv(spec) if csv_index else list_folder(spec)
    folder = os.path.dirname(os.path.abspath(spec)) if csv_index else spec
    if progress is not None and len(pairs) >= PROGRESS_EVERY:
        progress(f"{spec}: checking {len(pairs)} image/mask pairs")
    pairs, sizes, tops, pixels, skipped = _scan(pairs, bad_images, progress)
    if not pairs:
        raise DatasetError(f"{spec}: no readable image/mask pairs")
    found_max = max(tops)
    names = _class_names(folder, found_max)
    if names is None:
        k = max(2, found_max + 1)
        if k > MAX_CLASSES:
            raise DatasetError(f"{spec}: class index {found_max} is beyond {MAX_CLASSES - 1}")
        names = [str(i) for i in range(k)]
    for (_, mask), top in zip(pairs, tops, strict=True):
        if top >= len(names):
            raise DatasetError(f"{mask}: class index {top} is beyond the {len(names)} "
                               f"classes (0..{len(names) - 1})")
    pixels = pixels[:len(names)]
    size = tuple(image_size) if image_size is not None else sizes[0]
    name = os.path.splitext(os.path.basename(os.path.normpath(spec)))[0] or spec
    data = SegFileDataset(name, spec, [i for i, _ in pairs], [m for _, m in pairs], names,
                          size, channels, pixel_counts=pixels,  # type: ignore[arg-type]
                          bad_images=bad_images, skipped=len(skipped))
    data.notes.append(f"{spec}: {len(pairs)} images with masks, {len(names)} classes "
                      f"({', '.join(names[:8])})")
    resized = sum(1 for s in sizes if s != size)
    if resized:
        data.notes.append(f"{spec}: {resized} image(s) resized to {size[0]}x{size[1]} "
                          "(masks nearest neighbour)")
    if skipped:
        shown = "; ".join(skipped[:5]) + ("; ..." if len(skipped) > 5 else "")
        data.notes.append(f"{spec}: skipped {len(skipped)} unreadable pair(s): {shown}")
    return data
