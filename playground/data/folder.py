"""An image folder with one subfolder per class, listed like ``keras.utils.image_dataset_from_directory``.

Same semantics (class subfolders in sorted order, images found recursively, file extensions
bmp/gif/jpeg/jpg/png, plus webp), but nothing is decoded here: the scan lists the files, checks
each header (:mod:`playground.data.sniff`: content, not name; bomb limit; regular files only)
and returns a :class:`playground.data.files.FileDataset` that the ``tf.data`` pipeline decodes.
Symlinks (class folders or files) that lead out of the dataset folder are not followed; FIFOs
and devices are never opened; symlinked sub-folders are not descended (Keras' default).
"""

from __future__ import annotations

import os
import time
from collections import Counter

import numpy as np

from playground.data.base import DatasetError
from playground.data.files import (
    BAD_IMAGE_POLICIES,
    IMAGE_EXTENSIONS,
    FileDataset,
    Problems,
    Progress,
    check_classes,
    check_image,
    inside,
    macos_metadata,
)

PROGRESS_EVERY = 2.0  # seconds between progress lines while scanning a big folder


def _class_folders(root: str, root_real: str, problems: Problems) -> list[str]:
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise DatasetError(f"{root}: cannot be read ({exc.strerror or exc})") from None
    classes = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if macos_metadata(entry.name):
            problems.add("macOS metadata folder(s) (not a class)", entry.path)
            continue
        try:
            is_dir = entry.is_dir()  # follows a symlink
        except OSError:
            is_dir = False
        if not is_dir:
            continue
        if entry.is_symlink() and not inside(entry.path, root_real):
            problems.add("class folder link(s) leading out of the dataset folder (not followed)",
                         entry.path)
            continue
        classes.append(entry.name)
    return classes


def scan_folder(root: str, policy: str = "stop", progress: Progress | None = None
                ) -> tuple[list[str], list[str], list[int], list[tuple[int, int]], Problems, int]:
    """(class names, paths, labels, (h, w) per file, problems, stray non-image files)."""
    root_real = os.path.realpath(root)
    problems = Problems()
    classes = _class_folders(root, root_real, problems)
    paths: list[str] = []
    labels: list[int] = []
    sizes: list[tuple[int, int]] = []
    stray = 0
    last = time.monotonic()
    for index, name in enumerate(classes):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, name)):
            linked = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            for d in linked:
                problems.add("linked sub-folder(s) (not followed)", os.path.join(dirpath, d))
            dirnames[:] = sorted(d for d in dirnames if d not in linked)
            for fname in sorted(filenames):
                path = os.path.join(dirpath, fname)
                if macos_metadata(fname):
                    problems.add("macOS metadata file(s) (._*, not images)", path)
                    continue
                if not fname.lower().endswith(IMAGE_EXTENSIONS):
                    stray += 1
                    continue
                if os.path.islink(path) and not inside(path, root_real):
                    problems.add("file link(s) leading out of the dataset folder "
                                 "(not followed)", path)
                    continue
                info = check_image(path, policy, problems)
                if info is None:
                    continue
                paths.append(path)
                labels.append(index)
                sizes.append((info.height, info.width))
                if progress is not None and time.monotonic() - last > PROGRESS_EVERY:
                    last = time.monotonic()
                    progress(f"scanning {root}: {len(paths)} images so far ({name})")
    return classes, paths, labels, sizes, problems, stray


def load_folder(root: str, image_size: tuple[int, int] | None = None, channels: int = 3,
                bad_images: str = "stop", progress: Progress | None = None) -> FileDataset:
    """List and check the folder; ``image_size`` (H, W) is the decode size (else the most
    common size among the files)."""
    if bad_images not in BAD_IMAGE_POLICIES:
        raise DatasetError(f"bad_images {bad_images!r}: choose {' or '.join(BAD_IMAGE_POLICIES)}")
    if not os.path.isdir(root):
        raise DatasetError(f"{root}: not a folder")
    classes, paths, labels, sizes, problems, stray = scan_folder(root, bad_images, progress)
    if not classes:
        raise DatasetError(f"{root}: no class subfolders; put the images of each class in its own "
                           "subfolder (e.g. cats/, dogs/)")
    if not paths:
        raise DatasetError(f"{root}: the class subfolders hold no images "
                           f"({', '.join(IMAGE_EXTENSIONS)})")
    check_classes(root, classes, labels)
    size_counts = Counter(sizes)
    h, w = (int(d) for d in (image_size or size_counts.most_common(1)[0][0]))
    y = np.array(labels, dtype=np.int64)
    data = FileDataset(os.path.basename(os.path.normpath(root)) or root, root, paths, y,
                       classes, (h, w), channels, bad_images=bad_images)
    data.notes.append(f"{root}: {len(paths)} images in {len(classes)} classes "
                      f"({data.counts_line()})")
    if stray:
        data.notes.append(f"{root}: skipped {stray} non-image file(s)")
    data.notes += problems.notes(root)
    resized = sum(n for s, n in size_counts.items() if s != (h, w))
    if resized:
        data.notes.append(f"{root}: {resized} image(s) resized to {h}x{w} when decoded")
    data.skipped = stray + problems.count
    return data
