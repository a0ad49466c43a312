"""The block catalogue: every block type declared once, looked up by its type name.

Lookups go through this table only; a type name from a file is never used to reach into Keras.
"""

from __future__ import annotations

from playground.blocks import (
    activation,
    basic,
    channels,
    conv,
    inception,
    merge,
    modern,
    normalization,
    pooling,
    preprocessing,
    residual,
    spatial,
)
from playground.blocks.spec import CATEGORIES, BlockSpec

_ALL: tuple[BlockSpec, ...] = (
    basic.SPECS + conv.SPECS + pooling.SPECS + normalization.SPECS + activation.SPECS
    + spatial.SPECS + channels.SPECS + merge.SPECS + inception.SPECS + residual.SPECS
    + preprocessing.SPECS + modern.SPECS
)

CATALOGUE: dict[str, BlockSpec] = {spec.type: spec for spec in _ALL}

# Keras class name -> block type, for importing Keras models.
BY_KERAS_CLASS: dict[str, BlockSpec] = {
    spec.keras_class: spec for spec in _ALL if spec.keras_class}


def get_spec(type_name: str) -> BlockSpec | None:
    return CATALOGUE.get(type_name)


def by_category() -> dict[str, list[BlockSpec]]:
    """Specs grouped in palette order."""
    groups: dict[str, list[BlockSpec]] = {c: [] for c in CATEGORIES}
    for spec in _ALL:
        groups.setdefault(spec.category, []).append(spec)
    return {c: specs for c, specs in groups.items() if specs}


__all__ = ["CATALOGUE", "BY_KERAS_CLASS", "get_spec", "by_category", "BlockSpec"]
