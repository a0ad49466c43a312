"""``import --with-weights``: does the rebuilt graph predict what the original model predicts?

The importer reads a model file as data; this check is the proof that the reading was right. It
runs the original and the rebuilt model on one random batch and compares the outputs; when they
differ it compares every layer the two share, in the graph's order, and names the first whose
output differs, which is where the importer (or a block's builder) went wrong.

The original is loaded only after the importer has vetted every layer of its config (Keras'
own classes, or keras.applications' helpers the importer knows; Lambda and foreign classes are
refused before), and with Keras' safe mode on, so only Keras' code runs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

TOLERANCE = 1e-4


@dataclass
class CheckResult:
    max_diff: float | None = None          # largest |original - rebuilt| over all outputs
    first_layer: str | None = None         # first shared layer whose output differs
    layer_diff: float | None = None
    skipped: str | None = None             # why the check could not run
    scale: float = 1.0                     # largest |output|: the tolerance is relative above 1

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.max_diff is not None and \
            self.max_diff < TOLERANCE * max(1.0, self.scale)

    def line(self) -> str:
        if self.skipped:
            return f"check: skipped ({self.skipped})"
        if self.ok:
            return (f"check: the rebuilt model predicts what the original predicts on a random "
                    f"batch (max abs difference {self.max_diff:.2e})")
        where = (f"; the first layer whose output differs is {self.first_layer!r} (by "
                 f"{self.layer_diff:.3g})" if self.first_layer else "")
        return (f"check: the rebuilt model's predictions differ from the original's (max abs "
                f"difference {self.max_diff:.3g}){where}")


def load_original(path: str) -> Any:
    import keras

    with warnings.catch_warnings():    # Keras' own notes on legacy formats: not the user's
        warnings.simplefilter("ignore")
        return keras.saving.load_model(path, compile=False, safe_mode=True)


def random_batch(model: Any, seed: int = 0, batch: int = 2, high: float = 255.0
                 ) -> list[np.ndarray]:
    """Pixels 0..255 (what the applications expect with their preprocessing inside)."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, high, size=(batch, *tuple(t.shape[1:]))).astype("float32")
            for t in model.inputs]


def _outputs(model: Any, x: list[np.ndarray]) -> list[np.ndarray]:
    try:
        listed = isinstance(model.input, list)   # the structure its inputs were declared in
    except AttributeError:   # a Sequential read from a file has no input until it is called
        listed = len(x) > 1
    out = model(x if listed else x[0], training=False)
    return [np.asarray(o) for o in (out if isinstance(out, list | tuple) else [out])]


def _finite(arrays: list[np.ndarray]) -> bool:
    return all(bool(np.all(np.isfinite(a))) for a in arrays)


def _one_diff(a: np.ndarray, b: np.ndarray) -> float:
    if not a.size:
        return 0.0
    same_gaps = np.isnan(a) & np.isnan(b) | (np.isinf(a) & (a == b))
    gap = np.where(same_gaps, 0.0, np.abs(a.astype("float64") - b.astype("float64")))
    return float(np.nanmax(np.where(np.isnan(gap), np.inf, gap)))


def _diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b, strict=False)):
        return float("inf")
    return max((_one_diff(x, y) for x, y in zip(a, b, strict=True)), default=0.0)


def first_difference(original: Any, rebuilt: Any, order: list[str], x: list[np.ndarray]
                     ) -> tuple[str | None, float | None]:
    """The first layer (in ``order``) present in both models whose output differs."""
    import keras

    def probe(model: Any, names: list[str]) -> Any:
        return keras.Model(model.inputs, [model.get_layer(n).output for n in names])

    shared = []
    for name in order:
        try:
            a, b = original.get_layer(name), rebuilt.get_layer(name)
            if a.output is not None and b.output is not None and \
                    tuple(a.output.shape) == tuple(b.output.shape):
                shared.append(name)
        except (ValueError, AttributeError):
            continue
    if not shared:
        return None, None
    first = _outputs(probe(original, shared), x)
    second = _outputs(probe(rebuilt, shared), x)
    for name, a, b in zip(shared, first, second, strict=True):
        d = _one_diff(a, b)
        if d >= TOLERANCE * max(1.0, float(np.nanmax(np.abs(a))) if a.size else 1.0):
            return name, d
    return None, None


def check_predictions(path: str, rebuilt: Any, order: list[str], seed: int = 0) -> CheckResult:
    """Compare the original model file with the rebuilt model on one random batch."""
    try:
        original = load_original(path)
    except Exception as exc:  # noqa: BLE001 - Keras' loader raises many kinds; say which
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return CheckResult(skipped=f"Keras could not load the original to compare: "
                                   f"{type(exc).__name__}: {text}")
    try:
        # Raw pixels first; a model that overflows on them (no preprocessing inside, or random
        # weights) is compared on 0..1 instead, so the comparison means something.
        for high in (255.0, 1.0):
            x = random_batch(rebuilt, seed, high=high)
            first, second = _outputs(original, x), _outputs(rebuilt, x)
            if _finite(first):
                break
        result = CheckResult(max_diff=_diff(first, second),
                             scale=max((float(np.max(np.abs(a[np.isfinite(a)])))
                                        for a in first if np.isfinite(a).any()), default=1.0))
    except (ValueError, TypeError) as exc:
        return CheckResult(skipped=f"the original does not run on the graph's input: {exc}")
    if not result.ok:
        result.first_layer, result.layer_diff = first_difference(original, rebuilt, order, x)
    return result
