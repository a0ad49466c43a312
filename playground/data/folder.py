"""An image folder with one subfolder per class, read like ``keras.utils.image_dataset_from_directory``.

Same semantics (class subfolders in sorted order, images found recursively, formats bmp/gif/jpeg/
png), but decoded with Pillow up front so that a stray file is skipped and counted, a corrupt image
is named in the error, and images of mixed sizes and modes end up as one array.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from playground.data.dataset import Dataset, DatasetError

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def _scan(root: str) -> tuple[list[str], list[tuple[str, int]], int]:
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    files: list[tuple[str, int]] = []
    stray = 0
    for index, name in enumerate(classes):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, name)):
            dirnames.sort()
            for fname in sorted(filenames):
                if fname.lower().endswith(IMAGE_EXTENSIONS):
                    files.append((os.path.join(dirpath, fname), index))
                else:
                    stray += 1
    return classes, files, stray


def load_folder(root: str, image_size: tuple[int, int] | None = None) -> Dataset:
    """Read every image; ``image_size`` (H, W) resizes all of them (else the most common size)."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.isdir(root):
        raise DatasetError(f"{root}: not a folder")
    classes, files, stray = _scan(root)
    if not classes:
        raise DatasetError(f"{root}: no class subfolders; put the images of each class in its own "
                           "subfolder (e.g. cats/, dogs/)")
    counts = Counter(label for _, label in files)
    if not files:
        raise DatasetError(f"{root}: the class subfolders hold no images "
                           f"({', '.join(IMAGE_EXTENSIONS)})")
    if len(classes) < 2:
        raise DatasetError(f"{root}: only one class ({classes[0]}); a classifier needs at least "
                           "two class subfolders")
    empty = [c for i, c in enumerate(classes) if counts[i] == 0]
    if empty:
        raise DatasetError(f"{root}: class folder(s) {', '.join(empty)} hold no images")
    images: list = []
    modes: Counter[str] = Counter()
    sizes: Counter[tuple[int, int]] = Counter()
    for path, _ in files:
        try:
            with Image.open(path) as img:
                img.load()
                frame = img.copy()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise DatasetError(f"{path}: corrupt or unreadable image ({exc})") from None
        modes[frame.mode] += 1
        sizes[(frame.height, frame.width)] += 1
        images.append(frame)
    gray = all(m in GRAY_MODES for m in modes)
    size = tuple(image_size) if image_size else sizes.most_common(1)[0][0]
    h, w = int(size[0]), int(size[1])
    mode = "L" if gray else "RGB"
    x = np.empty((len(images), h, w, 1 if gray else 3), dtype=np.uint8)
    resized = 0
    for i, frame in enumerate(images):
        if frame.mode in ("I", "I;16", "F"):
            arr = np.asarray(frame, dtype=np.float64)
            top = 65535.0 if arr.max() > 255 else 255.0
            frame = Image.fromarray(np.clip(arr * 255.0 / top, 0, 255).astype(np.uint8))
        frame = frame.convert(mode)
        if (frame.height, frame.width) != (h, w):
            frame = frame.resize((w, h), Image.Resampling.BILINEAR)
            resized += 1
        arr = np.asarray(frame, dtype=np.uint8)
        x[i] = arr[..., None] if gray else arr
    y = np.array([label for _, label in files], dtype=np.int64)
    notes = [f"{root}: {len(files)} images in {len(classes)} classes"]
    if stray:
        notes.append(f"{root}: skipped {stray} non-image file(s)")
    if resized:
        notes.append(f"{root}: resized {resized} image(s) to {h}x{w}")
    if len(modes) > 1:
        notes.append(f"{root}: mixed image modes {dict(modes)} converted to "
                     f"{'grayscale' if gray else 'RGB'}")
    return Dataset(os.path.basename(os.path.normpath(root)) or root, x, y, classes, notes=notes,
                   skipped=stray)
