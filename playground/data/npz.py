"""An ``.npz`` file with ``x`` (images) and ``y`` (integer labels), optionally ``x_test``/``y_test``
and ``class_names``. Loaded with ``allow_pickle=False``: a file from a stranger runs no code.
"""

from __future__ import annotations

import zipfile

import numpy as np

from playground.data.dataset import Dataset, DatasetError, validate_arrays


def load_npz(path: str) -> Dataset:
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable .npz file ({exc})") from None
    with data:
        missing = [k for k in ("x", "y") if k not in data.files]
        if missing:
            raise DatasetError(f"{path}: missing array(s) {', '.join(missing)}; an .npz dataset "
                               f"needs x (images) and y (labels), found {data.files or 'none'}")
        try:
            arrays = {k: data[k] for k in data.files}
        except ValueError as exc:  # object arrays need pickle: refused
            raise DatasetError(f"{path}: unsupported array ({exc})") from None
    names = None
    if "class_names" in arrays:
        names = [str(n) for n in arrays["class_names"].tolist()]
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
