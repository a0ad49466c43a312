"""An ``.npz`` file with ``x`` (images) and ``y`` (integer labels), optionally ``x_test``/``y_test``
and ``class_names``. Loaded with ``allow_pickle=False``: a file from a stranger runs no code.

A stranger's file can also be a memory bomb: a few MB that decompress to GBs. So only the arrays
the dataset uses are read (any other member stays compressed and unread), each array's declared
shape and dtype are read from its ``.npy`` header first and refused when they would not fit in
memory, and labels are checked before anything is sized by them (a label of 10**12 would
otherwise become a class list of 10**12 names).
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from playground.data.base import Dataset, DatasetError, validate_arrays
from playground.data.memory import available_memory

USED = ("x", "y", "x_test", "y_test", "class_names")
MAX_CLASSES = 100_000


def _declared(zf: zipfile.ZipFile, member: str, path: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the ``.npy`` header, reading only the header's bytes."""
    try:
        with zf.open(member) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        raise DatasetError(f"{path}: array {member[:-4]!r} has a broken header ({exc})") from None
    return tuple(int(d) for d in shape), dtype


def _check_sizes(path: str, zf: zipfile.ZipFile, names: list[str]) -> None:
    budget = available_memory() // 2
    total = 0
    for name in names:
        shape, dtype = _declared(zf, name + ".npy", path)
        if dtype.hasobject:
            raise DatasetError(f"{path}: array {name!r} holds Python objects, which are never "
                               "loaded (they would need pickle, which can run code)")
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        total += nbytes
        if total > budget:
            raise DatasetError(f"{path}: array {name!r} declares shape {shape} of {dtype} "
                               f"({nbytes / 1024 ** 3:.1f} GiB); the arrays used would need "
                               f"{total / 1024 ** 3:.1f} GiB, more than half the available "
                               f"memory ({budget * 2 / 1024 ** 3:.1f} GiB); not read")


def _check_labels(path: str, y: np.ndarray, name: str, limit: int) -> None:
    """Before anything is sized by the labels: a label past ``limit`` is named and refused."""
    flat = np.asarray(y).reshape(-1)
    if flat.size == 0 or not np.issubdtype(flat.dtype, np.number):
        return
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(np.abs(np.nan_to_num(flat.astype(np.float64), nan=0.0)) >= limit)
    if len(bad):
        i = int(bad[0])
        value = flat[i].item()
        raise DatasetError(f"{path}: label {name}[{i}] = {value!r} is out of range (class "
                           f"numbers must be below {limit:,})")


def load_npz(path: str) -> Dataset:
    if os.path.isdir(path):
        raise DatasetError(f"{path}: is a folder, not an .npz file")
    from playground.data.sniff import NotAnImage, read_head

    try:  # a FIFO or device named .npz is refused without blocking
        read_head(path, 4)
    except NotAnImage as exc:
        if not os.path.lexists(path):
            raise DatasetError(f"{path}: file not found") from None
        raise DatasetError(f"{path}: {exc}") from None
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable .npz file ({exc})") from None
    with zf:
        members = {n[:-4] for n in zf.namelist() if n.endswith(".npy")}
        missing = [k for k in ("x", "y") if k not in members]
        if missing:
            raise DatasetError(f"{path}: missing array(s) {', '.join(missing)}; an .npz dataset "
                               f"needs x (images) and y (labels), found "
                               f"{sorted(members) or 'none'}")
        wanted = [k for k in USED if k in members]
        if ("x_test" in members) != ("y_test" in members):
            wanted = [k for k in wanted if k not in ("x_test", "y_test")]
        _check_sizes(path, zf, wanted)
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise DatasetError(f"{path}: not a readable .npz file ({exc})") from None
        with data:
            try:
                # Only these members are decompressed; others are never touched.
                arrays = {k: data[k] for k in wanted}
            except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
                raise DatasetError(f"{path}: unsupported or corrupt array ({exc})") from None
    names = None
    if "class_names" in arrays:
        raw_names = arrays["class_names"].reshape(-1)
        if len(raw_names) > MAX_CLASSES:
            raise DatasetError(f"{path}: class_names lists {len(raw_names):,} classes (at most "
                               f"{MAX_CLASSES:,})")
        names = [str(n) for n in raw_names.tolist()]
    for key in ("y", "y_test"):
        if key in arrays:
            _check_labels(path, arrays[key], key, MAX_CLASSES)
    x, y = validate_arrays(arrays["x"], arrays["y"], f"{path}",
                           num_classes=len(names) if names else None)
    x_test = y_test = None
    if "x_test" in arrays and "y_test" in arrays:
        x_test, y_test = validate_arrays(arrays["x_test"], arrays["y_test"], f"{path} (test)",
                                         num_classes=len(names) if names else None)
        if x_test.shape[1:] != x.shape[1:]:
            raise DatasetError(f"{path}: x_test images are {x_test.shape[1:]}, x images are "
                               f"{x.shape[1:]}")
    count = len(names) if names else int(max(y.max(), y_test.max() if y_test is not None else 0)) + 1
    if count < 2:
        raise DatasetError(f"{path}: only one class (label 0); a classifier needs at least two")
    names = names or [str(i) for i in range(count)]
    return Dataset(path, x, y, names, x_test, y_test)
