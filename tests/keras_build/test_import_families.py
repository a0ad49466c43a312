"""Every keras.applications family imports with its weights and round-trips: same parameter
count and same predictions (max abs difference < 1e-4 on a random batch), imported and exported
back. The cheap ones run in the fast suite; the rest are slow (bench/bench_import.py times them).
"""

from __future__ import annotations

import pytest

from bench.bench_import import FAMILIES, round_trip_application

FAST = {"MobileNetV3Small"}


def _check(constructor: str, size: int, tmp_path) -> None:
    r = round_trip_application(constructor, size, tmp_path)
    assert r.params == r.imported_params == r.exported_params
    assert r.diff < 1e-4 and r.exported_diff < 1e-4, (r.diff, r.exported_diff)


@pytest.mark.parametrize(("constructor", "size"),
                         [(c, s) for _, c, s in FAMILIES if c in FAST])
def test_cheap_family_round_trips(constructor, size, tmp_path):
    _check(constructor, size, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("constructor", "size"),
                         [(c, s) for _, c, s in FAMILIES if c not in FAST])
def test_family_round_trips(constructor, size, tmp_path):
    _check(constructor, size, tmp_path)


def test_every_family_is_listed():
    families = {family for family, _, _ in FAMILIES}
    assert len(families) == 14
    assert {"ConvNeXt", "EfficientNet", "EfficientNetV2", "InceptionResNetV2",
            "MobileNetV3"} <= families
