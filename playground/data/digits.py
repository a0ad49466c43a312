"""The built-in offline dataset: the 1,797 8x8 handwritten digits scikit-learn ships (UCI).

``resources/digits.npz`` was generated once from ``sklearn.datasets.load_digits`` (pixels 0..16
scaled to 0..255 uint8), so the app trains with no network and no scikit-learn at run time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from playground.data.base import Dataset, DatasetError, validate_arrays

DIGITS_PATH = Path(__file__).resolve().parents[2] / "resources" / "digits.npz"


def load_digits(path: Path | str = DIGITS_PATH) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"{path}: the built-in digits cannot be read ({exc}); reinstall "
                           "the app") from None
    x, y = validate_arrays(x, y, str(path), num_classes=10)
    return Dataset("digits", x, y, [str(i) for i in range(10)],
                   notes=["digits: 1,797 8x8 grayscale handwritten digits (UCI, as shipped by "
                          "scikit-learn)"])
