"""A CSV index of images: a header ``path,label``, one row per image, paths relative to the CSV.

The layout of many Kaggle sets and of Neural Network Console's datasets (whose header is
``x:image,y:label``, also accepted). Labels are class names (classes then sorted like folder
names) or whole numbers (class ``k`` is the k-th class; the classes are 0..max). Every error
names the CSV file and its line: missing header, bad encoding, wrong column count, a missing
or non-image file, a path that leaves the CSV's folder, an unknown label.
"""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from playground.data.base import DatasetError
from playground.data.files import (
    BAD_IMAGE_POLICIES,
    FileDataset,
    Problems,
    Progress,
    check_classes,
    check_image,
    inside,
)

PATH_COLUMNS = ("path", "x:image", "x", "image", "file", "filename")
LABEL_COLUMNS = ("label", "y:label", "y", "class")
MAX_CLASSES = 100_000   # integer labels above this are refused (a label of 10**12 is a typo)
MAX_BYTES = 512 * 1024 ** 2


def _text(path: str) -> str:
    try:
        size = os.stat(path).st_size
        if size > MAX_BYTES:
            raise DatasetError(f"{path}: the CSV index is {size / 1024 ** 2:.0f} MiB; the limit "
                               f"is {MAX_BYTES // 1024 ** 2} MiB")
        from playground.data.sniff import NotAnImage, read_head

        try:  # refuses FIFOs and devices without blocking
            raw, _ = read_head(path, size + 1)
        except NotAnImage as exc:
            raise DatasetError(f"{path}: {exc}") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DatasetError(f"{path}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                           "save the CSV as UTF-8") from None


def _header(path: str, row: list[str]) -> tuple[int, int]:
    names = [c.strip().lower() for c in row]
    p = next((i for i, n in enumerate(names) if n in PATH_COLUMNS), None)
    y = next((i for i, n in enumerate(names) if n in LABEL_COLUMNS), None)
    if p is None or y is None:
        shown = ",".join(row)[:80]
        raise DatasetError(f"{path}: line 1: missing header; the first line must name the "
                           f"columns path,label (found {shown!r})")
    return p, y


def _is_int(text: str) -> bool:
    return text.isascii() and text.isdigit()


def read_index(path: str, policy: str = "stop", progress: Progress | None = None
               ) -> tuple[list[str], list[str], list[tuple[int, str]], Problems]:
    """(image paths, raw labels, (line, label) per row, problems); every row checked."""
    text = _text(path)
    base = os.path.dirname(os.path.abspath(path))
    base_real = os.path.realpath(base)
    problems = Problems()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise DatasetError(f"{path}: the CSV index is empty; the first line must be "
                               "path,label")
        pcol, ycol = _header(path, header)
        width = max(pcol, ycol) + 1
        paths: list[str] = []
        rows: list[tuple[int, str]] = []
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) < width:
                raise DatasetError(f"{path}: line {line}: expected {width} columns "
                                   f"(path,label), found {len(row)}")
            rel, label = row[pcol].strip(), row[ycol].strip()
            if not rel:
                raise DatasetError(f"{path}: line {line}: empty path")
            if not label:
                raise DatasetError(f"{path}: line {line}: empty label for {rel}")
            if os.path.isabs(rel) or "\x00" in rel:
                raise DatasetError(f"{path}: line {line}: {rel}: paths must be relative to the "
                                   "CSV file's folder")
            full = os.path.normpath(os.path.join(base, rel))
            if not inside(full, base_real):
                raise DatasetError(f"{path}: line {line}: {rel} leads out of the CSV file's "
                                   "folder")
            if not os.path.lexists(full):
                raise DatasetError(f"{path}: line {line}: {rel}: file not found ({full})")
            where = f" (line {line} of {path})"
            if check_image(full, policy, problems, where) is None:
                continue
            paths.append(full)
            rows.append((line, label))
            if progress is not None and len(paths) % 5000 == 0:
                progress(f"reading {path}: {len(paths)} rows so far")
    except csv.Error as exc:
        raise DatasetError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
    return paths, [label for _, label in rows], rows, problems


def labels_to_classes(path: str, rows: list[tuple[int, str]]
                      ) -> tuple[list[str], np.ndarray]:
    """Class names and integer labels: all whole numbers -> classes 0..max; otherwise names
    (sorted). Numbers mixed into mostly-name labels are names; names mixed into mostly-number
    labels are refused as unknown, naming the line."""
    labels = [label for _, label in rows]
    ints = [_is_int(label) for label in labels]
    if labels and sum(ints) * 2 > len(labels) and not all(ints):
        line, label = next((ln, lb) for (ln, lb), ok in zip(rows, ints, strict=True) if not ok)
        raise DatasetError(f"{path}: line {line}: unknown label {label!r}; the other labels "
                           "are class numbers 0, 1, 2, ...")
    if labels and all(ints):
        values = [int(label) for label in labels]
        top = max(values)
        if top >= MAX_CLASSES:
            line = rows[values.index(top)][0]
            raise DatasetError(f"{path}: line {line}: label {top} is out of range (class "
                               f"numbers must be below {MAX_CLASSES:,})")
        return [str(i) for i in range(top + 1)], np.array(values, dtype=np.int64)
    names = sorted(set(labels))
    lookup = {n: i for i, n in enumerate(names)}
    return names, np.array([lookup[label] for label in labels], dtype=np.int64)


def load_csv(path: str, image_size: tuple[int, int] | None = None, channels: int = 3,
             bad_images: str = "stop", progress: Progress | None = None) -> FileDataset:
    if bad_images not in BAD_IMAGE_POLICIES:
        raise DatasetError(f"bad_images {bad_images!r}: choose {' or '.join(BAD_IMAGE_POLICIES)}")
    paths, _, rows, problems = read_index(path, bad_images, progress)
    if not rows:
        raise DatasetError(f"{path}: the CSV index lists no images")
    names, y = labels_to_classes(path, rows)
    check_classes(path, names, y.tolist())
    if image_size is None:
        from playground.data.sniff import identify

        info = identify(paths[0])
        image_size = (info.height, info.width)
    data = FileDataset(os.path.basename(path), path, paths, y, names,
                       tuple(int(d) for d in image_size), channels,  # type: ignore[arg-type]
                       bad_images=bad_images)
    data.notes.append(f"{path}: {len(paths)} images in {len(names)} classes "
                      f"({data.counts_line()})")
    data.notes += problems.notes(path)
    data.skipped = problems.count
    return data
