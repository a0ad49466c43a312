"""Import coverage of keras.applications: each family built with weights=None and given random
weights, saved as .keras, then imported (``import_model``), rebuilt with the file's weights,
compared with the original on a random batch, exported back as .keras and compared again.

    python bench/bench_import.py                 # every family (minutes on 2 CPU cores)
    python bench/bench_import.py MobileNetV3Small EfficientNetB0

Prints one line per model: params (original / imported / exported), the import time, the
check time (rebuild + weights + comparison) and the largest output difference. The tests
(tests/keras_build/test_import_families.py) use the same ``round_trip_application``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# (family, the keras.applications constructor checked, input size: small but allowed)
FAMILIES: list[tuple[str, str, int]] = [
    ("VGG", "VGG16", 32), ("VGG", "VGG19", 32),
    ("ResNet", "ResNet50", 32), ("ResNet", "ResNet101", 32), ("ResNet", "ResNet152", 32),
    ("ResNetV2", "ResNet50V2", 32), ("ResNetV2", "ResNet101V2", 32),
    ("DenseNet", "DenseNet121", 32), ("DenseNet", "DenseNet169", 32),
    ("InceptionV3", "InceptionV3", 75), ("Xception", "Xception", 71),
    ("MobileNet", "MobileNet", 32), ("MobileNetV2", "MobileNetV2", 32),
    ("NASNet", "NASNetMobile", 32),
    ("ConvNeXt", "ConvNeXtTiny", 32), ("EfficientNet", "EfficientNetB0", 32),
    ("EfficientNetV2", "EfficientNetV2B0", 32), ("InceptionResNetV2", "InceptionResNetV2", 75),
    ("MobileNetV3", "MobileNetV3Small", 32), ("MobileNetV3", "MobileNetV3Large", 32),
]


@dataclass
class Result:
    name: str
    params: int
    imported_params: int
    exported_params: int
    import_s: float
    check_s: float
    diff: float
    exported_diff: float


def gentle_weights(model, seed: int = 0) -> None:
    """Random weights that keep a deep network's activations finite: kernels ~ N(0, 1/fan_in),
    scales near 1, offsets and means small, variances positive."""
    rng = np.random.default_rng(seed)
    for layer in _leaf_layers(model):
        values = []
        for w in layer.weights:
            shape = tuple(w.shape)
            path = w.path.rsplit("/", 1)[-1]
            if len(shape) >= 2:
                fan_in = int(np.prod(shape[:-1])) or 1
                a = rng.normal(0, 1 / np.sqrt(fan_in), shape)
            elif "variance" in path:
                a = rng.uniform(0.5, 1.5, shape)
            elif path == "count":
                a = np.full(shape, 100.0)
            elif path in ("gamma", "scale"):
                a = 1 + rng.normal(0, 0.1, shape)
            else:
                a = rng.normal(0, 0.1, shape)
            values.append(np.asarray(a, dtype="float32"))
        if values:
            layer.set_weights(values)


def _leaf_layers(model):
    for layer in model.layers:
        if getattr(layer, "layers", None):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _outputs(model, x) -> list[np.ndarray]:
    out = model(x, training=False)
    return [np.asarray(o) for o in (out if isinstance(out, list | tuple) else [out])]


def _diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


def round_trip_application(constructor: str, size: int, folder: Path, seed: int = 0
                           ) -> Result:
    import keras

    from playground.keras_build.compile import build
    from playground.keras_build.importer import import_model
    from playground.keras_build.weights import apply_weights

    original = getattr(keras.applications, constructor)(weights=None,
                                                        input_shape=(size, size, 3))
    gentle_weights(original, seed)
    source = folder / f"{constructor}.keras"
    original.save(source)
    start = time.perf_counter()
    imported = import_model(source)
    import_s = time.perf_counter() - start
    start = time.perf_counter()
    rebuilt = build(imported.graph).model
    report = apply_weights(rebuilt, imported.weights or {}, str(source))
    if report.skipped:
        raise AssertionError(f"{constructor}: layers without weights: {report.skipped[:5]}")
    x = np.random.default_rng(seed).uniform(0, 255, (2, size, size, 3)).astype("float32")
    want = _outputs(original, x)
    diff = _diff(want, _outputs(rebuilt, x))
    check_s = time.perf_counter() - start
    exported_path = folder / f"{constructor}_exported.keras"
    rebuilt.save(exported_path)
    exported = keras.saving.load_model(exported_path, compile=False)
    return Result(constructor, original.count_params(), rebuilt.count_params(),
                  exported.count_params(), import_s, check_s, diff,
                  _diff(want, _outputs(exported, x)))


def main(argv: list[str]) -> int:
    wanted = [f for f in FAMILIES if not argv or f[1] in argv]
    families = {family for family, _, _ in FAMILIES}
    ok_families: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        print("| family | model | input | params | import | rebuild + check | max diff "
              "(rebuilt / exported) |")
        print("|---|---|---|---|---|---|---|")
        for family, constructor, size in wanted:
            r = round_trip_application(constructor, size, Path(tmp))
            same = r.params == r.imported_params == r.exported_params
            good = same and r.diff < 1e-4 and r.exported_diff < 1e-4
            if good:
                ok_families.add(family)
            print(f"| {family} | {constructor} | {size}x{size} | {r.params:,}"
                  f"{'' if same else ' (MISMATCH)'} | {r.import_s:.1f} s | {r.check_s:.1f} s | "
                  f"{r.diff:.1e} / {r.exported_diff:.1e} |", flush=True)
            for path in Path(tmp).iterdir():
                path.unlink()
    print(f"\nfamilies imported and matching: {len(ok_families)} / {len(families)}"
          + ("" if not argv else " (of those run)"))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main(sys.argv[1:]))
